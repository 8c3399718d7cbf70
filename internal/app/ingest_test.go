package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/items"
)

// TestIngestTwoRuns ingests good and broken feeds of several formats into
// moto, then runs again: unchanged feeds answer 304 and cost no item
// writes, one changed item is updated in place, broken feeds back off.
func TestIngestTwoRuns(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds))
	ctx := context.Background()
	if a.Ingest.Metrics != ingest.Metrics(a.Metrics) || a.Metrics == nil {
		t.Error("the ingest runner does not record its metrics with the app's emitter")
	}

	first, err := a.Ingest.Run(ctx, ingest.TriggerSchedule)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: %+v", withoutFeeds(first))
	if first.FeedsAdded != len(testFeeds) {
		t.Errorf("feeds added = %d, want %d", first.FeedsAdded, len(testFeeds))
	}
	bombOK := resultFor(first, "/broken/bomb").Status == feeds.StatusOK
	wantOK, wantNew := 4, 8
	if bombOK { // inert entities make a (harmless) feed; see the checks below
		wantOK, wantNew = 5, 8+len(mustList(t, a, items.Query{Societies: []string{"broken"}, Limit: 200}))
	}
	if first.FeedsOK != wantOK || first.FeedsFailed != len(testFeeds)-wantOK || first.ItemsNew != wantNew || first.ItemsUpdated != 0 {
		t.Errorf("first run: ok %d failed %d new %d updated %d; want ok %d failed %d new %d updated 0",
			first.FeedsOK, first.FeedsFailed, first.ItemsNew, first.ItemsUpdated, wantOK, len(testFeeds)-wantOK, wantNew)
	}
	for _, path := range []string{"/broken/truncated", "/broken/page", "/broken/500", "/broken/slow", "/broken/big", "/broken/gone"} {
		if res := resultFor(first, path); res.Status == feeds.StatusOK || res.Error == "" {
			t.Errorf("%s: status %q error %q; want a recorded failure", path, res.Status, res.Error)
		}
	}

	stored := mustList(t, a, items.Query{Societies: []string{"esr", "rsna", "acr", "wfumb", "broken"}, Limit: 200})
	byGUID := map[string]items.Item{}
	for _, it := range stored {
		byGUID[it.GUID] = it
		if len(it.Topics) == 0 {
			t.Errorf("%s has no topics", it.GUID)
		}
		if strings.Contains(it.Title, "lollol") || strings.Contains(it.Content, "lollol") {
			t.Errorf("%s: an entity bomb expanded", it.GUID)
		}
		if !strings.HasPrefix(it.Link, "http") && it.Link != "" {
			t.Errorf("%s: link %q is not absolute", it.GUID, it.Link)
		}
	}
	checks := []struct {
		guid, title, link, topic string
		contentLacks             []string
	}{
		{guid: "esr-2026-101", link: fs.URL + "/esr/news/ai-register?id=7", topic: "ai", contentLacks: []string{"<script", "pixel.gif", "utm_"}},
		{guid: "esr-2026-103", link: fs.URL + "/esr/ecr-2027", topic: "events", contentLacks: []string{"javascript:", "onclick"}},
		{guid: "urn:rsna:news:501", link: fs.URL + "/rsna/news/pediatric-dose", topic: "safety"},
		{guid: "urn:rsna:news:502", link: fs.URL + "/rsna/news/burnout-survey", topic: "workforce"},
		{guid: "acr-9001", link: fs.URL + "/acr/news/appropriateness-criteria-update", topic: "guidelines"},
		{guid: "acr-9002", link: fs.URL + "/acr/news/advocacy-reimbursement", topic: "policy"},
		{guid: "wfumb-1", title: "Ultrasound safety statement from the WFUMB Safety Committee (Zürich)", topic: "ultrasound"},
	}
	for _, c := range checks {
		it, ok := byGUID[c.guid]
		if !ok {
			t.Errorf("item %s not stored", c.guid)
			continue
		}
		if c.link != "" && it.Link != c.link {
			t.Errorf("%s: link %q, want %q", c.guid, it.Link, c.link)
		}
		if c.title != "" && it.Title != c.title {
			t.Errorf("%s: title %q, want %q", c.guid, it.Title, c.title)
		}
		if !slices.Contains(it.TopicIDs(), c.topic) {
			t.Errorf("%s: topics %v, want %s among them", c.guid, it.TopicIDs(), c.topic)
		}
		for _, bad := range c.contentLacks {
			if strings.Contains(it.Content, bad) {
				t.Errorf("%s: content keeps %q: %s", c.guid, bad, it.Content)
			}
		}
	}
	if it := byGUID["wfumb-1"]; !strings.Contains(it.Summary, "São Paulo") {
		t.Errorf("latin-1 summary decoded wrongly: %q", it.Summary)
	}
	if it := byGUID["urn:rsna:news:502"]; it.Published.IsZero() || it.Published.Format("2006-01-02") != "2026-11-18" {
		t.Errorf("an entry without <published> takes its <updated>: got %v", it.Published)
	}

	feedsAfterFirst := feedsByPath(t, a, fs.URL)
	if f := feedsAfterFirst["/esr/feed"]; f.ID == "" || f.ID != feeds.IDFor("esr", fs.URL+"/old/esr-feed") {
		t.Errorf("a 301 must move the feed's URL and keep its id: %+v", feedsAfterFirst)
	}
	if f := feedsAfterFirst["/broken/gone"]; f.Enabled || f.LastStatus != feeds.StatusGone {
		t.Errorf("410 feed: enabled %v status %q; want disabled and gone", f.Enabled, f.LastStatus)
	}
	if f := feedsAfterFirst["/broken/500"]; f.ConsecutiveFailures != 1 || !f.NextFetchAt.After(f.LastFetchAt) || f.LastError == "" {
		t.Errorf("failing feed state not recorded: %+v", f)
	}
	if f := feedsAfterFirst["/rsna/feed"]; f.ItemCount != 2 || f.ETag == "" || f.LastStatus != feeds.StatusOK {
		t.Errorf("rsna feed: %+v", f)
	}

	// A scheduled run now skips the broken feeds: they are backing off.
	idle, err := a.Ingest.Run(ctx, ingest.TriggerSchedule)
	if err != nil {
		t.Fatal(err)
	}
	// The good feeds give no TTL or max-age, so they are due again at once.
	if fetched := idle.FeedsOK + idle.FeedsUnchanged + idle.FeedsFailed; fetched != wantOK || idle.FeedsUnchanged != wantOK {
		t.Errorf("scheduled rerun fetched %d feeds (%d unchanged), want the %d good ones, all unchanged", fetched, idle.FeedsUnchanged, wantOK)
	}

	// Each ESR item carries the hash of its raw entry. One is made to look
	// stored before raw hashes were: the next run records its hash without
	// counting it updated.
	esrKeys := []string{items.KeyFor("esr", "esr-2026-101"), items.KeyFor("esr", "esr-2026-102"), items.KeyFor("esr", "esr-2026-103")}
	hashes, err := a.Items.Hashes(ctx, esrKeys)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range esrKeys {
		if h := hashes[k]; !strings.HasPrefix(h.Raw, feedparse.RawHashVersion) || h.Content == "" {
			t.Errorf("stored hashes of %s: %+v", k, h)
		}
	}
	if err := a.Items.SetRawHash(ctx, esrKeys[0], ""); err != nil {
		t.Fatal(err)
	}

	fs.esrTitle.Store("Joint ESR–ERS statement on lung cancer screening updated")
	fs.notModified.Store(0)
	second, err := a.Ingest.Run(ctx, ingest.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second run: %+v", withoutFeeds(second))
	if second.ItemsNew != 0 || second.ItemsUpdated != 1 || second.FeedsUnchanged != 3+btoi(bombOK) {
		t.Errorf("second run: new %d updated %d unchanged %d; want 0, 1, %d", second.ItemsNew, second.ItemsUpdated, second.FeedsUnchanged, 3+btoi(bombOK))
	}
	// The changed ESR feed's other two items were found unchanged by hash.
	if second.ItemsUnchanged != 2 || resultFor(second, "/esr/feed").Unchanged != 2 {
		t.Errorf("second run: %d items unchanged (esr: %+v), want 2", second.ItemsUnchanged, resultFor(second, "/esr/feed"))
	}
	if h, err := a.Items.Hashes(ctx, esrKeys[:1]); err != nil || h[esrKeys[0]].Raw != hashes[esrKeys[0]].Raw {
		t.Errorf("raw hash of an item stored without one: %+v, %v; want it recorded again", h, err)
	}
	if got := fs.notModified.Load(); got != int32(3+btoi(bombOK)) {
		t.Errorf("%d feeds answered 304, want %d", got, 3+btoi(bombOK))
	}
	if got := fs.hitCount("/broken/gone"); got != 1 {
		t.Errorf("the 410 feed was fetched %d times; a disabled feed must not be fetched again", got)
	}
	after := mustList(t, a, items.Query{Societies: []string{"esr"}, Limit: 200})
	for _, it := range after {
		if it.GUID != "esr-2026-102" {
			if it.Updated() {
				t.Errorf("%s marked updated though it did not change", it.GUID)
			}
			continue
		}
		if it.Title != "Joint ESR–ERS statement on lung cancer screening updated" || !it.Updated() {
			t.Errorf("changed item: title %q updated %v", it.Title, it.Updated())
		}
		if !it.FirstSeen.Equal(byGUID["esr-2026-102"].FirstSeen) {
			t.Errorf("an update moved first_seen from %v to %v", byGUID["esr-2026-102"].FirstSeen, it.FirstSeen)
		}
	}
	// The scheduled rerun skipped it (backing off); the manual run did not.
	if f := feedsByPath(t, a, fs.URL)["/broken/500"]; f.ConsecutiveFailures != 2 {
		t.Errorf("consecutive failures = %d, want 2", f.ConsecutiveFailures)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func withoutFeeds(s ingest.Summary) ingest.Summary {
	s.Feeds = nil
	return s
}

func resultFor(s ingest.Summary, path string) ingest.FeedResult {
	for _, r := range s.Feeds {
		if strings.HasSuffix(r.URL, path) {
			return r
		}
	}
	return ingest.FeedResult{}
}

func mustList(t testing.TB, a *App, q items.Query) []items.Item {
	t.Helper()
	list, err := a.Items.List(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func feedsByPath(t testing.TB, a *App, base string) map[string]feeds.Feed {
	t.Helper()
	list, err := a.Feeds.ListFeeds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]feeds.Feed{}
	for _, f := range list {
		m[strings.TrimPrefix(f.URL, base)] = f
	}
	return m
}
