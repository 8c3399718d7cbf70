package dynamo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/feeds"
)

// registryMarker is the feeds-table record that remembers which registry
// version was last seeded, so a run costs one read when nothing changed.
const registryMarker = "__registry"

// FeedStore keeps the feed registry in the feeds table. A deleted feed stays
// as a tombstone so that seeding the registry again does not revive it.
type FeedStore struct {
	db    API
	table string
}

// NewFeedStore returns a store over the named table.
func NewFeedStore(db API, table string) *FeedStore {
	return &FeedStore{db: db, table: table}
}

type feedRecord struct {
	ID                  string   `dynamodbav:"id"`
	Society             string   `dynamodbav:"society"`
	Name                string   `dynamodbav:"name"`
	URL                 string   `dynamodbav:"url"`
	Enabled             bool     `dynamodbav:"enabled"`
	Topics              []string `dynamodbav:"topics,omitempty"`
	ETag                string   `dynamodbav:"etag"`
	LastModified        string   `dynamodbav:"last_modified"`
	LastFetchAt         string   `dynamodbav:"last_fetch_at"`
	LastSuccessAt       string   `dynamodbav:"last_success_at"`
	LastStatus          string   `dynamodbav:"last_status"`
	LastError           string   `dynamodbav:"last_error"`
	ConsecutiveFailures int      `dynamodbav:"consecutive_failures"`
	NextFetchAt         string   `dynamodbav:"next_fetch_at"`
	ItemCount           int      `dynamodbav:"item_count"`
	Deleted             bool     `dynamodbav:"deleted,omitempty"`
	Version             string   `dynamodbav:"version,omitempty"`
}

func toFeedRecord(f feeds.Feed) feedRecord {
	return feedRecord{
		ID: f.ID, Society: f.Society, Name: f.Name, URL: f.URL, Enabled: f.Enabled, Topics: f.Topics,
		ETag: f.ETag, LastModified: f.LastModified, LastFetchAt: timeAttr(f.LastFetchAt),
		LastSuccessAt: timeAttr(f.LastSuccessAt), LastStatus: string(f.LastStatus), LastError: f.LastError,
		ConsecutiveFailures: f.ConsecutiveFailures, NextFetchAt: timeAttr(f.NextFetchAt), ItemCount: f.ItemCount,
	}
}

func (r feedRecord) feed() feeds.Feed {
	return feeds.Feed{
		ID: r.ID, Society: r.Society, Name: r.Name, URL: r.URL, Enabled: r.Enabled, Topics: r.Topics,
		ETag: r.ETag, LastModified: r.LastModified, LastFetchAt: parseTime(r.LastFetchAt),
		LastSuccessAt: parseTime(r.LastSuccessAt), LastStatus: feeds.Status(r.LastStatus), LastError: r.LastError,
		ConsecutiveFailures: r.ConsecutiveFailures, NextFetchAt: parseTime(r.NextFetchAt), ItemCount: r.ItemCount,
	}
}

// Seed adds the registry's feeds the table has never held, once per
// registry version.
func (s *FeedStore) Seed(ctx context.Context, reg feeds.Registry) (int, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table,
		Key:       stringKey("id", registryMarker),
	})
	if err != nil {
		return 0, fmt.Errorf("read registry marker: %w", err)
	}
	var marker feedRecord
	if err := attributevalue.UnmarshalMap(out.Item, &marker); err != nil {
		return 0, fmt.Errorf("decode registry marker: %w", err)
	}
	if out.Item != nil && marker.Version == reg.Version {
		return 0, nil
	}
	added := 0
	for _, f := range reg.Feeds {
		ok, err := s.put(ctx, f, "attribute_not_exists(id)", nil)
		if err != nil {
			return added, err
		}
		if ok {
			added++
		}
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item: map[string]types.AttributeValue{
			"id":      &types.AttributeValueMemberS{Value: registryMarker},
			"version": &types.AttributeValueMemberS{Value: reg.Version},
		},
	})
	if err != nil {
		return added, fmt.Errorf("write registry marker: %w", err)
	}
	return added, nil
}

