package ingest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/httpfeed"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/topics"
)

// countingTagger counts the items it tags: an unchanged item must not reach it.
type countingTagger struct {
	mu     sync.Mutex
	titles []string
}

func (c *countingTagger) Tag(text topics.Text, _ topics.FeedTopics) []items.TopicScore {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.titles = append(c.titles, text.Title)
	return []items.TopicScore{{ID: "ai", Score: 1}}
}

func (c *countingTagger) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.titles
	c.titles = nil
	return t
}

type rssEntry struct{ guid, title, description string }

func rssBody(entries ...rssEntry) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Society</title><link>https://a.org/</link>`)
	for _, e := range entries {
		fmt.Fprintf(&b, `<item><guid>%s</guid><title>%s</title><link>https://a.org/news/%s</link><description>%s</description></item>`,
			e.guid, e.title, e.guid, e.description)
	}
	b.WriteString(`</channel></rss>`)
	return []byte(b.String())
}

// A changed feed pays only for its changed entries: the stored hashes are
// read in one batch, an entry whose raw hash is stored is neither tagged
// nor written, an edited entry is updated and a new one stored and tagged.
func TestRunSkipsUnchangedItems(t *testing.T) {
	const url = "https://a.org/feed"
	st := &memItems{items: map[string]items.Item{}}
	fetch := scriptedFetcher{}
	r, _ := newRunner(fetch, nil, st, feeds.Feed{Society: "a", URL: url})
	tagger := &countingTagger{}
	r.Parser, r.Tagger = feedparse.NewParser(), tagger
	ctx := context.Background()
	run := func(body []byte) Summary {
		t.Helper()
		fetch[url] = &httpfeed.Response{Body: body, FinalURL: url}
		st.hashReads = 0
		sum, err := r.Run(ctx, TriggerManual)
		if err != nil {
			t.Fatal(err)
		}
		if st.hashReads != 1 {
			t.Errorf("%d reads of stored hashes, want one batch", st.hashReads)
		}
		return sum
	}
	one := rssEntry{"1", "Contrast media shortage", "&lt;p&gt;Supplies are short.&lt;/p&gt;"}
	two := rssEntry{"2", "Stroke imaging guideline", "&lt;p&gt;New guideline.&lt;/p&gt;"}
	three := rssEntry{"3", "Congress programme", "&lt;p&gt;Sessions announced.&lt;/p&gt;"}

	if sum := run(rssBody(one, two, three)); sum.ItemsNew != 3 || sum.ItemsUnchanged != 0 || st.writes != 3 {
		t.Fatalf("first run: %+v, %d writes; want 3 new", sum, st.writes)
	}
	if got := tagger.take(); len(got) != 3 {
		t.Fatalf("first run tagged %q, want all three", got)
	}

	// The feed changed (no 304), but not these entries.
	sum := run(rssBody(three, two, one))
	if sum.ItemsNew != 0 || sum.ItemsUpdated != 0 || sum.ItemsUnchanged != 3 || st.writes != 3 {
		t.Fatalf("same entries again: %+v, %d writes; want 3 unchanged, no write", sum, st.writes)
	}
	if got := tagger.take(); len(got) != 0 {
		t.Errorf("unchanged entries were tagged: %q", got)
	}
	if res := sum.Feeds[0]; res.Unchanged != 3 {
		t.Errorf("feed result %+v, want 3 unchanged", res)
	}

	// One title and one summary edited, one entry new.
	oneEdited := one
	oneEdited.title = "Contrast media shortage: update"
	twoEdited := two
	twoEdited.description = "&lt;p&gt;New guideline, now with a checklist.&lt;/p&gt;"
	four := rssEntry{"4", "AI in breast screening", "&lt;p&gt;Trial results.&lt;/p&gt;"}
	sum = run(rssBody(four, oneEdited, twoEdited, three))
	if sum.ItemsNew != 1 || sum.ItemsUpdated != 2 || sum.ItemsUnchanged != 1 || st.writes != 6 {
		t.Fatalf("edited feed: %+v, %d writes; want 1 new, 2 updated, 1 unchanged, 6 writes", sum, st.writes)
	}
	if got := strings.Join(tagger.take(), "|"); got != "AI in breast screening|Contrast media shortage: update|Stroke imaging guideline" {
		t.Errorf("tagged %q; want the new and the two edited entries", got)
	}
	if it := st.items[items.KeyFor("a", "1")]; it.Title != oneEdited.title || !it.Updated() || len(it.Topics) == 0 {
		t.Errorf("edited title not stored: %+v", it)
	}
	if it := st.items[items.KeyFor("a", "2")]; it.Summary != "New guideline, now with a checklist." || !it.Updated() {
		t.Errorf("edited summary not stored: %+v", it)
	}
	if it := st.items[items.KeyFor("a", "4")]; it.FirstSeen.IsZero() || it.Updated() || len(it.Topics) == 0 || it.RawHash == "" {
		t.Errorf("new item: %+v", it)
	}
}

