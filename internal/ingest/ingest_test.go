package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/httpfeed"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/topics"
)

// memFeeds and memItems are in-memory stores: the run's logic is tested here
// without AWS; the DynamoDB adapter has its own integration tests.
type memFeeds struct {
	mu    sync.Mutex
	feeds map[string]feeds.Feed
}

func (m *memFeeds) Seed(_ context.Context, reg feeds.Registry) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, f := range reg.Feeds {
		if _, ok := m.feeds[f.ID]; !ok {
			m.feeds[f.ID] = f
			n++
		}
	}
	return n, nil
}

func (m *memFeeds) ListFeeds(context.Context) ([]feeds.Feed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []feeds.Feed
	for _, f := range m.feeds {
		list = append(list, f)
	}
	return list, nil
}

func (m *memFeeds) SaveFetch(_ context.Context, f feeds.Feed, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f.ItemCount = m.feeds[f.ID].ItemCount + n
	m.feeds[f.ID] = f
	return nil
}

type memItems struct {
	mu       sync.Mutex
	items    map[string]items.Item
	failPuts bool
	// fail, if set, gives the error a write of the item returns, if any.
	fail   func(it items.Item) error
	writes int
	// hashReads counts batched reads of hashes, rawHashWrites SetRawHash.
	hashReads, rawHashWrites int
}

func (m *memItems) Hashes(_ context.Context, keys []string) (map[string]items.Hashes, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hashReads++
	out := map[string]items.Hashes{}
	for _, k := range keys {
		if it, ok := m.items[k]; ok {
			out[k] = items.Hashes{Raw: it.RawHash, Content: it.ContentHash}
		}
	}
	return out, nil
}

func (m *memItems) SetRawHash(_ context.Context, key, raw string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[key]
	it.RawHash = raw
	m.items[key] = it
	m.rawHashWrites++
	return nil
}

func (m *memItems) Create(_ context.Context, it items.Item) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPuts {
		return false, errors.New("throttled")
	}
	if m.fail != nil {
		if err := m.fail(it); err != nil {
			return false, err
		}
	}
	m.writes++
	if _, ok := m.items[it.Key]; ok {
		return false, nil
	}
	m.items[it.Key] = it
	return true, nil
}

func (m *memItems) Update(_ context.Context, it items.Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		if err := m.fail(it); err != nil {
			return err
		}
	}
	m.writes++
	it.FirstSeen = m.items[it.Key].FirstSeen
	m.items[it.Key] = it
	return nil
}

// scriptedFetcher answers each URL with a fixed document or error.
type scriptedFetcher map[string]any

func (s scriptedFetcher) Fetch(_ context.Context, req httpfeed.Request) (*httpfeed.Response, error) {
	switch v := s[req.URL].(type) {
	case error:
		return nil, v
	case *httpfeed.Response:
		return v, nil
	}
	return nil, fmt.Errorf("no script for %s", req.URL)
}

// docParser returns a fixed document per body, or panics on "panic".
type docParser map[string]*feedparse.Document

func (p docParser) Scan(body []byte, _, _ string, _ time.Time) (*feedparse.Feed, error) {
	if string(body) == "panic" {
		panic("parser bug")
	}
	doc, ok := p[string(body)]
	if !ok {
		return nil, feedparse.ErrNotAFeed
	}
	feed := &feedparse.Feed{Title: doc.Title, Link: doc.Link, TTL: doc.TTL}
	for _, it := range doc.Items {
		feed.Entries = append(feed.Entries, feedparse.NormalisedEntry(it))
	}
	return feed, nil
}

type constTagger struct{}

func (constTagger) Tag(topics.Text, topics.FeedTopics) []items.TopicScore {
	return []items.TopicScore{{ID: "ai", Score: 1}}
}

func item(guid, title string) items.Item {
	return items.Item{GUID: guid, Title: title, ContentHash: guid + title, RawHash: feedparse.RawHashVersion + guid + title}
}

