package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// fakeItems is an in-memory ItemReader: its cursors are "c" + the last
// item's key, and only its own listing's keys are accepted.
type fakeItems struct {
	list []items.Item // newest published first
	fail error
}

func (f *fakeItems) Page(_ context.Context, q items.PageQuery) (items.Page, error) {
	if f.fail != nil {
		return items.Page{}, f.fail
	}
	var match []items.Item
	for _, it := range f.list {
		if q.Topic != "" && !slices.ContainsFunc(it.Topics, func(t items.TopicScore) bool { return t.ID == q.Topic }) {
			continue
		}
		if len(q.Societies) > 0 && !slices.Contains(q.Societies, it.Society) {
			continue
		}
		match = append(match, it)
	}
	start := 0
	if q.Cursor != "" {
		i := slices.IndexFunc(match, func(it items.Item) bool { return "c"+it.Key == q.Cursor })
		if i < 0 {
			return items.Page{}, fmt.Errorf("%w: unknown", items.ErrBadCursor)
		}
		start = i + 1
	}
	end := min(start+q.Limit, len(match))
	p := items.Page{Items: match[start:end]}
	if end < len(match) {
		p.Next = "c" + match[end-1].Key
	}
	return p, nil
}

func (f *fakeItems) GetMany(_ context.Context, keys []string) ([]items.Item, error) {
	var out []items.Item
	for _, it := range f.list {
		if slices.Contains(keys, it.Key) {
			out = append(out, it)
		}
	}
	return out, f.fail
}

func (f *fakeItems) IngestedBetween(_ context.Context, since, until time.Time) ([]items.Item, error) {
	var out []items.Item
	for _, it := range f.list {
		if it.FirstSeen.After(since) && !it.FirstSeen.After(until) {
			out = append(out, it)
		}
	}
	return out, f.fail
}

// fakePeriods verifies "ok:<id>" for the period of day 1 to 2, "expired"
// as expired, and refuses anything else.
type fakePeriods struct{ subs *fakeSubscribers }

var periodSince, periodUntil = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func (f fakePeriods) ArchivePeriod(_ context.Context, token string) (subscribers.Subscriber, time.Time, time.Time, error) {
	if token == "expired" {
		return subscribers.Subscriber{}, time.Time{}, time.Time{}, subscribers.ErrExpiredToken
	}
	id, ok := strings.CutPrefix(token, "ok:")
	if !ok {
		return subscribers.Subscriber{}, time.Time{}, time.Time{}, subscribers.ErrInvalidToken
	}
	sub, found := f.subs.get(id)
	if !found {
		return subscribers.Subscriber{}, time.Time{}, time.Time{}, subscribers.ErrNotFound
	}
	return sub, periodSince, periodUntil, nil
}

// archiveItems are 45 items, one an hour back from the period's end,
// alternating topics ai/education and societies esr/acr.
func archiveItems() []items.Item {
	var list []items.Item
	for i := range 45 {
		at := periodUntil.Add(-time.Duration(i)*time.Hour - time.Minute)
		topic, society := "ai", "esr"
		if i%2 == 1 {
			topic, society = "education", "acr"
		}
		list = append(list, items.Item{
			Key: fmt.Sprintf("item-%02d", i), Society: society, Title: fmt.Sprintf("Item <%d>", i),
			Link: fmt.Sprintf("https://%s.example/news/%d", society, i), Published: at, FirstSeen: at,
			Summary: "Summary " + fmt.Sprint(i), Topics: []items.TopicScore{{ID: topic, Score: 1}},
		})
	}
	return list
}

func newArchiveHarness(t testing.TB) (*harness, *fakeItems) {
	t.Helper()
	return newArchiveHarnessWith(t, archiveItems(), 0)
}

// newArchiveHarnessWith serves list, pageSize items a page (0: the
// default).
func newArchiveHarnessWith(t testing.TB, list []items.Item, pageSize int) (*harness, *fakeItems) {
	t.Helper()
	h := &harness{fake: newFake(testCatalog()), logs: new(bytes.Buffer), catalog: testCatalog()}
	h.fake.add(jane)
	h.fake.add(pat)
	store := &fakeItems{list: list}
	mux := http.NewServeMux()
	(&Handlers{
		Subscribers:     h.fake,
		Catalog:         func(context.Context) (Catalog, error) { return h.catalog, nil },
		Log:             slog.New(slog.NewTextHandler(h.logs, nil)),
		Items:           store,
		Archive:         fakePeriods{h.fake},
		ArchivePageSize: pageSize,
	}).Register(mux)
	h.handler = mux
	return h, store
}

