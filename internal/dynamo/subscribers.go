package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// SubscriberStore keeps subscribers in the subscribers table: a record per
// subscriber (sub#<id>) and one per address (email#<address>) whose
// conditional creation makes addresses unique.
type SubscriberStore struct {
	db    TxAPI
	table string
}

// TxAPI adds transactions, deletes and batch writes to API.
type TxAPI interface {
	API
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// NewSubscriberStore returns a store over the named table.
func NewSubscriberStore(db TxAPI, table string) *SubscriberStore {
	return &SubscriberStore{db: db, table: table}
}

var (
	_ subscribers.Store        = (*SubscriberStore)(nil)
	_ delivery.SubscriberIndex = (*SubscriberStore)(nil)
)

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
	NotifiedAt     string   `dynamodbav:"notified_at,omitempty"`
	// Delivery bookkeeping, written by RecordSent and by Update's index
	// upkeep. The two index keys are omitted, never "", so the indexes
	// stay sparse.
	Watermark    string `dynamodbav:"watermark,omitempty"`
	DueSlot      string `dynamodbav:"due_slot,omitempty"`
	ActiveShard  string `dynamodbav:"active_shard,omitempty"`
	InstantShard string `dynamodbav:"instant_shard,omitempty"`

	// Keywords and Mute are absent from records written before they
	// existed, and read back as none.
	Keywords []string `dynamodbav:"keywords,omitempty"`
	Mute     []string `dynamodbav:"mute,omitempty"`
}

func subscriberKey(id string) map[string]types.AttributeValue {
	return stringKey("pk", "sub#"+id)
}

func emailKey(email string) map[string]types.AttributeValue {
	return stringKey("pk", "email#"+email)
}

func toSubscriberRecord(s subscribers.Subscriber) subscriberRecord {
	p := s.Preferences
	return subscriberRecord{
		PK: "sub#" + s.ID, ID: s.ID, Email: s.Email, Status: string(s.Status),
		Topics: nonNil(p.Topics), Societies: nonNil(p.Societies), Frequency: string(p.Frequency), Day: p.Day,
		Hour: p.Hour, TimeZone: p.TimeZone, Format: string(p.Format), Keywords: p.Keywords, Mute: p.Mute,
		CreatedAt: timeAttr(s.CreatedAt), ConfirmedAt: timeAttr(s.ConfirmedAt), UpdatedAt: timeAttr(s.UpdatedAt),
		UnsubscribedAt: timeAttr(s.UnsubscribedAt), SignupIP: s.SignupIP, ConfirmIP: s.ConfirmIP,
		NotifiedAt: timeAttr(s.NotifiedAt),
	}
}

func (r subscriberRecord) subscriber() subscribers.Subscriber {
	return subscribers.Subscriber{
		ID: r.ID, Email: r.Email, Status: subscribers.Status(r.Status),
		Preferences: subscribers.Preferences{
			Topics: r.Topics, Societies: r.Societies, Frequency: subscribers.Frequency(r.Frequency), Day: r.Day,
			Hour: r.Hour, TimeZone: r.TimeZone, Format: subscribers.Format(r.Format), Keywords: r.Keywords, Mute: r.Mute,
		},
		CreatedAt: parseTime(r.CreatedAt), ConfirmedAt: parseTime(r.ConfirmedAt), UpdatedAt: parseTime(r.UpdatedAt),
		UnsubscribedAt: parseTime(r.UnsubscribedAt), SignupIP: r.SignupIP, ConfirmIP: r.ConfirmIP,
		NotifiedAt: parseTime(r.NotifiedAt),
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
		"hour": r.Hour, "timezone": r.TimeZone, "format": r.Format, "keywords": nonNil(r.Keywords), "mute": nonNil(r.Mute), "confirmed_at": r.ConfirmedAt, "updated_at": r.UpdatedAt,
		"unsubscribed_at": r.UnsubscribedAt, "signup_ip": r.SignupIP, "confirm_ip": r.ConfirmIP,
	})
	if err != nil {
		return fmt.Errorf("encode subscriber: %w", err)
	}
	// Keep the subscriber in the indexes the planner reads: active while
	// confirmed, due at the next digest hour, or instant.
	keys := indexKeys(s)
	var remove []string
	for i, kv := range [][2]string{{"due_slot", keys.due}, {"active_shard", keys.active}, {"instant_shard", keys.instant}} {
		if kv[1] == "" {
			remove = append(remove, kv[0])
			continue
		}
		name, value := fmt.Sprintf("#i%d", i), fmt.Sprintf(":i%d", i)
		names[name], values[value] = kv[0], &types.AttributeValueMemberS{Value: kv[1]}
		expr += ", " + name + " = " + value
	}
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
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