// Items stored before raw hashes (or under an older RawHashVersion) are
// compared by their normalised content once: the same content is not an
// update, only its raw hash is recorded; different content is.
func TestRunRecordsRawHashOfOlderItems(t *testing.T) {
	const url = "https://a.org/feed"
	one := rssEntry{"1", "Contrast media shortage", "&lt;p&gt;Supplies are short.&lt;/p&gt;"}
	two := rssEntry{"2", "Stroke imaging guideline", "&lt;p&gt;New guideline.&lt;/p&gt;"}
	body := rssBody(one, two)
	current, err := feedparse.NewParser().Parse(body, "", url, time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		raw           func(items.Item) string // the stored raw hash
		content       func(items.Item) string // the stored content hash
		wantUpdated   int
		wantUnchanged int
		wantRawWrites int
	}{
		{"stored before raw hashes, same content",
			func(items.Item) string { return "" }, func(it items.Item) string { return it.ContentHash }, 0, 2, 2},
		{"older raw hash version, same content",
			func(items.Item) string { return "raw0:abc" }, func(it items.Item) string { return it.ContentHash }, 0, 2, 2},
		{"stored before raw hashes, edited since",
			func(items.Item) string { return "" }, func(items.Item) string { return "old" }, 2, 0, 0},
		{"current raw hash, edited since",
			func(items.Item) string { return feedparse.RawHashVersion + "old" }, func(it items.Item) string { return it.ContentHash }, 2, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &memItems{items: map[string]items.Item{}}
			for _, it := range current.Items {
				it.Key, it.Society = items.KeyFor("a", it.GUID), "a"
				it.FirstSeen = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
				it.RawHash, it.ContentHash = tt.raw(it), tt.content(it)
				st.items[it.Key] = it
			}
			r, _ := newRunner(scriptedFetcher{url: &httpfeed.Response{Body: body, FinalURL: url}}, nil, st, feeds.Feed{Society: "a", URL: url})
			tagger := &countingTagger{}
			r.Parser, r.Tagger = feedparse.NewParser(), tagger
			sum, err := r.Run(context.Background(), TriggerManual)
			if err != nil {
				t.Fatal(err)
			}
			if sum.ItemsNew != 0 || sum.ItemsUpdated != tt.wantUpdated || sum.ItemsUnchanged != tt.wantUnchanged || st.rawHashWrites != tt.wantRawWrites {
				t.Fatalf("%+v, %d raw hash writes; want %d updated, %d unchanged, %d raw hash writes",
					sum, st.rawHashWrites, tt.wantUpdated, tt.wantUnchanged, tt.wantRawWrites)
			}
			if len(tagger.take()) != tt.wantUpdated {
				t.Errorf("tagged other than the updated items")
			}
			for _, it := range st.items {
				if it.RawHash != current.Items[0].RawHash && it.RawHash != current.Items[1].RawHash {
					t.Errorf("item %s keeps raw hash %q", it.Key, it.RawHash)
				}
				if it.Updated() != (tt.wantUpdated > 0) {
					t.Errorf("item %s updated = %v", it.Key, it.Updated())
				}
			}
			// The next run skips them without normalising.
			st.rawHashWrites = 0
			if sum, _ := r.Run(context.Background(), TriggerManual); sum.ItemsUnchanged != 2 || st.rawHashWrites != 0 || len(tagger.take()) != 0 {
				t.Errorf("next run: %+v, %d raw hash writes; want 2 unchanged and none", sum, st.rawHashWrites)
			}
		})
	}
}
