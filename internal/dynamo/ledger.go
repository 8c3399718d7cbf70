package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// Ledger is the send ledger: one record per subscriber and period, keyed
// (subscriber_id, period), with an index by SES message id for feedback.
type Ledger struct {
	db    API
	table string
	now   func() time.Time
	// retention is how long a send record is kept after it is written;
	// 0 keeps it for ever.
	retention time.Duration
}

// NewLedger returns a ledger over the named table.
func NewLedger(db API, table string, now func() time.Time) *Ledger {
	return &Ledger{db: db, table: table, now: now}
}

// ExpireAfter makes every send record the ledger writes expire retention
// after it was written: the table's TTL (expires_at, in Unix seconds)
// deletes it within a few days of that. The planner's state record never
// expires; run summaries live in the admin table and are kept.
func (l *Ledger) ExpireAfter(retention time.Duration) *Ledger {
	l.retention = retention
	return l
}

// expiresAt is the TTL of a record written at, 0 (no attribute) for none.
func (l *Ledger) expiresAt(at time.Time) int64 {
	if l.retention <= 0 {
		return 0
	}
	return at.Add(l.retention).Unix()
}

var _ delivery.Ledger = (*Ledger)(nil)

type ledgerRecord struct {
	SubscriberID string `dynamodbav:"subscriber_id"`
	Period       string `dynamodbav:"period"`
	RunID        string `dynamodbav:"run_id"`
	Kind         string `dynamodbav:"kind"`
	Status       string `dynamodbav:"status"`
	Attempts     int    `dynamodbav:"attempts"`
	MessageID    string `dynamodbav:"message_id,omitempty"` // sparse index key: never ""
	ItemCount    int    `dynamodbav:"item_count"`
	Reason       string `dynamodbav:"reason,omitempty"`
	Feedback     string `dynamodbav:"feedback,omitempty"`
	At           string `dynamodbav:"at"`
	ClaimedAt    int64  `dynamodbav:"claimed_at"`
	// ExpiresAt is the table's TTL attribute, Unix seconds.
	ExpiresAt int64 `dynamodbav:"expires_at,omitempty"`
}

func toLedgerRecord(e delivery.Entry) ledgerRecord {
	return ledgerRecord{
		SubscriberID: e.SubscriberID, Period: e.Period, RunID: e.RunID, Kind: string(e.Kind), Status: string(e.Status),
		Attempts: e.Attempts, MessageID: e.MessageID, ItemCount: e.ItemCount, Reason: e.Reason, Feedback: e.Feedback, At: timeAttr(e.At),
	}
}

func (r ledgerRecord) entry() delivery.Entry {
	return delivery.Entry{
		SubscriberID: r.SubscriberID, Period: r.Period, RunID: r.RunID, Kind: digest.Kind(r.Kind), Status: delivery.LedgerStatus(r.Status),
		Attempts: r.Attempts, MessageID: r.MessageID, ItemCount: r.ItemCount, Reason: r.Reason, Feedback: r.Feedback, At: parseTime(r.At),
	}
}

// Claim writes the entry unless the send is done or freshly claimed by
// another sender: the one conditional write is what makes a duplicated
// job harmless.
func (l *Ledger) Claim(ctx context.Context, e delivery.Entry, lease time.Duration) (bool, delivery.Entry, error) {
	now := l.now()
	e.At = now
	e.Attempts++
	rec := toLedgerRecord(e)
	rec.ClaimedAt = now.UnixMilli()
	rec.ExpiresAt = l.expiresAt(now)
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return false, delivery.Entry{}, fmt.Errorf("encode ledger entry: %w", err)
	}
	_, err = l.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &l.table,
		Item:      item,
		ConditionExpression: aws.String("attribute_not_exists(subscriber_id) OR #status = :failed OR " +
			"(#status = :sending AND claimed_at < :stale)"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":failed":  &types.AttributeValueMemberS{Value: string(delivery.LedgerFailed)},
			":sending": &types.AttributeValueMemberS{Value: string(delivery.LedgerSending)},
			":stale":   &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(-lease).UnixMilli())},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		var old ledgerRecord
		if err := attributevalue.UnmarshalMap(ccf.Item, &old); err != nil {
			return false, delivery.Entry{}, fmt.Errorf("decode ledger entry: %w", err)
		}
		return false, old.entry(), nil
	}
	if err != nil {
		return false, delivery.Entry{}, fmt.Errorf("claim send: %w", err)
	}
	return true, e, nil
}

// Finish records the outcome of a claimed send.
func (l *Ledger) Finish(ctx context.Context, e delivery.Entry) error {
	e.At = l.now()
	rec := toLedgerRecord(e)
	rec.ExpiresAt = l.expiresAt(e.At)
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return fmt.Errorf("encode ledger entry: %w", err)
	}
	if _, err := l.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &l.table, Item: item}); err != nil {
		return fmt.Errorf("finish send: %w", err)
	}
	return nil
}

