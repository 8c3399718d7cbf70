// Package ingest owns one ingest run: fetch the due society feeds, parse and
// tag their items, and store what is new or changed, one feed's failure never
// stopping the others.
package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/httpfeed"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/metrics"
	"github.com/radiogram/radiogram/internal/topics"
)

// FeedStore keeps the registry and each feed's fetch state.
type FeedStore interface {
	// Seed adds the registry's feeds that the store has never held; a feed
	// an admin deleted stays deleted.
	Seed(ctx context.Context, reg feeds.Registry) (added int, err error)
	ListFeeds(ctx context.Context) ([]feeds.Feed, error)
	// SaveFetch records a fetch's outcome and adds newItems to the feed's count.
	SaveFetch(ctx context.Context, f feeds.Feed, newItems int) error
}

// ItemStore keeps items, one record per society and GUID. Create's and
// Update's error wraps items.ErrRejected when the store refused the item
// itself: that item is skipped and the rest of its feed still stored. Any
// other error (throttling, an outage) fails the feed.
type ItemStore interface {
	// Hashes returns the stored hashes of each key that exists, in one
	// batched read.
	Hashes(ctx context.Context, keys []string) (map[string]items.Hashes, error)
	// Create stores a new item and reports false if it already exists.
	Create(ctx context.Context, it items.Item) (bool, error)
	// Update replaces a stored item's content, keeping when it was first
	// seen, and its topics too once an admin corrected them.
	Update(ctx context.Context, it items.Item) error
	// SetRawHash records a stored item's raw hash, changing nothing else.
	SetRawHash(ctx context.Context, key, rawHash string) error
}

// Fetcher fetches one feed document.
type Fetcher interface {
	Fetch(ctx context.Context, req httpfeed.Request) (*httpfeed.Response, error)
}

// Parser turns a feed document into entries, each normalised only when
// asked (feedparse.Entry.Item), which costs more than parsing it.
type Parser interface {
	Scan(body []byte, contentType, feedURL string, now time.Time) (*feedparse.Feed, error)
}

// Metrics records a run's metrics (*metrics.Emitter, in CloudWatch's
// Embedded Metric Format).
type Metrics interface {
	Emit(ms ...metrics.Metric) error
}

// Tagger places an item in the topic taxonomy (*topics.Tagger).
type Tagger interface {
	Tag(text topics.Text, feed topics.FeedTopics) []items.TopicScore
}

// Runner runs ingests. Its fields are set once at start-up.
type Runner struct {
	Feeds    FeedStore
	Items    ItemStore
	Fetcher  Fetcher
	Parser   Parser
	Tagger   Tagger
	Registry feeds.Registry
	Policy   feeds.Policy
	// Concurrency bounds how many feeds are fetched at once.
	Concurrency int
	// MaxItemsPerFeed bounds the items stored from one feed in one run,
	// newest published first; 0 means DefaultMaxItemsPerFeed.
	MaxItemsPerFeed int
	Now             func() time.Time
	Log             *slog.Logger
	// Metrics, if set, records each finished run's Summary.Metrics.
	Metrics Metrics
	// AfterRun, if set, is called with each finished run's summary: instant
	// alerts go out after a run that found news.
	AfterRun func(ctx context.Context, sum Summary)
	// Stories, if set, groups each new item with a recent item of another
	// feed that tells the same story (items.Item.Story).
	Stories StoryTexts
}

// DefaultMaxItemsPerFeed is the items stored from one feed in one run when
// Runner.MaxItemsPerFeed is not set (RADIOGRAM_MAX_ITEMS_PER_FEED).
const DefaultMaxItemsPerFeed = 200

// Trigger says why a run happened.
type Trigger string

const (
	// TriggerSchedule fetches only the feeds that are due.
	TriggerSchedule Trigger = "schedule"
	// TriggerManual fetches every enabled feed, whatever its schedule or backoff.
	TriggerManual Trigger = "manual"
)

// Summary is a run's result, logged and returned to whoever started it.
type Summary struct {
	Trigger        Trigger      `json:"trigger"`
	StartedAt      time.Time    `json:"started_at"`
	FinishedAt     time.Time    `json:"finished_at"`
	FeedsAdded     int          `json:"feeds_added"`
	FeedsOK        int          `json:"feeds_ok"`
	FeedsUnchanged int          `json:"feeds_unchanged"`
	FeedsFailed    int          `json:"feeds_failed"`
	FeedsSkipped   int          `json:"feeds_skipped"` // not due yet, or disabled
	ItemsNew       int          `json:"items_new"`
	ItemsUpdated   int          `json:"items_updated"`
	ItemsUnchanged int          `json:"items_unchanged"` // stored already, as the feed has them
	ItemsSkipped   int          `json:"items_skipped"`   // refused by the store (items.ErrRejected)
	Feeds          []FeedResult `json:"feeds"`
}

