package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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

var _ subscribers.Suppressions = (*SuppressionStore)(nil)

type suppressionRecord struct {
	EmailHash string `dynamodbav:"email_hash"`
	Reason    string `dynamodbav:"reason"`
	At        string `dynamodbav:"at"`
}

func suppressionKey(hash string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"email_hash": &types.AttributeValueMemberS{Value: hash}}
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

// RateLimiter counts events per key in fixed windows, in a table whose
// records expire through DynamoDB's TTL.
type RateLimiter struct {
	db    API
	table string
	now   func() time.Time
}

// NewRateLimiter returns a limiter over the named table.
func NewRateLimiter(db API, table string, now func() time.Time) *RateLimiter {
	return &RateLimiter{db: db, table: table, now: now}
}

var _ subscribers.RateLimiter = (*RateLimiter)(nil)

// Allow counts one event and reports whether the key is still within limit
// for the current window. The count and the check are one conditional
// write, so concurrent requests cannot slip past the limit.
func (l *RateLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	start := l.now().Truncate(window)
	_, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &l.table,
		Key:                      map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: fmt.Sprintf("%s#%d", key, start.Unix())}},
		UpdateExpression:         aws.String("ADD #count :one SET expires_at = :expires"),
		ConditionExpression:      aws.String("attribute_not_exists(#count) OR #count < :limit"),
		ExpressionAttributeNames: map[string]string{"#count": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":     &types.AttributeValueMemberN{Value: "1"},
			":limit":   &types.AttributeValueMemberN{Value: fmt.Sprint(limit)},
			":expires": &types.AttributeValueMemberN{Value: fmt.Sprint(start.Add(2 * window).Unix())},
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rate limit %s: %w", key, err)
	}
	return true, nil
}