// itemLinks are the item-page links of a listing, in order, and its
// "Older items" link.
func itemLinks(t *testing.T, body string) (links []string, older string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "a" {
			continue
		}
		for _, a := range n.Attr {
			if a.Key != "href" {
				continue
			}
			if strings.HasPrefix(a.Val, "/news/item/") {
				links = append(links, strings.TrimPrefix(a.Val, "/news/item/"))
			}
			if n.FirstChild != nil && n.FirstChild.Data == "Older items" {
				older = a.Val
			}
		}
	}
	return links, older
}

// walk follows a listing's "Older items" links to its end.
func walk(t *testing.T, h *harness, target string) []string {
	t.Helper()
	var all []string
	for pages := 0; target != ""; pages++ {
		if pages > 10 {
			t.Fatal("the listing does not end")
		}
		rec := h.do("GET", target, "", "")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d\n%s", target, rec.Code, rec.Body)
		}
		links, older := itemLinks(t, rec.Body.String())
		if older != "" && len(links) != archivePageSize {
			t.Errorf("GET %s: %d items on a page with an older one, want %d", target, len(links), archivePageSize)
		}
		all = append(all, links...)
		target = older
	}
	return all
}

func keysWhere(keep func(items.Item) bool) []string {
	var keys []string
	for _, it := range archiveItems() {
		if keep(it) {
			keys = append(keys, it.Key)
		}
	}
	return keys
}

func TestArchiveListings(t *testing.T) {
	h, _ := newArchiveHarness(t)
	all := func(items.Item) bool { return true }
	tests := []struct {
		target string
		keep   func(items.Item) bool
		feed   string
	}{
		{"/news", all, "/feeds/all"},
		{"/news/topic/ai", func(it items.Item) bool { return it.Topics[0].ID == "ai" }, "/feeds/topic/ai"},
		{"/news/society/acr", func(it items.Item) bool { return it.Society == "acr" }, "/feeds/society/acr"},
		{"/news/topic/cancer", func(items.Item) bool { return false }, "/feeds/topic/cancer"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			if got, want := walk(t, h, tt.target), keysWhere(tt.keep); !slices.Equal(got, want) {
				t.Errorf("items = %v\nwant %v", got, want)
			}
			rec := h.do("GET", tt.target, "", "")
			body := rec.Body.String()
			for _, ext := range []string{".xml", ".atom", ".json"} {
				if strings.Count(body, `href="`+tt.feed+ext+`"`) != 2 {
					t.Errorf("want a <link rel=alternate> and a visible link to %s%s", tt.feed, ext)
				}
			}
			if strings.Contains(body, "<script") {
				t.Error("an archive page has a script")
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'none'") {
				t.Errorf("CSP = %q", csp)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != archiveCache {
				t.Errorf("Cache-Control = %q", cc)
			}
		})
	}
}

func TestArchiveEscapes(t *testing.T) {
	h, _ := newArchiveHarness(t)
	body := h.do("GET", "/news", "", "").Body.String()
	if !strings.Contains(body, "Item &lt;0&gt;") || strings.Contains(body, "Item <0>") {
		t.Error("titles are not escaped")
	}
}

func TestArchiveItemPage(t *testing.T) {
	h, _ := newArchiveHarness(t)
	rec := h.do("GET", "/news/item/item-01", "", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d\n%s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"<h1>Item &lt;1&gt;</h1>", `href="https://acr.example/news/1"`, `href="/news/topic/education">Education &amp; training</a>`,
		`href="/news/society/acr">American College of Radiology</a>`, "29 Nov 2026", "Summary 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("item page lacks %q", want)
		}
	}
}