// MarkNotified records the time of the request the subscriber was last
// mailed for, and nothing else, so that it races no other save.
func (st *SubscriberStore) MarkNotified(ctx context.Context, id string, at time.Time) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &st.table,
		Key:                       subscriberKey(id),
		UpdateExpression:          aws.String("SET notified_at = :at"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": &types.AttributeValueMemberS{Value: timeAttr(at)}},
	})
	if isConditionFailed(err) {
		return subscribers.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("record subscriber mail: %w", err)
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

// indexes are a subscriber's keys in the planner's indexes; "" keeps
// them out of one. Each is split into delivery.Shards partitions, so that
// a run is planned shard by shard, in parallel, and no partition grows hot.
type indexes struct {
	due     string // "<slot>#sNN": confirmed digest subscribers, by the hour of their next digest
	active  string // "sNN": every confirmed subscriber
	instant string // "sNN": confirmed subscribers who want alerts, and nobody else
}

func shardKey(shard int) string { return fmt.Sprintf("s%02d", shard) }

// dueKey is the key of a slot's shard in the by-due index.
func dueKey(slot string, shard int) string { return slot + "#" + shardKey(shard) }

func indexKeys(s subscribers.Subscriber) indexes {
	if s.Status != subscribers.StatusConfirmed {
		return indexes{}
	}
	shard := delivery.ShardOf(s.ID)
	keys := indexes{active: shardKey(shard)}
	if s.Preferences.Frequency == subscribers.Instant {
		keys.instant = keys.active
		return keys
	}
	if next, err := digest.NextDue(s.Preferences, s.UpdatedAt); err == nil {
		keys.due = dueKey(digest.DueSlot(next), shard)
	}
	return keys
}

func (r subscriberRecord) candidate() delivery.Candidate {
	return delivery.Candidate{Subscriber: r.subscriber(), Watermark: parseTime(r.Watermark)}
}

// Due lists the shard's confirmed digest subscribers due in slot.
func (st *SubscriberStore) Due(ctx context.Context, slot string, shard int) ([]delivery.Candidate, error) {
	return st.queryIndex(ctx, "by-due", "due_slot", dueKey(slot, shard))
}

// Active lists the shard's confirmed subscribers.
func (st *SubscriberStore) Active(ctx context.Context, shard int) ([]delivery.Candidate, error) {
	return st.queryIndex(ctx, "by-active", "active_shard", shardKey(shard))
}

// Instant lists the shard's confirmed subscribers who want alerts, from an
// index only they are in.
func (st *SubscriberStore) Instant(ctx context.Context, shard int) ([]delivery.Candidate, error) {
	return st.queryIndex(ctx, "by-instant", "instant_shard", shardKey(shard))
}

func (st *SubscriberStore) queryIndex(ctx context.Context, index, attr, value string) ([]delivery.Candidate, error) {
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName:                 &st.table,
		IndexName:                 &index,
		KeyConditionExpression:    aws.String(attr + " = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: value}},
	})
	var found []delivery.Candidate
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query %s %s: %w", index, value, err)
		}
		var recs []subscriberRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return nil, fmt.Errorf("decode subscribers: %w", err)
		}
		for _, r := range recs {
			if r.Status == string(subscribers.StatusConfirmed) { // an index lags its table a little
				found = append(found, r.candidate())
			}
		}
	}
	return found, nil
}

