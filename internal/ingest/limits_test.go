package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/httpfeed"
	"github.com/radiogram/radiogram/internal/items"
)

// errValidation is what the DynamoDB store returns for an item over 400 KB.
var errValidation = fmt.Errorf("put item x: %w: operation error DynamoDB: PutItem, api error ValidationException: Item size has exceeded the maximum allowed size", items.ErrRejected)

// An item the store refuses used to fail its whole feed on every run; now
// it is skipped and counted, while an outage still fails the feed.
func TestRunSkipsRejectedItems(t *testing.T) {
	rejectTitle := func(title string, err error) func(items.Item) error {
		return func(it items.Item) error {
			if it.Title == title {
				return err
			}
			return nil
		}
	}
	tests := []struct {
		name        string
		stored      []items.Item // before the run
		fail        func(items.Item) error
		wantStatus  feeds.Status
		wantNew     int
		wantUpdated int
		wantSkipped int
		wantETag    string
	}{
		{name: "rejected new item is skipped", fail: rejectTitle("Huge", errValidation),
			wantStatus: feeds.StatusOK, wantNew: 2, wantSkipped: 1, wantETag: `"v1"`},
		{name: "rejected update is skipped", stored: []items.Item{item("2", "Old")}, fail: rejectTitle("Huge", errValidation),
			wantStatus: feeds.StatusOK, wantNew: 2, wantSkipped: 1, wantETag: `"v1"`},
		{name: "every item rejected", fail: func(items.Item) error { return errValidation },
			wantStatus: feeds.StatusOK, wantSkipped: 3, wantETag: `"v1"`},
		{name: "throttling fails the feed", fail: rejectTitle("Huge", errors.New("ProvisionedThroughputExceededException")),
			wantStatus: feeds.StatusFailed, wantNew: 1}, // One, stored before the outage
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &memItems{items: map[string]items.Item{}, fail: tt.fail}
			for _, it := range tt.stored {
				it.Key = items.KeyFor("a", it.GUID)
				st.items[it.Key] = it
			}
			r, fs := newRunner(
				scriptedFetcher{"https://a.org/feed": &httpfeed.Response{Body: []byte("v1"), ETag: `"v1"`}},
				docParser{"v1": {Items: []items.Item{item("1", "One"), item("2", "Huge"), item("3", "Three")}}},
				st, feeds.Feed{Society: "a", URL: "https://a.org/feed"})
			sum, err := r.Run(context.Background(), TriggerSchedule)
			if err != nil {
				t.Fatal(err)
			}
			res := sum.Feeds[0]
			if res.Status != tt.wantStatus || res.New != tt.wantNew || res.Updated != tt.wantUpdated || res.Skipped != tt.wantSkipped {
				t.Errorf("feed result %+v; want %s, %d new, %d updated, %d skipped", res, tt.wantStatus, tt.wantNew, tt.wantUpdated, tt.wantSkipped)
			}
			if sum.ItemsNew != tt.wantNew || sum.ItemsSkipped != tt.wantSkipped {
				t.Errorf("summary %+v", sum)
			}
			for _, f := range fs.feeds {
				if f.ETag != tt.wantETag {
					t.Errorf("ETag %q, want %q", f.ETag, tt.wantETag)
				}
				if tt.wantStatus == feeds.StatusOK && (f.LastError != "" || f.ConsecutiveFailures != 0) {
					t.Errorf("a skipped item failed the feed: %+v", f)
				}
			}
			raw, _ := json.Marshal(sum)
			if want := fmt.Sprintf(`"items_skipped":%d`, tt.wantSkipped); !strings.Contains(string(raw), want) {
				t.Errorf("summary JSON %s lacks %s", raw, want)
			}
		})
	}
}

// A feed of thousands of entries stores only the newest MaxItemsPerFeed,
// however the feed orders them.
func TestRunStoresAtMostMaxItemsPerFeed(t *testing.T) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	feedItems := make([]items.Item, 1000)
	for i := range feedItems {
		feedItems[i] = item(fmt.Sprint(i), fmt.Sprint("Item ", i))
		feedItems[i].Published = base.Add(time.Duration(i) * time.Hour)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(feedItems), func(i, j int) { feedItems[i], feedItems[j] = feedItems[j], feedItems[i] })
	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{name: "default", limit: 0, want: DefaultMaxItemsPerFeed},
		{name: "three", limit: 3, want: 3},
		{name: "more than the feed has", limit: 5000, want: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &memItems{items: map[string]items.Item{}}
			r, _ := newRunner(
				scriptedFetcher{"https://a.org/feed": &httpfeed.Response{Body: []byte("big")}},
				docParser{"big": {Items: append([]items.Item(nil), feedItems...)}},
				st, feeds.Feed{Society: "a", URL: "https://a.org/feed"})
			r.MaxItemsPerFeed = tt.limit
			sum, err := r.Run(context.Background(), TriggerSchedule)
			if err != nil {
				t.Fatal(err)
			}
			if sum.ItemsNew != tt.want || len(st.items) != tt.want {
				t.Fatalf("%d new, %d stored; want %d", sum.ItemsNew, len(st.items), tt.want)
			}
			oldestKept := base.Add(time.Duration(1000-tt.want) * time.Hour)
			for _, it := range st.items {
				if it.Published.Before(oldestKept) {
					t.Errorf("kept %s published %v, older than the newest %d", it.GUID, it.Published, tt.want)
				}
			}
		})
	}
}

// The limit counts distinct items: a duplicated entry does not push a
// newer one out.
func TestRunMaxItemsPerFeedCountsDistinctItems(t *testing.T) {
	st := &memItems{items: map[string]items.Item{}}
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	one, two, three := item("1", "One"), item("2", "Two"), item("3", "Three")
	one.Published, two.Published, three.Published = day(3), day(2), day(1)
	r, _ := newRunner(
		scriptedFetcher{"https://a.org/feed": &httpfeed.Response{Body: []byte("v1")}},
		docParser{"v1": &feedparse.Document{Items: []items.Item{one, one, three, two}}},
		st, feeds.Feed{Society: "a", URL: "https://a.org/feed"})
	r.MaxItemsPerFeed = 2
	if _, err := r.Run(context.Background(), TriggerSchedule); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.items[items.KeyFor("a", "2")]; !ok || len(st.items) != 2 {
		t.Errorf("stored %d items, want One and Two", len(st.items))
	}
}
