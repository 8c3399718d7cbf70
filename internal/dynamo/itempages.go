package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/items"
)

// firstPubYear is the oldest partition of the by-published index: an item
// published earlier is kept under it (its pub_key still sorts it after the
// rest), so that a listing reads at most one partition per year since.
const firstPubYear = 2000

// pubYearAhead is how far past now a listing starts: the parser keeps
// publication dates at most a day ahead of the time they were read.
const pubYearAhead = 48 * time.Hour

// maxCursorBytes bounds a cursor before it is decoded.
const maxCursorBytes = 1024

// pubYear is the by-published partition an item published at t belongs to.
func pubYear(t time.Time) string {
	return strconv.Itoa(max(t.UTC().Year(), firstPubYear))
}

// cursor is the last item of a page: where the next page starts. Scope
// ties it to the listing it came from, so that a cursor pasted into
// another listing is refused rather than read as a position there.
type cursor struct {
	PubKey string `json:"k"`
	Scope  string `json:"s"`
}

// A pub_key is sortableTime(published) + "#" + the item's key.
var pubKeyPattern = regexp.MustCompile(`^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z#([a-z0-9][a-z0-9._-]{0,199})$`)

func pageScope(q items.PageQuery) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q|%q|%s", q.Topic, q.Societies, sortableTime(q.Since))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c) // two strings: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor checks every part of a cursor before any of it becomes a
// key: a client can only ever name a position in the listing it asked for.
func decodeCursor(raw string, scope string) (c cursor, year, id string, err error) {
	bad := func(why string) error { return fmt.Errorf("%w: %s", items.ErrBadCursor, why) }
	if len(raw) > maxCursorBytes {
		return c, "", "", bad("too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return c, "", "", bad("not a cursor this listing handed out")
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, "", "", bad("not a cursor this listing handed out")
	}
	if c.Scope != scope {
		return c, "", "", bad("it belongs to another listing (topic, society or since differ)")
	}
	m := pubKeyPattern.FindStringSubmatch(c.PubKey)
	if m == nil {
		return c, "", "", bad("not a cursor this listing handed out")
	}
	y, _ := strconv.Atoi(m[1])
	return c, strconv.Itoa(max(y, firstPubYear)), m[2], nil
}

// Page returns one page of q's listing, newest published first; its Next
// starts the page after. A single society is read from its partition of
// by-society; anything else from by-published, a year's partition at a
// time, and the page's items are then read by key. Neither reads the
// feeds table. A cursor that is not this listing's is an error matching
// items.ErrBadCursor.
func (s *ItemStore) Page(ctx context.Context, q items.PageQuery) (items.Page, error) {
	if q.Limit < 1 {
		return items.Page{}, fmt.Errorf("list items: limit %d must be positive", q.Limit)
	}
	scope := pageScope(q)
	var (
		after              *cursor
		afterYear, afterID string
	)
	if q.Cursor != "" {
		c, y, id, err := decodeCursor(q.Cursor, scope)
		if err != nil {
			return items.Page{}, err
		}
		after, afterYear, afterID = &c, y, id
	}
	var (
		page items.Page
		last string
		err  error
	)
	if len(q.Societies) == 1 {
		page.Items, last, err = s.pageSociety(ctx, q, after, afterID)
	} else {
		page.Items, last, err = s.pagePublished(ctx, q, after, afterYear, afterID)
	}
	if err != nil {
		return items.Page{}, err
	}
	if last != "" {
		page.Next = encodeCursor(cursor{PubKey: last, Scope: scope})
	}
	return page, nil
}

// pageSociety reads one society's partition, whose entries are whole
// items. With a full page it returns the pub_key of its last item.
func (s *ItemStore) pageSociety(ctx context.Context, q items.PageQuery, after *cursor, afterID string) ([]items.Item, string, error) {
	society := q.Societies[0]
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(indexBySociety),
		KeyConditionExpression:    aws.String("society = :society"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":society": &types.AttributeValueMemberS{Value: society}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(queryLimit(q))),
	}
	addConditions(in, q)
	if after != nil {
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"id":      &types.AttributeValueMemberS{Value: afterID},
			"society": &types.AttributeValueMemberS{Value: society},
			"pub_key": &types.AttributeValueMemberS{Value: after.PubKey},
		}
	}
	var (
		found []items.Item
		last  string
	)
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() && len(found) < q.Limit {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("query items of %s: %w", society, err)
		}
		var recs []itemRecord
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
			return nil, "", fmt.Errorf("decode items of %s: %w", society, err)
		}
		for _, r := range recs {
			if len(found) == q.Limit {
				break
			}
			found, last = append(found, r.item()), r.PubKey
		}
	}
	if len(found) < q.Limit {
		last = ""
	}
	return found, last, nil
}

