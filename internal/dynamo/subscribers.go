package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/subscribers"
)

// SubscriberStore keeps subscribers in the subscribers table: a record per
// subscriber (sub#<id>) and one per address (email#<address>) whose
// conditional creation makes addresses unique.
type SubscriberStore struct {
	db    TxAPI
	table string
}

// TxAPI adds transactions to API.
type TxAPI interface {
	API
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// NewSubscriberStore returns a store over the named table.
func NewSubscriberStore(db TxAPI, table string) *SubscriberStore {
	return &SubscriberStore{db: db, table: table}
}

var _ subscribers.Store = (*SubscriberStore)(nil)

type subscriberRecord struct {
	PK             string   `dynamodbav:"pk"`
	ID             string   `dynamodbav:"id"`
	Email          string   `dynamodbav:"email"`
	Status         string   `dynamodbav:"status"`
	Topics         []string `dynamodbav:"topics"`
	Societies      []string `dynamodbav:"societies"`
	Frequency      string   `dynamodbav:"frequency"`
	Day            string   `dynamodbav:"day"`
	Hour           int      `dynamodbav:"hour"`
	TimeZone       string   `dynamodbav:"timezone"`
	Format         string   `dynamodbav:"format"`
	CreatedAt      string   `dynamodbav:"created_at"`
	ConfirmedAt    string   `dynamodbav:"confirmed_at"`
	UpdatedAt      string   `dynamodbav:"updated_at"`
	UnsubscribedAt string   `dynamodbav:"unsubscribed_at"`
	SignupIP       string   `dynamodbav:"signup_ip"`
	ConfirmIP      string   `dynamodbav:"confirm_ip"`
}

func subscriberKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "sub#" + id}}
}

func emailKey(email string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "email#" + email}}
}

func toSubscriberRecord(s subscribers.Subscriber) subscriberRecord {
	p := s.Preferences
	return subscriberRecord{
		PK: "sub#" + s.ID, ID: s.ID, Email: s.Email, Status: string(s.Status),
		Topics: nonNil(p.Topics), Societies: nonNil(p.Societies), Frequency: string(p.Frequency), Day: p.Day,
		Hour: p.Hour, TimeZone: p.TimeZone, Format: string(p.Format),
		CreatedAt: timeAttr(s.CreatedAt), ConfirmedAt: timeAttr(s.ConfirmedAt), UpdatedAt: timeAttr(s.UpdatedAt),
		UnsubscribedAt: timeAttr(s.UnsubscribedAt), SignupIP: s.SignupIP, ConfirmIP: s.ConfirmIP,
	}
}

func (r subscriberRecord) subscriber() subscribers.Subscriber {
	return subscribers.Subscriber{
		ID: r.ID, Email: r.Email, Status: subscribers.Status(r.Status),
		Preferences: subscribers.Preferences{
			Topics: r.Topics, Societies: r.Societies, Frequency: subscribers.Frequency(r.Frequency), Day: r.Day,
			Hour: r.Hour, TimeZone: r.TimeZone, Format: subscribers.Format(r.Format),
		},
		CreatedAt: parseTime(r.CreatedAt), ConfirmedAt: parseTime(r.ConfirmedAt), UpdatedAt: parseTime(r.UpdatedAt),
		UnsubscribedAt: parseTime(r.UnsubscribedAt), SignupIP: r.SignupIP, ConfirmIP: r.ConfirmIP,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Create writes the subscriber and claims its address in one transaction.
func (st *SubscriberStore) Create(ctx context.Context, s subscribers.Subscriber) error {
	rec, err := attributevalue.MarshalMap(toSubscriberRecord(s))
	if err != nil {
		return fmt.Errorf("encode subscriber: %w", err)
	}
	claim := emailKey(s.Email)
	claim["subscriber_id"] = &types.AttributeValueMemberS{Value: s.ID}
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &st.table, Item: rec, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: &types.Put{TableName: &st.table, Item: claim, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		for _, reason := range cancelled.CancellationReasons {
			if aws.ToString(reason.Code) == "ConditionalCheckFailed" {
				return subscribers.ErrExists
			}
		}
	}
	if err != nil {
		return fmt.Errorf("create subscriber: %w", err)
	}
	return nil
}

// Get reads a subscriber by id.
func (st *SubscriberStore) Get(ctx context.Context, id string) (subscribers.Subscriber, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: subscriberKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return subscribers.Subscriber{}, fmt.Errorf("get subscriber: %w", err)
	}
	if out.Item == nil {
		return subscribers.Subscriber{}, subscribers.ErrNotFound
	}
	var rec subscriberRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return subscribers.Subscriber{}, fmt.Errorf("decode subscriber: %w", err)
	}
	return rec.subscriber(), nil
}

// GetByEmail reads the subscriber that holds an address.
func (st *SubscriberStore) GetByEmail(ctx context.Context, email string) (subscribers.Subscriber, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: emailKey(email), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return subscribers.Subscriber{}, fmt.Errorf("get subscriber by address: %w", err)
	}
	id, ok := out.Item["subscriber_id"].(*types.AttributeValueMemberS)
	if !ok {
		return subscribers.Subscriber{}, subscribers.ErrNotFound
	}
	return st.Get(ctx, id.Value)
}

// Update saves the fields the subscriber flows own. Digest bookkeeping on
// the same record is left alone, so a save racing a send loses nothing.
func (st *SubscriberStore) Update(ctx context.Context, s subscribers.Subscriber) error {
	r := toSubscriberRecord(s)
	expr, names, values, err := setExpression(map[string]any{
		"status": r.Status, "topics": r.Topics, "societies": r.Societies, "frequency": r.Frequency, "day": r.Day,
		"hour": r.Hour, "timezone": r.TimeZone, "format": r.Format, "confirmed_at": r.ConfirmedAt, "updated_at": r.UpdatedAt,
		"unsubscribed_at": r.UnsubscribedAt, "signup_ip": r.SignupIP, "confirm_ip": r.ConfirmIP,
	})
	if err != nil {
		return fmt.Errorf("encode subscriber: %w", err)
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &st.table,
		Key:                       subscriberKey(s.ID),
		UpdateExpression:          &expr,
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return subscribers.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("update subscriber: %w", err)
	}
	return nil
}

// Delete removes the subscriber and its address claim together.
func (st *SubscriberStore) Delete(ctx context.Context, s subscribers.Subscriber) error {
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &st.table, Key: subscriberKey(s.ID)}},
		{Delete: &types.Delete{TableName: &st.table, Key: emailKey(s.Email)}},
	}})
	if err != nil {
		return fmt.Errorf("delete subscriber: %w", err)
	}
	return nil
}
