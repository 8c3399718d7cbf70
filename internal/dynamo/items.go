package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/items"
)

// Index names, as template.yaml defines them on the items table.
const (
	indexBySociety = "by-society" // society, pub_key: a society's items newest first
	indexByIngest  = "by-ingested"
	// indexByPublished holds every item under the year it was published
	// (pub_year, pub_key), projecting only the society and topics: the
	// listing of everything reads it a year at a time, newest first.
	indexByPublished = "by-published"
)

// maxContentBytes keeps an item well under DynamoDB's 400 KB item limit; a
// larger body is dropped and the summary stands in for it. The parser
// already cuts content to items.MaxContentBytes; this is the last guard.
const maxContentBytes = 200_000

// ItemStore keeps items in the items table.
type ItemStore struct {
	db    API
	table string
}

var _ delivery.ItemReader = (*ItemStore)(nil)

// NewItemStore returns a store over the named table.
func NewItemStore(db API, table string) *ItemStore {
	return &ItemStore{db: db, table: table}
}

type itemRecord struct {
	ID          string             `dynamodbav:"id"`
	Society     string             `dynamodbav:"society"`
	FeedID      string             `dynamodbav:"feed_id"`
	GUID        string             `dynamodbav:"guid"`
	Title       string             `dynamodbav:"title"`
	Link        string             `dynamodbav:"link"`
	Published   string             `dynamodbav:"published"`
	FirstSeen   string             `dynamodbav:"first_seen"`
	UpdatedAt   string             `dynamodbav:"updated_at,omitempty"`
	Content     string             `dynamodbav:"content"`
	Summary     string             `dynamodbav:"summary"`
	ContentHash string             `dynamodbav:"content_hash"`
	RawHash     string             `dynamodbav:"raw_hash,omitempty"`
	Topics      []items.TopicScore `dynamodbav:"topics"`
	TopicIDs    []string           `dynamodbav:"topic_ids,stringset"`
	PubKey      string             `dynamodbav:"pub_key"`
	PubYear     string             `dynamodbav:"pub_year"`
	IngestDay   string             `dynamodbav:"ingest_day"`
	IngestKey   string             `dynamodbav:"ingest_key"`
	// TopicsSetBy is "admin" once an admin corrected the item's topics
	// (at TopicsCorrectedAt): ingest's writes then leave them alone.
	TopicsSetBy       string `dynamodbav:"topics_set_by,omitempty"`
	TopicsCorrectedAt string `dynamodbav:"topics_corrected_at,omitempty"`
	Story             string `dynamodbav:"story,omitempty"`
}

func toItemRecord(it items.Item) itemRecord {
	content := it.Content
	if len(content) > maxContentBytes {
		content = ""
	}
	return itemRecord{
		ID: it.Key, Society: it.Society, FeedID: it.FeedID, GUID: it.GUID, Title: it.Title, Link: it.Link,
		Published: timeAttr(it.Published), FirstSeen: timeAttr(it.FirstSeen), UpdatedAt: timeAttr(it.UpdatedAt),
		Content: content, Summary: it.Summary, ContentHash: it.ContentHash, RawHash: it.RawHash,
		Topics: it.Topics, TopicIDs: it.TopicIDs(),
		PubKey: sortableTime(it.Published) + "#" + it.Key, PubYear: pubYear(it.Published),
		IngestDay: it.FirstSeen.UTC().Format(time.DateOnly), IngestKey: sortableTime(it.FirstSeen) + "#" + it.Key,
		Story: it.Story,
	}
}

func (r itemRecord) item() items.Item {
	return items.Item{
		Key: r.ID, Society: r.Society, FeedID: r.FeedID, GUID: r.GUID, Title: r.Title, Link: r.Link,
		Published: parseTime(r.Published), FirstSeen: parseTime(r.FirstSeen), UpdatedAt: parseTime(r.UpdatedAt),
		Content: r.Content, Summary: r.Summary, ContentHash: r.ContentHash, RawHash: r.RawHash, Topics: r.Topics,
		Story: r.Story,
	}
}

