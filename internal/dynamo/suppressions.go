package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// SuppressionStore keeps the addresses never to mail, by address hash.
type SuppressionStore struct {
	db    TxAPI
	table string
}

// NewSuppressionStore returns a store over the named table.
func NewSuppressionStore(db TxAPI, table string) *SuppressionStore {
	return &SuppressionStore{db: db, table: table}
}

var (
	_ subscribers.Suppressions    = (*SuppressionStore)(nil)
	_ delivery.SuppressionChecker = (*SuppressionStore)(nil)
	_ feedback.Suppressor         = (*SuppressionStore)(nil)
	_ feedback.TransientCounter   = (*SuppressionStore)(nil)
)

// Suppressed returns which of the hashes are suppressed, and why.
func (s *SuppressionStore) Suppressed(ctx context.Context, hashes []string) (map[string]subscribers.Reason, error) {
	keys := make([]map[string]types.AttributeValue, len(hashes))
	for i, h := range hashes {
		keys[i] = suppressionKey(h)
	}
	raw, err := batchGet(ctx, s.db, s.table, keys, "")
	if err != nil {
		return nil, err
	}
	var recs []suppressionRecord
	if err := attributevalue.UnmarshalListOfMaps(raw, &recs); err != nil {
		return nil, fmt.Errorf("decode suppressions: %w", err)
	}
	out := make(map[string]subscribers.Reason, len(recs))
	for _, r := range recs {
		out[r.EmailHash] = subscribers.Reason(r.Reason)
	}
	return out, nil
}

type suppressionRecord struct {
	EmailHash string `dynamodbav:"email_hash"`
	Reason    string `dynamodbav:"reason"`
	At        string `dynamodbav:"at"`
}

func suppressionKey(hash string) map[string]types.AttributeValue {
	return stringKey("email_hash", hash)
}

// Get reads an address's suppression, if any.
func (s *SuppressionStore) Get(ctx context.Context, hash string) (subscribers.Suppression, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: suppressionKey(hash), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return subscribers.Suppression{}, false, fmt.Errorf("get suppression: %w", err)
	}
	if out.Item == nil {
		return subscribers.Suppression{}, false, nil
	}
	var r suppressionRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return subscribers.Suppression{}, false, fmt.Errorf("decode suppression: %w", err)
	}
	return subscribers.Suppression{EmailHash: r.EmailHash, Reason: subscribers.Reason(r.Reason), At: parseTime(r.At)}, true, nil
}

// Put records a suppression, replacing an earlier one.
func (s *SuppressionStore) Put(ctx context.Context, supp subscribers.Suppression) error {
	item, err := attributevalue.MarshalMap(suppressionRecord{EmailHash: supp.EmailHash, Reason: string(supp.Reason), At: timeAttr(supp.At)})
	if err != nil {
		return fmt.Errorf("encode suppression: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("put suppression: %w", err)
	}
	return nil
}

// Delete lifts a suppression; lifting a missing one is not an error.
func (s *SuppressionStore) Delete(ctx context.Context, hash string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: suppressionKey(hash)}); err != nil {
		return fmt.Errorf("delete suppression: %w", err)
	}
	return nil
}

// AddTransient records a transient bounce of an address and returns how
// many it had within window. Bounces are kept as a set of times, so a
// notification delivered twice counts once.
func (s *SuppressionStore) AddTransient(ctx context.Context, hash string, at time.Time, window time.Duration) (int, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       suppressionKey("transient#" + hash),
		UpdateExpression:          aws.String("ADD bounces :at"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": &types.AttributeValueMemberSS{Value: []string{at.UTC().Format(time.RFC3339Nano)}}},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return 0, fmt.Errorf("count transient bounce: %w", err)
	}
	set, _ := out.Attributes["bounces"].(*types.AttributeValueMemberSS)
	n := 0
	for _, v := range set.Value {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil && at.Sub(t) < window {
			n++
		}
	}
	return n, nil
}