// Create registers a feed; a deleted feed with the same id comes back.
func (s *FeedStore) Create(ctx context.Context, f feeds.Feed) error {
	ok, err := s.put(ctx, f, "attribute_not_exists(id) OR deleted = :true",
		map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("feed %s: %w", f.ID, feeds.ErrExists)
	}
	return nil
}

func (s *FeedStore) put(ctx context.Context, f feeds.Feed, condition string, values map[string]types.AttributeValue) (bool, error) {
	item, err := attributevalue.MarshalMap(toFeedRecord(f))
	if err != nil {
		return false, fmt.Errorf("encode feed %s: %w", f.ID, err)
	}
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: &condition, ExpressionAttributeValues: values}
	if _, err := s.db.PutItem(ctx, in); err != nil {
		if isConditionFailed(err) {
			return false, nil
		}
		return false, fmt.Errorf("put feed %s: %w", f.ID, err)
	}
	return true, nil
}

// Delete leaves a tombstone; the feed's items stay.
func (s *FeedStore) Delete(ctx context.Context, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       stringKey("id", id),
		UpdateExpression:          aws.String("SET deleted = :true, enabled = :false"),
		ConditionExpression:       aws.String("attribute_exists(society) AND attribute_not_exists(deleted)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}, ":false": &types.AttributeValueMemberBOOL{Value: false}},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("feed %s: %w", id, feeds.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete feed %s: %w", id, err)
	}
	return nil
}

// ListFeeds returns every registered feed, deleted ones excluded. The feeds
// table grows with societies, not subscribers, so a Scan is the right read.
func (s *FeedStore) ListFeeds(ctx context.Context) ([]feeds.Feed, error) {
	var list []feeds.Feed
	err := s.scan(ctx, func(r feedRecord) {
		if !r.Deleted {
			list = append(list, r.feed())
		}
	})
	slices.SortFunc(list, func(a, b feeds.Feed) int {
		return cmp.Or(cmp.Compare(a.Society, b.Society), cmp.Compare(a.ID, b.ID))
	})
	return list, err
}

// Societies lists every society that ever had a feed, deleted ones
// included, since their items stay.
func (s *FeedStore) Societies(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var list []string
	err := s.scan(ctx, func(r feedRecord) {
		if !seen[r.Society] {
			seen[r.Society] = true
			list = append(list, r.Society)
		}
	})
	slices.Sort(list)
	return list, err
}

func (s *FeedStore) scan(ctx context.Context, visit func(feedRecord)) error {
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName:        &s.table,
		FilterExpression: aws.String("attribute_exists(society)"),
		ConsistentRead:   aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scan feeds: %w", err)
		}
		var recs []feedRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return fmt.Errorf("decode feeds: %w", err)
		}
		for _, r := range recs {
			visit(r)
		}
	}
	return nil
}

// SaveFetch records a fetch's outcome. A feed deleted during the fetch stays
// deleted.
func (s *FeedStore) SaveFetch(ctx context.Context, f feeds.Feed, newItems int) error {
	r := toFeedRecord(f)
	set, names, values, err := setExpression(map[string]any{
		"url": r.URL, "enabled": r.Enabled, "etag": r.ETag, "last_modified": r.LastModified,
		"last_fetch_at": r.LastFetchAt, "last_success_at": r.LastSuccessAt, "last_status": r.LastStatus,
		"last_error": r.LastError, "consecutive_failures": r.ConsecutiveFailures, "next_fetch_at": r.NextFetchAt,
	})
	if err != nil {
		return fmt.Errorf("encode feed state %s: %w", f.ID, err)
	}
	values[":new"] = &types.AttributeValueMemberN{Value: strconv.Itoa(newItems)}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       stringKey("id", f.ID),
		UpdateExpression:          aws.String(set + " ADD item_count :new"),
		ConditionExpression:       aws.String("attribute_exists(society) AND attribute_not_exists(deleted)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("save feed state %s: %w", f.ID, err)
	}
	return nil
}