// Hashes reads the stored hashes of each key that exists: one BatchGetItem
// per 100 keys, projecting only the key and the hashes.
func (s *ItemStore) Hashes(ctx context.Context, keys []string) (map[string]items.Hashes, error) {
	recs, err := s.getMany(ctx, keys, "id, content_hash, raw_hash, pub_key, pub_year")
	if err != nil {
		return nil, fmt.Errorf("read item hashes: %w", err)
	}
	hashes := make(map[string]items.Hashes, len(recs))
	for _, r := range recs {
		hashes[r.ID] = items.Hashes{Raw: r.RawHash, Content: r.ContentHash}
		if r.PubYear == "" && r.PubKey != "" {
			s.indexPublished(ctx, r)
		}
	}
	return hashes, nil
}

// indexPublished adds pub_year to an item stored before the by-published
// index existed, so that it joins the listings of everything: ingest reads
// the hashes of every entry its feeds still carry, and so backfills them
// as it goes. A failure is left for the next run to try again.
func (s *ItemStore) indexPublished(ctx context.Context, r itemRecord) {
	year, err := strconv.Atoi(r.PubKey[:min(4, len(r.PubKey))])
	if err != nil {
		return
	}
	_, _ = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 stringKey("id", r.ID),
		UpdateExpression:    aws.String("SET pub_year = :year"),
		ConditionExpression: aws.String("attribute_exists(id) AND attribute_not_exists(pub_year)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":year": &types.AttributeValueMemberS{Value: strconv.Itoa(max(year, firstPubYear))},
		},
	})
}

// SetRawHash records a stored item's raw hash and nothing else: the item
// is not marked updated.
func (s *ItemStore) SetRawHash(ctx context.Context, key, rawHash string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       stringKey("id", key),
		UpdateExpression:          aws.String("SET raw_hash = :raw"),
		ConditionExpression:       aws.String("attribute_exists(id)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":raw": &types.AttributeValueMemberS{Value: rawHash}},
	})
	if err != nil {
		return fmt.Errorf("record raw hash of item %s: %w", key, err)
	}
	return nil
}

// GetMany reads the items with these keys; missing ones are left out.
func (s *ItemStore) GetMany(ctx context.Context, keys []string) ([]items.Item, error) {
	recs, err := s.getMany(ctx, keys, "")
	if err != nil {
		return nil, fmt.Errorf("read items: %w", err)
	}
	list := make([]items.Item, len(recs))
	for i, r := range recs {
		list[i] = r.item()
	}
	return list, nil
}

func (s *ItemStore) getMany(ctx context.Context, keys []string, projection string) ([]itemRecord, error) {
	req := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		req[i] = stringKey("id", k)
	}
	raw, err := batchGet(ctx, s.db, s.table, req, projection)
	if err != nil {
		return nil, err
	}
	var recs []itemRecord
	if err := attributevalue.UnmarshalListOfMaps(raw, &recs); err != nil {
		return nil, fmt.Errorf("decode items: %w", err)
	}
	return recs, nil
}

// IngestedBetween returns the items first seen in (since, until], reading
// one index partition per day of the period.
func (s *ItemStore) IngestedBetween(ctx context.Context, since, until time.Time) ([]items.Item, error) {
	return s.ingestedBetween(ctx, since, until, nil, nil)
}

func (s *ItemStore) ingestedBetween(ctx context.Context, since, until time.Time, projection *string, names map[string]string) ([]items.Item, error) {
	var found []items.Item
	lo, hi := sortableTime(since)+"#~", sortableTime(until)+"#~" // "~" sorts after every key
	for day := since.UTC().Truncate(24 * time.Hour); !day.After(until); day = day.Add(24 * time.Hour) {
		p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
			TableName:                &s.table,
			IndexName:                aws.String(indexByIngest),
			KeyConditionExpression:   aws.String("ingest_day = :day AND ingest_key BETWEEN :lo AND :hi"),
			ProjectionExpression:     projection,
			ExpressionAttributeNames: names,
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":day": &types.AttributeValueMemberS{Value: day.Format(time.DateOnly)},
				":lo":  &types.AttributeValueMemberS{Value: lo},
				":hi":  &types.AttributeValueMemberS{Value: hi},
			},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("query items ingested %s: %w", day.Format(time.DateOnly), err)
			}
			var recs []itemRecord
			if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
				return nil, fmt.Errorf("decode items: %w", err)
			}
			for _, r := range recs {
				found = append(found, r.item())
			}
		}
	}
	return found, nil
}

