package ingest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/httpfeed"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/topics"
)

// changedFeedNew is how many of the fixture's 200 entries (the newest) the
// store has not seen; the other 180 are stored and unchanged.
const changedFeedNew = 20

// hashStore is an item store that already holds the hashes of some items:
// each run finds the same entries new, so every iteration does the same work.
type hashStore struct {
	hashes map[string]items.Hashes
	writes int
}

func (s *hashStore) Hashes(_ context.Context, keys []string) (map[string]items.Hashes, error) {
	out := make(map[string]items.Hashes, len(keys))
	for _, k := range keys {
		if h, ok := s.hashes[k]; ok {
			out[k] = h
		}
	}
	return out, nil
}

func (s *hashStore) Create(context.Context, items.Item) (bool, error) { s.writes++; return true, nil }
func (s *hashStore) Update(context.Context, items.Item) error         { s.writes++; return nil }
func (s *hashStore) SetRawHash(context.Context, string, string) error { s.writes++; return nil }

// changedFeedBench builds a runner over one 200-entry feed that has changed
// (no 304) and whose 20 newest entries are new, and the bare gofeed parse
// the issue compares it with.
func changedFeedBench(b *testing.B) (radiogram, bare func()) {
	body, err := os.ReadFile(filepath.Join("testdata", "society_200.xml"))
	if err != nil {
		b.Fatal(err)
	}
	taxonomy, err := topics.Load(infra.Topics)
	if err != nil {
		b.Fatal(err)
	}
	const url = "https://www.esr-example.org/news/feed.xml"
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	feed := feeds.Feed{Society: "esr", URL: url, Enabled: true}
	feed.ID = feeds.IDFor(feed.Society, feed.URL)
	store := &hashStore{hashes: map[string]items.Hashes{}}
	fs := &memFeeds{feeds: map[string]feeds.Feed{}}
	r := &Runner{
		Feeds: fs, Items: store, Parser: feedparse.NewParser(), Tagger: topics.NewTagger(taxonomy),
		Fetcher:  constFetcher{Response: httpfeed.Response{Body: body, ContentType: "application/rss+xml", FinalURL: url}},
		Registry: feeds.Registry{Feeds: []feeds.Feed{feed}, Version: "bench"}, Policy: feeds.DefaultPolicy,
		Concurrency: 1, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	// What an earlier run stored: every entry but the newest changedFeedNew.
	doc, err := feedparse.NewParser().Parse(body, "application/rss+xml", url, now)
	if err != nil || len(doc.Items) != 200 {
		b.Fatalf("fixture: %d items, %v", len(doc.Items), err)
	}
	for _, it := range doc.Items[changedFeedNew:] {
		store.hashes[items.KeyFor(feed.Society, it.GUID)] = items.Hashes{Raw: it.RawHash, Content: it.ContentHash}
	}
	ctx := context.Background()
	radiogram = func() {
		store.writes = 0
		sum, err := r.Run(ctx, TriggerManual)
		if err != nil || sum.FeedsOK != 1 || sum.ItemsNew != changedFeedNew || store.writes != changedFeedNew {
			b.Fatalf("run: %+v, %d writes, %v", sum, store.writes, err)
		}
	}
	parser := gofeed.NewParser()
	bare = func() {
		f, err := parser.Parse(bytes.NewReader(body))
		if err != nil || len(f.Items) != 200 {
			b.Fatal("gofeed", err)
		}
	}
	return radiogram, bare
}

// constFetcher answers every request with the same document.
type constFetcher struct{ httpfeed.Response }

func (c constFetcher) Fetch(context.Context, httpfeed.Request) (*httpfeed.Response, error) {
	resp := c.Response
	return &resp, nil
}

// BenchmarkChangedFeed compares, on one core, gofeed's bare Parse of a
// 200-entry society feed (~1 KB of HTML per entry) with Radiogram's whole
// ingest of that feed when it changed and 10% of its entries are new: parse,
// the stored hashes read in one batch, then sanitising, tagging and a write
// for the new entries only. The goal is at most 1.3× gofeed's time.
//
//	go test -run '^$' -bench ChangedFeed -cpu 1 ./internal/ingest/
//
// "ratio" runs both in turn in each iteration, so that the load of a shared
// machine weighs on both alike, and reports the medians of their times and
// the ratio of the medians (x-gofeed), which a passing spike of load moves
// little.
func BenchmarkChangedFeed(b *testing.B) {
	radiogram, bare := changedFeedBench(b)
	b.Run("gofeed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bare()
		}
	})
	b.Run("radiogram", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			radiogram()
		}
	})
	b.Run("ratio", func(b *testing.B) {
		var tBare, tFull []time.Duration
		for b.Loop() {
			start := time.Now()
			bare()
			mid := time.Now()
			radiogram()
			tBare = append(tBare, mid.Sub(start))
			tFull = append(tFull, time.Since(mid))
		}
		medBare, medFull := median(tBare), median(tFull)
		b.ReportMetric(float64(medBare.Nanoseconds()), "gofeed-ns/op")
		b.ReportMetric(float64(medFull.Nanoseconds()), "radiogram-ns/op")
		b.ReportMetric(float64(medFull)/float64(medBare), "x-gofeed")
	})
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}