// ByEmail returns one subscriber with its watermark.
func (st *SubscriberStore) ByEmail(ctx context.Context, email string) (delivery.Candidate, error) {
	sub, err := st.GetByEmail(ctx, email)
	if err != nil {
		return delivery.Candidate{}, err
	}
	found, err := st.GetMany(ctx, []string{sub.ID})
	if err != nil {
		return delivery.Candidate{}, err
	}
	c, ok := found[sub.ID]
	if !ok {
		return delivery.Candidate{}, subscribers.ErrNotFound
	}
	return c, nil
}

// GetMany reads subscribers by id; erased ones are left out.
func (st *SubscriberStore) GetMany(ctx context.Context, ids []string) (map[string]delivery.Candidate, error) {
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = subscriberKey(id)
	}
	raw, err := batchGet(ctx, st.db, st.table, keys, "")
	if err != nil {
		return nil, err
	}
	var recs []subscriberRecord
	if err := attributevalue.UnmarshalListOfMaps(raw, &recs); err != nil {
		return nil, fmt.Errorf("decode subscribers: %w", err)
	}
	out := make(map[string]delivery.Candidate, len(recs))
	for _, r := range recs {
		out[r.ID] = r.candidate()
	}
	return out, nil
}

// RecordSent closes a subscriber's period: the watermark moves to until
// (never back) and, for digest subscribers, the due slot to nextSlot.
func (st *SubscriberStore) RecordSent(ctx context.Context, id string, until time.Time, nextSlot string) error {
	expr := "SET watermark = :until"
	values := map[string]types.AttributeValue{
		":until":     &types.AttributeValueMemberS{Value: timeAttr(until)},
		":confirmed": &types.AttributeValueMemberS{Value: string(subscribers.StatusConfirmed)},
	}
	if nextSlot != "" {
		expr += ", due_slot = :slot"
		values[":slot"] = &types.AttributeValueMemberS{Value: dueKey(nextSlot, delivery.ShardOf(id))}
	}
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &st.table,
		Key:                       subscriberKey(id),
		UpdateExpression:          &expr,
		ConditionExpression:       aws.String("#status = :confirmed AND (attribute_not_exists(watermark) OR watermark < :until)"),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: values,
	})
	if err != nil && !isConditionFailed(err) { // a later watermark, or gone: nothing to do
		return fmt.Errorf("record send for %s: %w", id, err)
	}
	return nil
}

// countSegments splits the subscriber tally into parallel scans.
const countSegments = 4

// Count tallies subscribers by status and confirmed ones by topic and
// frequency. It reads the whole table (four parallel segments, three
// attributes each): it serves the admin summary, which caches it, and no
// sending path.
func (st *SubscriberStore) Count(ctx context.Context) (admin.Summary, error) {
	sum := admin.Summary{ByStatus: map[string]int{}, ByTopic: map[string]int{}, ByFrequency: map[string]int{}}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for seg := range countSegments {
		wg.Go(func() {
			p := dynamodb.NewScanPaginator(st.db, &dynamodb.ScanInput{
				TableName:                &st.table,
				Segment:                  aws.Int32(int32(seg)),
				TotalSegments:            aws.Int32(countSegments),
				FilterExpression:         aws.String("begins_with(pk, :sub)"),
				ProjectionExpression:     aws.String("#status, topics, frequency"),
				ExpressionAttributeNames: map[string]string{"#status": "status"},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":sub": &types.AttributeValueMemberS{Value: "sub#"},
				},
			})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("count subscribers: %w", err))
					mu.Unlock()
					return
				}
				var recs []subscriberRecord
				if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("decode subscribers: %w", err))
					mu.Unlock()
					return
				}
				mu.Lock()
				for _, r := range recs {
					sum.ByStatus[r.Status]++
					if r.Status == string(subscribers.StatusConfirmed) {
						sum.ByFrequency[r.Frequency]++
						for _, t := range r.Topics {
							sum.ByTopic[t]++
						}
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return sum, errors.Join(errs...)
}