// Create stores a new item; it reports false when the key already exists.
func (s *ItemStore) Create(ctx context.Context, it items.Item) (bool, error) {
	av, err := attributevalue.MarshalMap(toItemRecord(it))
	if err != nil {
		return false, fmt.Errorf("encode item %s: %w: %w", it.Key, items.ErrRejected, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: av, ConditionExpression: aws.String("attribute_not_exists(id)"),
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put item %s: %w", it.Key, markRejected(err))
	}
	return true, nil
}

// Update replaces an item's content and topics and marks it updated. When it
// was first seen, and so its place among new items, stays. Topics an admin
// set stay too: the write that replaces topics is conditional on the item
// carrying none, and when an admin's correction is there (or lands between
// the two) the content alone is written. The store decides, not a read
// before the write, so a correction racing an ingest is never lost.
func (s *ItemStore) Update(ctx context.Context, it items.Item) error {
	r := toItemRecord(it)
	fields := map[string]any{
		"title": r.Title, "link": r.Link, "published": r.Published, "pub_key": r.PubKey, "pub_year": r.PubYear, "content": r.Content,
		"summary": r.Summary, "content_hash": r.ContentHash, "raw_hash": r.RawHash, "updated_at": r.UpdatedAt,
	}
	withTopics := maps.Clone(fields)
	withTopics["topics"], withTopics["topic_ids"] = r.Topics, &types.AttributeValueMemberSS{Value: r.TopicIDs}
	// Corrections are never undone, so the second attempt cannot fail on
	// its condition unless the item is gone.
	for _, write := range []struct {
		fields    map[string]any
		condition string
	}{
		{withTopics, "attribute_exists(id) AND attribute_not_exists(topics_set_by)"},
		{fields, "attribute_exists(id) AND attribute_exists(topics_set_by)"},
	} {
		expr, names, values, err := setExpression(write.fields)
		if err != nil {
			return fmt.Errorf("encode item %s: %w: %w", it.Key, items.ErrRejected, err)
		}
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &s.table,
			Key:                       stringKey("id", it.Key),
			UpdateExpression:          &expr,
			ConditionExpression:       aws.String(write.condition),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		})
		if isConditionFailed(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("update item %s: %w", it.Key, markRejected(err))
		}
		return nil
	}
	return fmt.Errorf("update item %s: it is no longer stored", it.Key)
}

// markRejected wraps items.ErrRejected around a write error that is about
// the item itself: DynamoDB's ValidationException, which it returns for an
// item over 400 KB or an invalid attribute. Throttling, outages and network
// errors are left as they are.
func markRejected(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException" {
		return fmt.Errorf("%w: %w", items.ErrRejected, err)
	}
	return err
}

// List returns the newest items matching q, published newest first. It
// reads each society's partition newest first and stops as soon as it has
// Limit matches there, so a listing costs at most Limit items per society.
func (s *ItemStore) List(ctx context.Context, q items.Query) ([]items.Item, error) {
	var (
		mu       sync.Mutex
		all      []items.Item
		firstErr error
		wg       sync.WaitGroup
	)
	for _, society := range q.Societies {
		wg.Go(func() {
			found, err := s.listSociety(ctx, society, q)
			mu.Lock()
			defer mu.Unlock()
			all = append(all, found...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	slices.SortFunc(all, func(a, b items.Item) int {
		return cmp.Or(b.Published.Compare(a.Published), cmp.Compare(a.Key, b.Key))
	})
	return all[:min(len(all), q.Limit)], nil
}

func (s *ItemStore) listSociety(ctx context.Context, society string, q items.Query) ([]items.Item, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(indexBySociety),
		KeyConditionExpression:    aws.String("society = :society"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":society": &types.AttributeValueMemberS{Value: society}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(q.Limit)),
	}
	if !q.Since.IsZero() {
		*in.KeyConditionExpression += " AND pub_key >= :since"
		in.ExpressionAttributeValues[":since"] = &types.AttributeValueMemberS{Value: sortableTime(q.Since)}
	}
	if q.Topic != "" {
		in.FilterExpression = aws.String("contains(topic_ids, :topic)")
		in.ExpressionAttributeValues[":topic"] = &types.AttributeValueMemberS{Value: q.Topic}
	}
	var found []items.Item
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() && len(found) < q.Limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query items of %s: %w", society, err)
		}
		var recs []itemRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return nil, fmt.Errorf("decode items of %s: %w", society, err)
		}
		for _, r := range recs {
			found = append(found, r.item())
		}
	}
	return found[:min(len(found), q.Limit)], nil
}