// ErrAllFeedsFailed is wrapped by Summary.Err when a run fetched feeds and
// every one of them failed.
var ErrAllFeedsFailed = errors.New("every feed fetched failed")

// Fetched is how many feeds the run fetched: ok, unchanged or failed.
func (s Summary) Fetched() int { return s.FeedsOK + s.FeedsUnchanged + s.FeedsFailed }

// Err is nil unless the run fetched feeds and every one failed (a network
// outage, a broken parser): a run that must not pass for a success. A run
// with no feed due is not a failure.
func (s Summary) Err() error {
	if s.FeedsFailed == 0 || s.FeedsFailed < s.Fetched() {
		return nil
	}
	first := ""
	for _, f := range s.Feeds {
		if f.Error != "" {
			first = f.Error
			break
		}
	}
	return fmt.Errorf("%w: %d of %d (first error: %s)", ErrAllFeedsFailed, s.FeedsFailed, s.Fetched(), first)
}

// Metrics are the run's CloudWatch metrics. FeedsFailedPercent is the
// share of the feeds fetched that failed, 0 when none was fetched; an
// alarm watches it.
func (s Summary) Metrics() []metrics.Metric {
	failedPercent := 0.0
	if n := s.Fetched(); n > 0 {
		failedPercent = float64(s.FeedsFailed) / float64(n) * 100
	}
	return []metrics.Metric{
		{Name: "FeedsOK", Unit: metrics.Count, Value: float64(s.FeedsOK)},
		{Name: "FeedsFailed", Unit: metrics.Count, Value: float64(s.FeedsFailed)},
		{Name: "FeedsUnchanged", Unit: metrics.Count, Value: float64(s.FeedsUnchanged)},
		{Name: "ItemsNew", Unit: metrics.Count, Value: float64(s.ItemsNew)},
		{Name: "ItemsUpdated", Unit: metrics.Count, Value: float64(s.ItemsUpdated)},
		{Name: "ItemsUnchanged", Unit: metrics.Count, Value: float64(s.ItemsUnchanged)},
		{Name: "FeedsFailedPercent", Unit: metrics.Percent, Value: failedPercent},
	}
}

// FeedResult is what a run did with one feed.
type FeedResult struct {
	FeedID     string       `json:"feed_id"`
	Society    string       `json:"society"`
	URL        string       `json:"url"`
	Status     feeds.Status `json:"status"`
	Error      string       `json:"error,omitempty"`
	New        int          `json:"items_new"`
	Updated    int          `json:"items_updated"`
	Unchanged  int          `json:"items_unchanged"`
	Skipped    int          `json:"items_skipped"`
	DurationMS int64        `json:"duration_ms"`
	// NewKeys lists the stored keys of the feed's new items, for alerts.
	NewKeys []string `json:"-"`
}

