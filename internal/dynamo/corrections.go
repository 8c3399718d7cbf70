package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/items"
)

// CorrectionStore applies admins' corrections of items' topics: the item
// in the items table and its audit record in the admin table
// ("correction#<item id>#<time>", kind "correction", listed newest first
// by the by-kind index) are written in one transaction.
type CorrectionStore struct {
	db         TxAPI
	itemsTable string
	adminTable string
}

var _ admin.CorrectionStore = (*CorrectionStore)(nil)

// NewCorrectionStore returns a store over the items and admin tables.
func NewCorrectionStore(db TxAPI, itemsTable, adminTable string) *CorrectionStore {
	return &CorrectionStore{db: db, itemsTable: itemsTable, adminTable: adminTable}
}

// correctionRecord is one correction in the admin table.
type correctionRecord struct {
	PK      string             `dynamodbav:"pk"`
	Kind    string             `dynamodbav:"kind"`
	At      string             `dynamodbav:"at"`
	ItemID  string             `dynamodbav:"item_id"`
	Society string             `dynamodbav:"society"`
	Title   string             `dynamodbav:"title"`
	Summary string             `dynamodbav:"summary"`
	Before  []items.TopicScore `dynamodbav:"before"`
	After   []items.TopicScore `dynamodbav:"after"`
	By      string             `dynamodbav:"by"`
	Client  string             `dynamodbav:"client,omitempty"`
}

const correctionKind = "correction"

// correctAttempts bounds the retries of a correction whose item changed
// between its read and its write (an ingest storing it meanwhile).
const correctAttempts = 4

// Item reads one item, or reports admin.ErrNotFound.
func (s *CorrectionStore) Item(ctx context.Context, id string) (items.Item, error) {
	rec, _, err := s.read(ctx, id)
	if err != nil {
		return items.Item{}, err
	}
	return rec.item(), nil
}

// read returns the item's record and its stored topics attribute (nil
// when it has none).
func (s *CorrectionStore) read(ctx context.Context, id string) (itemRecord, types.AttributeValue, error) {
	raw, err := batchGet(ctx, s.db, s.itemsTable, []map[string]types.AttributeValue{stringKey("id", id)}, "")
	if err != nil {
		return itemRecord{}, nil, fmt.Errorf("read item %s: %w", id, err)
	}
	if len(raw) == 0 {
		return itemRecord{}, nil, fmt.Errorf("no item %q: %w", id, admin.ErrNotFound)
	}
	var rec itemRecord
	if err := attributevalue.UnmarshalMap(raw[0], &rec); err != nil {
		return itemRecord{}, nil, fmt.Errorf("decode item %s: %w", id, err)
	}
	return rec, raw[0]["topics"], nil
}

// Correct replaces the item's topics and records the correction in one
// transaction, on the condition that the topics are still those it read
// for the record's "before": an ingest that re-tags the item in between
// makes it read and try again.
func (s *CorrectionStore) Correct(ctx context.Context, c admin.Correction) (items.Item, admin.Correction, error) {
	ids := make([]string, len(c.After))
	for i, t := range c.After {
		ids[i] = t.ID
	}
	after, err := attributevalue.Marshal(c.After)
	if err != nil {
		return items.Item{}, c, fmt.Errorf("encode topics: %w", err)
	}
	for range correctAttempts {
		rec, oldTopics, err := s.read(ctx, c.ItemID)
		if err != nil {
			return items.Item{}, c, err
		}
		c.Society, c.Title, c.Summary, c.Before = rec.Society, rec.Title, rec.Summary, rec.Topics
		at := sortableTime(c.At) + "#" + newSuffix()
		audit, err := attributevalue.MarshalMap(correctionRecord{
			PK: "correction#" + c.ItemID + "#" + at, Kind: correctionKind, At: at, ItemID: c.ItemID,
			Society: c.Society, Title: c.Title, Summary: c.Summary, Before: c.Before, After: c.After, By: c.By, Client: c.Client,
		})
		if err != nil {
			return items.Item{}, c, fmt.Errorf("encode correction: %w", err)
		}
		values := map[string]types.AttributeValue{
			":topics": after,
			":ids":    &types.AttributeValueMemberSS{Value: ids},
			":by":     &types.AttributeValueMemberS{Value: items.SourceAdmin},
			":at":     &types.AttributeValueMemberS{Value: timeAttr(c.At)},
		}
		unchanged := "attribute_not_exists(topics)"
		if oldTopics != nil {
			unchanged, values[":old"] = "topics = :old", oldTopics
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{
				TableName:                 &s.itemsTable,
				Key:                       stringKey("id", c.ItemID),
				UpdateExpression:          aws.String("SET topics = :topics, topic_ids = :ids, topics_set_by = :by, topics_corrected_at = :at"),
				ConditionExpression:       aws.String("attribute_exists(id) AND " + unchanged),
				ExpressionAttributeValues: values,
			}},
			{Put: &types.Put{TableName: &s.adminTable, Item: audit, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		}})
		var cancelled *types.TransactionCanceledException
		if errors.As(err, &cancelled) && conditionFailed(cancelled) {
			continue // the item changed (or went) since it was read
		}
		if err != nil {
			return items.Item{}, c, fmt.Errorf("correct topics of item %s: %w", c.ItemID, err)
		}
		rec.Topics, rec.TopicsSetBy, rec.TopicsCorrectedAt = c.After, items.SourceAdmin, timeAttr(c.At)
		return rec.item(), c, nil
	}
	return items.Item{}, c, fmt.Errorf("correct topics of item %s: it kept changing; try again", c.ItemID)
}

func conditionFailed(e *types.TransactionCanceledException) bool {
	for _, reason := range e.CancellationReasons {
		if aws.ToString(reason.Code) == "ConditionalCheckFailed" {
			return true
		}
	}
	return false
}

// Corrections lists the latest corrections, newest first.
func (s *CorrectionStore) Corrections(ctx context.Context, limit int) ([]admin.Correction, error) {
	return s.corrections(ctx, limit)
}

// AllCorrections lists every correction, newest first, reading the index
// page by page: the tagger report reads them all.
func (s *CorrectionStore) AllCorrections(ctx context.Context) ([]admin.Correction, error) {
	return s.corrections(ctx, 0)
}

// corrections reads up to limit corrections, all of them for 0.
func (s *CorrectionStore) corrections(ctx context.Context, limit int) ([]admin.Correction, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.adminTable,
		IndexName:                 aws.String("by-kind"),
		KeyConditionExpression:    aws.String("kind = :kind"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":kind": &types.AttributeValueMemberS{Value: correctionKind}},
		ScanIndexForward:          aws.Bool(false),
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	var out []admin.Correction
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() && (limit <= 0 || len(out) < limit) {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list corrections: %w", err)
		}
		var recs []correctionRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return nil, fmt.Errorf("decode corrections: %w", err)
		}
		for _, r := range recs {
			at, _, _ := strings.Cut(r.At, "#")
			out = append(out, admin.Correction{
				ItemID: r.ItemID, Society: r.Society, Title: r.Title, Summary: r.Summary,
				Before: r.Before, After: r.After, By: r.By, At: parseTime(at), Client: r.Client,
			})
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