// History lists a subscriber's sends, newest first.
func (l *Ledger) History(ctx context.Context, subscriberID string, limit int) ([]delivery.Entry, error) {
	out, err := l.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &l.table,
		KeyConditionExpression:    aws.String("subscriber_id = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: subscriberID}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, fmt.Errorf("read send history: %w", err)
	}
	var recs []ledgerRecord
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
		return nil, fmt.Errorf("decode send history: %w", err)
	}
	entries := make([]delivery.Entry, len(recs))
	for i, r := range recs {
		entries[i] = r.entry()
	}
	return entries, nil
}

var _ subscribers.SendLog = (*Ledger)(nil)

// SendsTo lists every send to a subscriber, newest first, for the
// subscriber's export: the ledger entries of that subscriber id only.
func (l *Ledger) SendsTo(ctx context.Context, subscriberID string) ([]subscribers.Send, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &l.table,
		KeyConditionExpression:    aws.String("subscriber_id = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: subscriberID}},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
	}
	var sends []subscribers.Send
	for {
		out, err := l.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("read send log: %w", err)
		}
		var recs []ledgerRecord
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
			return nil, fmt.Errorf("decode send log: %w", err)
		}
		for _, r := range recs {
			sends = append(sends, subscribers.Send{
				Period: r.Period, Kind: r.Kind, Status: r.Status, SentAt: parseTime(r.At), MessageID: r.MessageID,
			})
		}
		if len(out.LastEvaluatedKey) == 0 {
			return sends, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// The planner's state lives in the ledger table under a key no subscriber
// id can take.
var plannerStateKey = map[string]types.AttributeValue{
	"subscriber_id": &types.AttributeValueMemberS{Value: "__planner"},
	"period":        &types.AttributeValueMemberS{Value: "last-slot"},
}

var _ delivery.PlanState = (*Ledger)(nil)

// LastPlannedSlot returns the last due slot the schedule planned ("" if none).
func (l *Ledger) LastPlannedSlot(ctx context.Context) (string, error) {
	out, err := l.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &l.table, Key: plannerStateKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read planner state: %w", err)
	}
	slot, _ := out.Item["slot"].(*types.AttributeValueMemberS)
	if slot == nil {
		return "", nil
	}
	return slot.Value, nil
}

// SetLastPlannedSlot records the last due slot planned.
func (l *Ledger) SetLastPlannedSlot(ctx context.Context, slot string) error {
	_, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &l.table,
		Key:                       plannerStateKey,
		UpdateExpression:          aws.String("SET slot = :slot"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":slot": &types.AttributeValueMemberS{Value: slot}},
	})
	if err != nil {
		return fmt.Errorf("save planner state: %w", err)
	}
	return nil
}

var _ feedback.SendLog = (*Ledger)(nil)

// RecordFeedback notes on a send what SES later said of its message.
func (l *Ledger) RecordFeedback(ctx context.Context, messageID string, e feedback.Event) error {
	out, err := l.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &l.table,
		IndexName:                 aws.String("by-message"),
		KeyConditionExpression:    aws.String("message_id = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: messageID}},
	})
	if err != nil {
		return fmt.Errorf("find send of message %s: %w", messageID, err)
	}
	note := string(e.Kind)
	if e.Detail != "" {
		note += ": " + e.Detail
	}
	for _, key := range out.Items {
		_, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:        &l.table,
			Key:              map[string]types.AttributeValue{"subscriber_id": key["subscriber_id"], "period": key["period"]},
			UpdateExpression: aws.String("SET feedback = :note, feedback_at = :at"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":note": &types.AttributeValueMemberS{Value: note},
				":at":   &types.AttributeValueMemberS{Value: timeAttr(e.At)},
			},
		})
		if err != nil {
			return fmt.Errorf("record feedback on message %s: %w", messageID, err)
		}
	}
	return nil
}

// ByRun returns every ledger entry of a run, through the by-run index.
func (l *Ledger) ByRun(ctx context.Context, runID string) ([]delivery.Entry, error) {
	p := dynamodb.NewQueryPaginator(l.db, &dynamodb.QueryInput{
		TableName:                 &l.table,
		IndexName:                 aws.String("by-run"),
		KeyConditionExpression:    aws.String("run_id = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: runID}},
	})
	var entries []delivery.Entry
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read sends of run %s: %w", runID, err)
		}
		var recs []ledgerRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return nil, fmt.Errorf("decode sends: %w", err)
		}
		for _, r := range recs {
			entries = append(entries, r.entry())
		}
	}
	return entries, nil
}