func newRunner(fetch scriptedFetcher, parse docParser, st *memItems, reg ...feeds.Feed) (*Runner, *memFeeds) {
	for i := range reg {
		reg[i].ID, reg[i].Enabled = feeds.IDFor(reg[i].Society, reg[i].URL), true
	}
	fs := &memFeeds{feeds: map[string]feeds.Feed{}}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	return &Runner{
		Feeds: fs, Items: st, Fetcher: fetch, Parser: parse, Tagger: constTagger{},
		Registry: feeds.Registry{Feeds: reg, Version: "v1"}, Policy: feeds.DefaultPolicy,
		Concurrency: 2, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, fs
}

func TestRunIsolatesFailures(t *testing.T) {
	st := &memItems{items: map[string]items.Item{}}
	r, fs := newRunner(
		scriptedFetcher{
			"https://a.org/feed": &httpfeed.Response{Body: []byte("a"), ETag: `"a1"`},
			"https://b.org/feed": &httpfeed.Response{Body: []byte("panic"), ETag: `"b1"`},
			"https://c.org/feed": &httpfeed.StatusError{StatusCode: 503, RetryAfter: 2 * time.Hour},
			"https://d.org/feed": &httpfeed.Response{Body: []byte("not a feed")},
		},
		docParser{"a": {Items: []items.Item{item("1", "One"), item("2", "Two"), item("1", "One again")}}},
		st,
		feeds.Feed{Society: "a", URL: "https://a.org/feed"},
		feeds.Feed{Society: "b", URL: "https://b.org/feed"},
		feeds.Feed{Society: "c", URL: "https://c.org/feed"},
		feeds.Feed{Society: "d", URL: "https://d.org/feed"},
	)
	sum, err := r.Run(context.Background(), TriggerSchedule)
	if err != nil {
		t.Fatal(err)
	}
	if sum.FeedsOK != 1 || sum.FeedsFailed != 3 || sum.ItemsNew != 2 {
		t.Fatalf("summary %+v; want 1 ok, 3 failed, 2 new (a duplicate GUID stored once)", sum)
	}
	got := map[string]feeds.Feed{}
	for _, f := range fs.feeds {
		got[f.Society] = f
	}
	if f := got["b"]; f.LastStatus != feeds.StatusFailed || f.ETag != "" || f.LastError == "" {
		t.Errorf("panicking parse: %+v; want failed, validators cleared, error recorded", f)
	}
	if f := got["c"]; f.NextFetchAt.Sub(f.LastFetchAt) != 2*time.Hour {
		t.Errorf("503 with Retry-After 2h: next fetch in %v", f.NextFetchAt.Sub(f.LastFetchAt))
	}
	if f := got["a"]; f.ItemCount != 2 || f.ETag != `"a1"` || f.LastStatus != feeds.StatusOK {
		t.Errorf("good feed: %+v", f)
	}
}

func TestRunDedupesAndUpdates(t *testing.T) {
	st := &memItems{items: map[string]items.Item{}}
	parse := docParser{"v1": {Items: []items.Item{item("1", "One"), item("2", "Two")}}}
	fetch := scriptedFetcher{"https://a.org/feed": &httpfeed.Response{Body: []byte("v1")}}
	r, _ := newRunner(fetch, parse, st, feeds.Feed{Society: "a", URL: "https://a.org/feed"})
	ctx := context.Background()
	if sum, _ := r.Run(ctx, TriggerManual); sum.ItemsNew != 2 || st.writes != 2 {
		t.Fatalf("first run: %d new, %d writes", sum.ItemsNew, st.writes)
	}
	if sum, _ := r.Run(ctx, TriggerManual); sum.ItemsNew != 0 || sum.ItemsUpdated != 0 || st.writes != 2 {
		t.Fatalf("same document again: %d new, %d updated, %d writes; want no writes", sum.ItemsNew, sum.ItemsUpdated, st.writes)
	}
	parse["v1"] = &feedparse.Document{Items: []items.Item{item("1", "One, corrected"), item("2", "Two"), item("3", "Three")}}
	sum, _ := r.Run(ctx, TriggerManual)
	if sum.ItemsNew != 1 || sum.ItemsUpdated != 1 || st.writes != 4 {
		t.Fatalf("changed document: %d new, %d updated, %d writes; want 1, 1, 4", sum.ItemsNew, sum.ItemsUpdated, st.writes)
	}
	updated := st.items[items.KeyFor("a", "1")]
	if updated.Title != "One, corrected" || !updated.Updated() || updated.FirstSeen.IsZero() {
		t.Errorf("updated item: %+v", updated)
	}
}

func TestRunStoreFailureForgetsValidators(t *testing.T) {
	st := &memItems{items: map[string]items.Item{}, failPuts: true}
	r, fs := newRunner(
		scriptedFetcher{"https://a.org/feed": &httpfeed.Response{Body: []byte("v1"), ETag: `"v1"`}},
		docParser{"v1": {Items: []items.Item{item("1", "One")}}},
		st, feeds.Feed{Society: "a", URL: "https://a.org/feed"})
	sum, err := r.Run(context.Background(), TriggerSchedule)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs.feeds {
		// Keeping the ETag would let a 304 hide the items never stored.
		if sum.FeedsFailed != 1 || f.ETag != "" || f.ConsecutiveFailures != 1 {
			t.Errorf("after a store failure: %+v, summary %+v", f, sum)
		}
	}
}

func TestRunSkipsFeedsNotDue(t *testing.T) {
	st := &memItems{items: map[string]items.Item{}}
	fetch := scriptedFetcher{"https://a.org/feed": &httpfeed.StatusError{StatusCode: 500}}
	r, _ := newRunner(fetch, docParser{}, st, feeds.Feed{Society: "a", URL: "https://a.org/feed"})
	ctx := context.Background()
	if sum, _ := r.Run(ctx, TriggerSchedule); sum.FeedsFailed != 1 {
		t.Fatalf("first run: %+v", sum)
	}
	if sum, _ := r.Run(ctx, TriggerSchedule); sum.FeedsSkipped != 1 || sum.FeedsFailed != 0 {
		t.Errorf("a backing-off feed must be skipped by the schedule: %+v", sum)
	}
	if sum, _ := r.Run(ctx, TriggerManual); sum.FeedsFailed != 1 {
		t.Errorf("a manual run must override the backoff: %+v", sum)
	}
}