// pagePublished reads by-published a year at a time, newest first, until
// the page is full, then reads the page's items by key. Like pageSociety
// it returns the pub_key the next page starts after, "" at the end.
func (s *ItemStore) pagePublished(ctx context.Context, q items.PageQuery, after *cursor, afterYear, afterID string) ([]items.Item, string, error) {
	var keys []yearEntry
	year := max(time.Now().Add(pubYearAhead).UTC().Year(), firstPubYear)
	if after != nil {
		year, _ = strconv.Atoi(afterYear)
	}
	floor := firstPubYear
	if !q.Since.IsZero() {
		floor = max(floor, q.Since.UTC().Year())
	}
	// Years are read newest first in groups of 1, 2, 4 and then 8 at once:
	// a page the newest year fills costs one query, and a listing that
	// runs out, and so reads back to firstPubYear, a few round trips.
	for group := 1; year >= floor && len(keys) < q.Limit; group = min(group*2, maxYearsAtOnce) {
		n := min(group, year-floor+1)
		need := q.Limit - len(keys)
		found := make([][]yearEntry, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			y := strconv.Itoa(year - i)
			start := ""
			if after != nil && y == afterYear {
				start = after.PubKey
			}
			wg.Go(func() { found[i], errs[i] = s.yearKeys(ctx, q, y, start, afterID, need) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				return nil, "", errs[i]
			}
			keys = append(keys, found[i][:min(len(found[i]), q.Limit-len(keys))]...)
		}
		year -= n
	}
	if len(keys) == 0 {
		return nil, "", nil
	}
	// An item deleted between the two reads is left out; the page still
	// ends at the last key read, so the next one starts after it.
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	got, err := s.GetMany(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	byID := make(map[string]items.Item, len(got))
	for _, it := range got {
		byID[it.Key] = it
	}
	found := make([]items.Item, 0, len(keys))
	for _, id := range ids {
		if it, ok := byID[id]; ok {
			found = append(found, it)
		}
	}
	if len(keys) < q.Limit {
		return found, "", nil
	}
	return found, keys[len(keys)-1].PubKey, nil
}

// maxYearsAtOnce bounds the by-published partitions read at once.
const maxYearsAtOnce = 8

// yearEntry is an entry of by-published, as a listing reads it.
type yearEntry struct {
	ID     string `dynamodbav:"id"`
	PubKey string `dynamodbav:"pub_key"`
}

// yearKeys reads up to need entries of q from one year's partition of
// by-published, newest first, after the entry (startKey, startID) if
// startKey is not "".
func (s *ItemStore) yearKeys(ctx context.Context, q items.PageQuery, year, startKey, startID string, need int) ([]yearEntry, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(indexByPublished),
		KeyConditionExpression:    aws.String("pub_year = :year"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":year": &types.AttributeValueMemberS{Value: year}},
		ProjectionExpression:      aws.String("id, pub_key"),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(queryLimit(q))),
	}
	addConditions(in, q)
	if len(q.Societies) > 1 {
		names := make([]string, len(q.Societies))
		for i, soc := range q.Societies {
			names[i] = fmt.Sprintf(":soc%d", i)
			in.ExpressionAttributeValues[names[i]] = &types.AttributeValueMemberS{Value: soc}
		}
		andFilter(in, "society IN ("+strings.Join(names, ", ")+")")
	}
	if startKey != "" {
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"id":       &types.AttributeValueMemberS{Value: startID},
			"pub_year": &types.AttributeValueMemberS{Value: year},
			"pub_key":  &types.AttributeValueMemberS{Value: startKey},
		}
	}
	var keys []yearEntry
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() && len(keys) < need {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query items published in %s: %w", year, err)
		}
		var recs []yearEntry
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
			return nil, fmt.Errorf("decode items published in %s: %w", year, err)
		}
		keys = append(keys, recs[:min(len(recs), need-len(keys))]...)
	}
	return keys, nil
}

// queryLimit is how many index entries one request reads: the page, or
// more when a filter may drop most of them.
func queryLimit(q items.PageQuery) int {
	if q.Topic != "" || len(q.Societies) > 1 {
		return max(q.Limit, 500)
	}
	return q.Limit
}

// addConditions narrows a query to q's period and topic.
func addConditions(in *dynamodb.QueryInput, q items.PageQuery) {
	if !q.Since.IsZero() {
		*in.KeyConditionExpression += " AND pub_key >= :since"
		in.ExpressionAttributeValues[":since"] = &types.AttributeValueMemberS{Value: sortableTime(q.Since)}
	}
	if q.Topic != "" {
		andFilter(in, "contains(topic_ids, :topic)")
		in.ExpressionAttributeValues[":topic"] = &types.AttributeValueMemberS{Value: q.Topic}
	}
}

func andFilter(in *dynamodb.QueryInput, cond string) {
	if in.FilterExpression == nil {
		in.FilterExpression = aws.String(cond)
		return
	}
	*in.FilterExpression += " AND " + cond
}