// Run ingests the due feeds (every enabled feed when manual). It fails only
// when the registry cannot be read; a feed's failure is recorded on the feed
// and in the summary.
func (r *Runner) Run(ctx context.Context, trigger Trigger) (Summary, error) {
	sum := Summary{Trigger: trigger, StartedAt: r.Now().UTC()}
	added, err := r.Feeds.Seed(ctx, r.Registry)
	if err != nil {
		return sum, fmt.Errorf("seed feed registry: %w", err)
	}
	sum.FeedsAdded = added
	all, err := r.Feeds.ListFeeds(ctx)
	if err != nil {
		return sum, fmt.Errorf("list feeds: %w", err)
	}
	var due []feeds.Feed
	for _, f := range all {
		if f.Enabled && (trigger == TriggerManual || f.Due(sum.StartedAt)) {
			due = append(due, f)
		} else {
			sum.FeedsSkipped++
		}
	}

	results := make([]FeedResult, len(due))
	storyCtx := withStories(ctx, r.Stories, sum.StartedAt)
	sem := make(chan struct{}, max(r.Concurrency, 1))
	var wg sync.WaitGroup
	for i, f := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = r.ingestFeed(storyCtx, f)
		}()
	}
	wg.Wait()

	for _, res := range results {
		switch res.Status {
		case feeds.StatusOK:
			sum.FeedsOK++
		case feeds.StatusUnchanged:
			sum.FeedsUnchanged++
		default:
			sum.FeedsFailed++
		}
		sum.ItemsNew += res.New
		sum.ItemsUpdated += res.Updated
		sum.ItemsUnchanged += res.Unchanged
		sum.ItemsSkipped += res.Skipped
	}
	sum.Feeds = results
	sum.FinishedAt = r.Now().UTC()
	r.Log.InfoContext(ctx, "ingest finished", "trigger", trigger,
		"feeds_ok", sum.FeedsOK, "feeds_unchanged", sum.FeedsUnchanged, "feeds_failed", sum.FeedsFailed,
		"feeds_skipped", sum.FeedsSkipped, "items_new", sum.ItemsNew, "items_updated", sum.ItemsUpdated,
		"items_unchanged", sum.ItemsUnchanged, "items_skipped", sum.ItemsSkipped, "duration_ms", sum.FinishedAt.Sub(sum.StartedAt).Milliseconds())
	if r.Metrics != nil {
		if err := r.Metrics.Emit(sum.Metrics()...); err != nil {
			r.Log.WarnContext(ctx, "record ingest metrics", "err", err)
		}
	}
	if r.AfterRun != nil {
		r.AfterRun(ctx, sum)
	}
	return sum, nil
}

// ingestFeed fetches, parses and stores one feed and records the outcome on
// it. A panic in any of that is one feed's failure, not the run's.
func (r *Runner) ingestFeed(ctx context.Context, f feeds.Feed) (res FeedResult) {
	start := r.Now()
	res = FeedResult{FeedID: f.ID, Society: f.Society, URL: f.URL}
	var outcome feeds.Outcome
	defer func() {
		if p := recover(); p != nil {
			r.Log.ErrorContext(ctx, "feed ingest panicked", "feed", f.ID, "panic", p, "stack", string(debug.Stack()))
			outcome = feeds.Outcome{Status: feeds.StatusFailed, Err: fmt.Errorf("internal error: %v", p), ClearValidators: true}
			res.New, res.Updated, res.Unchanged, res.Skipped, res.NewKeys = 0, 0, 0, 0, nil
		}
		r.Policy.Record(&f, outcome, r.Now().UTC())
		if err := r.Feeds.SaveFetch(ctx, f, res.New); err != nil {
			r.Log.ErrorContext(ctx, "save feed state", "feed", f.ID, "err", err)
		}
		res.Status, res.Error = outcome.Status, f.LastError
		res.DurationMS = r.Now().Sub(start).Milliseconds()
		level := slog.LevelInfo
		if res.Error != "" {
			level = slog.LevelWarn
		}
		r.Log.Log(ctx, level, "feed ingested", "feed", f.ID, "url", res.URL, "status", res.Status,
			"items_new", res.New, "items_updated", res.Updated, "items_unchanged", res.Unchanged, "items_skipped", res.Skipped, "error", res.Error, "duration_ms", res.DurationMS)
	}()
	outcome = r.fetchAndStore(ctx, f, &res)
	return res
}

func (r *Runner) fetchAndStore(ctx context.Context, f feeds.Feed, res *FeedResult) feeds.Outcome {
	resp, err := r.Fetcher.Fetch(ctx, httpfeed.Request{URL: f.URL, ETag: f.ETag, LastModified: f.LastModified})
	if err != nil {
		var status *httpfeed.StatusError
		if errors.As(err, &status) {
			if status.StatusCode == 410 {
				return feeds.Outcome{Status: feeds.StatusGone, Err: err}
			}
			return feeds.Outcome{Status: feeds.StatusFailed, Err: err, Wait: status.RetryAfter}
		}
		return feeds.Outcome{Status: feeds.StatusFailed, Err: err}
	}
	outcome := feeds.Outcome{ETag: resp.ETag, LastModified: resp.LastModified, PermanentURL: resp.PermanentURL, Wait: resp.MaxAge}
	if resp.NotModified {
		outcome.Status = feeds.StatusUnchanged
		return outcome
	}
	now := r.Now().UTC()
	doc, err := r.Parser.Scan(resp.Body, resp.ContentType, resp.FinalURL, now)
	if err != nil {
		// Forget the validators: a 304 must not hide a feed we could not read.
		return feeds.Outcome{Status: feeds.StatusFailed, Err: err, ClearValidators: true}
	}
	if err := r.store(ctx, f, doc.Entries, now, res); err != nil {
		return feeds.Outcome{Status: feeds.StatusFailed, Err: err, ClearValidators: true}
	}
	outcome.Status = feeds.StatusOK
	outcome.Wait = max(outcome.Wait, doc.TTL)
	return outcome
}