func TestArchiveProblems(t *testing.T) {
	h, _ := newArchiveHarness(t)
	tests := []struct {
		target string
		status int
		reason string
	}{
		{"/news/topic/nope", http.StatusNotFound, "no topic"},
		{"/news/topic/..%2Fx", http.StatusNotFound, "no topic"},
		{"/news/society/nope", http.StatusNotFound, "no society"},
		{"/news/item/nope", http.StatusNotFound, "no item"},
		{"/news/item/A%20B", http.StatusNotFound, "no item"},
		{"/news?cursor=garbage", http.StatusBadRequest, "not one this listing handed out"},
		{"/news/topic/ai?cursor=citem-01", http.StatusBadRequest, "not one this listing handed out"}, // an education item
		{"/news/for/forged", http.StatusBadRequest, "not valid"},
		{"/news/for/expired", http.StatusGone, "expired"},
		{"/news/for/ok:gone", http.StatusNotFound, "no longer exists"},
		{"/news/for/ok:s1?cursor=item-01", http.StatusBadRequest, "not one this listing handed out"}, // not one of jane's
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := h.do("GET", tt.target, "", "")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d\n%s", rec.Code, tt.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.reason) {
				t.Errorf("body lacks %q:\n%s", tt.reason, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "<script") {
				t.Error("an archive error page has a script")
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, an error must not be kept", cc)
			}
		})
	}
}

func TestArchiveStoreFailureIsA500Page(t *testing.T) {
	h, store := newArchiveHarness(t)
	store.fail = io.ErrUnexpectedEOF
	rec := h.do("GET", "/news", "", "")
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "Something went wrong") {
		t.Errorf("status %d\n%s", rec.Code, rec.Body)
	}
}

func TestArchiveForReader(t *testing.T) {
	h, _ := newArchiveHarness(t)
	// jane follows ai and cancer from every society: the ai items first
	// seen in the period, a day of 24 hourly items.
	want := keysWhere(func(it items.Item) bool {
		return it.Topics[0].ID == "ai" && it.FirstSeen.After(periodSince) && !it.FirstSeen.After(periodUntil)
	})
	if len(want) != 12 {
		t.Fatalf("fixture: %d items, want 12", len(want))
	}
	if got := walk(t, h, "/news/for/ok:s1"); !slices.Equal(got, want) {
		t.Errorf("items = %v\nwant %v", got, want)
	}
	rec := h.do("GET", "/news/for/ok:s1", "", "")
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, a reader's page must not be kept", cc)
	}
	if !strings.Contains(rec.Body.String(), "29–30 Nov 2026") {
		t.Errorf("the page does not name the period:\n%s", rec.Body)
	}
	// pat follows education from esr: no item is both.
	if got := walk(t, h, "/news/for/ok:s2"); len(got) != 0 {
		t.Errorf("pat's items = %v, want none", got)
	}
}

func TestArchivePeriodNames(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 7, 0, 0, 0, time.UTC) }
	tests := []struct {
		since, until time.Time
		want         string
	}{
		{d(2026, 11, 29), d(2026, 11, 30), "29–30 Nov 2026"},
		{d(2026, 10, 28), d(2026, 11, 4), "28 Oct – 4 Nov 2026"},
		{d(2025, 12, 29), d(2026, 1, 5), "29 Dec 2025 – 5 Jan 2026"},
		{d(2026, 11, 30), d(2026, 11, 30).Add(time.Hour), "30 Nov 2026"},
	}
	for _, tt := range tests {
		if got := period(tt.since, tt.until, time.UTC); got != tt.want {
			t.Errorf("period(%v, %v) = %q, want %q", tt.since, tt.until, got, tt.want)
		}
	}
}

// TestArchiveForReaderPhrases: the archive link lists what the reader's
// keywords and mute words choose, as their mail does.
func TestArchiveForReaderPhrases(t *testing.T) {
	h, _ := newArchiveHarness(t)
	sam := jane
	sam.ID, sam.Email = "s3", "sam@example.org"
	sam.Preferences.Topics = []string{"ai"}
	sam.Preferences.Keywords = []string{"item 3"} // item-03, of education
	sam.Preferences.Mute = []string{"summary 4"}  // item-04, of ai
	h.fake.add(sam)
	want := keysWhere(func(it items.Item) bool {
		inPeriod := it.FirstSeen.After(periodSince) && !it.FirstSeen.After(periodUntil)
		return inPeriod && ((it.Topics[0].ID == "ai" && it.Key != "item-04") || it.Key == "item-03")
	})
	if got := walk(t, h, "/news/for/ok:s3"); !slices.Equal(got, want) {
		t.Errorf("items = %v\nwant %v", got, want)
	}
	if body := h.do("GET", "/news/for/ok:s3", "", "").Body.String(); !strings.Contains(body, "on your topics or keywords and from your societies, less those your mute words match") {
		t.Errorf("the lead does not say keywords and mute words choose:\n%s", body)
	}
}