// store writes the feed's new and changed items: one batched read of the
// stored hashes for the lot, then one write per new or changed item. An
// entry whose raw hash is the stored one is not normalised, tagged or
// written: a changed feed costs little more than parsing it. Only the
// newest MaxItemsPerFeed distinct entries are considered. An item the store
// rejects is skipped and counted; any other store error fails the feed.
func (r *Runner) store(ctx context.Context, f feeds.Feed, parsed []feedparse.Entry, now time.Time, res *FeedResult) error {
	type keyed struct {
		feedparse.Entry
		key string
	}
	seen := make(map[string]bool, len(parsed))
	fresh := make([]keyed, 0, len(parsed))
	for _, e := range parsed {
		key := items.KeyFor(f.Society, e.GUID)
		if seen[key] {
			continue // a feed listing one entry twice
		}
		seen[key] = true
		fresh = append(fresh, keyed{e, key})
	}
	if limit := cmp.Or(r.MaxItemsPerFeed, DefaultMaxItemsPerFeed); len(fresh) > limit {
		// Stable, so that entries published at the same time keep the
		// feed's order.
		slices.SortStableFunc(fresh, func(a, b keyed) int { return b.Published.Compare(a.Published) })
		r.Log.InfoContext(ctx, "feed has more items than a run stores", "feed", f.ID,
			"items", len(fresh), "stored_at_most", limit)
		fresh = fresh[:limit]
	}
	keys := make([]string, len(fresh))
	for i, e := range fresh {
		keys[i] = e.key
	}
	stored, err := r.Items.Hashes(ctx, keys)
	if err != nil {
		return fmt.Errorf("read stored items: %w", err)
	}
	for _, e := range fresh {
		have, exists := stored[e.key]
		if exists && have.Raw == e.RawHash {
			res.Unchanged++
			continue
		}
		it := e.Item()
		it.Society, it.FeedID, it.Key = f.Society, f.ID, e.key
		if exists && !strings.HasPrefix(have.Raw, feedparse.RawHashVersion) && have.Content == it.ContentHash {
			// Stored before raw hashes, or under an older RawHashVersion,
			// and the same once normalised: not an edit. Its raw hash is
			// recorded so that the next run skips it without normalising;
			// should that fail, the next run only tries again.
			if err := r.Items.SetRawHash(ctx, it.Key, it.RawHash); err != nil {
				r.Log.WarnContext(ctx, "record raw hash", "feed", f.ID, "item", it.Key, "err", err)
			}
			res.Unchanged++
			continue
		}
		it.Topics = r.Tagger.Tag(topics.Text{Title: it.Title, Summary: it.Summary, Categories: e.Categories()},
			topics.FeedTopics{Always: r.Registry.AlwaysTopics(f.ID), Defaults: f.Topics})
		if exists {
			it.UpdatedAt = now
			if err := r.Items.Update(ctx, it); err != nil {
				if r.skipRejected(ctx, f, it, err, res) {
					continue
				}
				return fmt.Errorf("update item %s: %w", it.Key, err)
			}
			res.Updated++
			continue
		}
		it.FirstSeen = now
		r.groupStory(ctx, &it)
		created, err := r.Items.Create(ctx, it)
		if err != nil || !created {
			r.forgetStory(ctx, it.Key)
		}
		if err != nil {
			if r.skipRejected(ctx, f, it, err, res) {
				continue
			}
			return fmt.Errorf("store item %s: %w", it.Key, err)
		}
		if created {
			res.New++
			res.NewKeys = append(res.NewKeys, it.Key)
		}
	}
	return nil
}

// skipRejected reports whether err is the store refusing the item itself,
// counting and logging it as skipped when it is.
func (r *Runner) skipRejected(ctx context.Context, f feeds.Feed, it items.Item, err error, res *FeedResult) bool {
	if !errors.Is(err, items.ErrRejected) {
		return false
	}
	res.Skipped++
	r.Log.WarnContext(ctx, "item skipped: the store rejected it", "feed", f.ID, "item", it.Key,
		"guid", truncateForLog(it.GUID), "err", err)
	return true
}

// truncateForLog keeps a log line short whatever the feed put in a field.
func truncateForLog(s string) string {
	const limit = 200
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
