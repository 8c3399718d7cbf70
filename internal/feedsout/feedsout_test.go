package feedsout

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/radiogram/radiogram/internal/items"
)

var published = time.Date(2026, 11, 29, 8, 30, 0, 0, time.UTC)

// testItems are three items, newest first: one with HTML content, one
// updated, one with a hostile title and characters XML cannot carry.
func testItems() []items.Item {
	return []items.Item{
		{Key: "esr-aaa", Society: "esr", Title: "AI in mammography: ESR statement", Link: "https://www.myesr.org/news/ai",
			Published: published, FirstSeen: published.Add(time.Hour), Summary: "The ESR publishes its statement.",
			Content: `<p>The ESR <b>publishes</b> its statement &amp; more.</p>`, Topics: []items.TopicScore{{ID: "ai", Score: 5}}},
		{Key: "rsna-bbb", Society: "rsna", Title: "Dose limits revised", Link: "https://www.rsna.org/news/dose",
			Published: published.Add(-24 * time.Hour), FirstSeen: published.Add(-23 * time.Hour), UpdatedAt: published.Add(2 * time.Hour),
			Summary: "New limits.", Topics: []items.TopicScore{{ID: "safety", Score: 3}, {ID: "ai", Score: 1}}},
		{Key: "esr-ccc", Society: "esr", Title: "</title><script>alert(1)</script> \x01 ]]> café", Link: "https://www.myesr.org/news/x?a=1&b=2",
			Published: published.Add(-48 * time.Hour), FirstSeen: published.Add(-47 * time.Hour)},
	}
}

func testFeed() Feed {
	return Feed{ID: "topic/ai", Title: "Radiogram · AI & informatics", Description: "AI news",
		Home: "https://news.example.org/news/topic/ai", Self: "https://news.example.org/feeds/topic/ai.xml",
		Items: testItems(), TopicName: func(id string) string { return map[string]string{"ai": "AI & informatics"}[id] }}
}

func TestRenderedFeedsParse(t *testing.T) {
	tests := []struct {
		name   string
		render func(Feed) ([]byte, error)
		typ    string
		xml    bool
	}{
		{"rss", RSS, "rss", true},
		{"atom", Atom, "atom", true},
		{"json", JSONFeed, "json", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.render(testFeed())
			if err != nil {
				t.Fatal(err)
			}
			if tt.xml {
				wellFormed(t, out)
			}
			feed, err := gofeed.NewParser().ParseString(string(out))
			if err != nil {
				t.Fatalf("gofeed: %v\n%s", err, out)
			}
			if feed.FeedType != tt.typ {
				t.Errorf("feed type %q, want %q", feed.FeedType, tt.typ)
			}
			if feed.Title != "Radiogram · AI & informatics" {
				t.Errorf("title %q", feed.Title)
			}
			if feed.Link != "https://news.example.org/news/topic/ai" {
				t.Errorf("link %q", feed.Link)
			}
			if feed.FeedLink != "https://news.example.org/feeds/topic/ai.xml" {
				t.Errorf("feed link %q", feed.FeedLink)
			}
			if len(feed.Items) != 3 {
				t.Fatalf("%d items, want 3", len(feed.Items))
			}
			want := testItems()
			for i, it := range feed.Items {
				if it.Link != want[i].Link {
					t.Errorf("item %d links %q, want %q", i, it.Link, want[i].Link)
				}
				if it.PublishedParsed == nil || !it.PublishedParsed.Equal(want[i].Published) {
					t.Errorf("item %d published %v, want %v", i, it.PublishedParsed, want[i].Published)
				}
				if it.GUID != "tag:radiogram,2026:item/"+want[i].Key {
					t.Errorf("item %d id %q", i, it.GUID)
				}
			}
			wantContent := testItems()[0].Content + `<p><a href="https://www.myesr.org/news/ai">Read on myesr.org →</a></p>`
			if got := feed.Items[0].Content; got != wantContent {
				t.Errorf("content %q, want the stored HTML and the original link", got)
			}
			if got := feed.Items[1].Content; got != `<p>New limits.</p><p><a href="https://www.rsna.org/news/dose">Read on rsna.org →</a></p>` {
				t.Errorf("content %q, want the summary and the original link", got)
			}
			if got := feed.Items[2].Content; !strings.Contains(got, `href="https://www.myesr.org/news/x?a=1&amp;b=2"`) {
				t.Errorf("content %q, want the link escaped", got)
			}
			if got := feed.Items[1].Categories; !slices.Equal(got, []string{"safety", "AI & informatics"}) {
				t.Errorf("categories %q", got)
			}
			if tt.name != "rss" {
				if u := feed.Items[1].UpdatedParsed; u == nil || !u.Equal(published.Add(2*time.Hour)) {
					t.Errorf("updated %v", u)
				}
			}
			if title := feed.Items[2].Title; !strings.Contains(title, "<script>alert(1)</script>") || !strings.Contains(title, "café") {
				t.Errorf("hostile title not carried as text: %q", title)
			}
		})
	}
}

// wellFormed reads every token of an XML document.
func wellFormed(t *testing.T, doc []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, doc)
		}
	}
}

func TestEmptyFeedsParse(t *testing.T) {
	f := testFeed()
	f.Items = nil
	for _, render := range []func(Feed) ([]byte, error){RSS, Atom, JSONFeed} {
		out, err := render(f)
		if err != nil {
			t.Fatal(err)
		}
		feed, err := gofeed.NewParser().ParseString(string(out))
		if err != nil || len(feed.Items) != 0 {
			t.Errorf("empty feed: %v, %+v\n%s", err, feed, out)
		}
	}
}

// fakeItems answers every listing from list, recording the queries.
type fakeItems struct {
	list    []items.Item
	err     error
	queries []items.PageQuery
}

func (f *fakeItems) Page(_ context.Context, q items.PageQuery) (items.Page, error) {
	f.queries = append(f.queries, q)
	var out []items.Item
	for _, it := range f.list {
		if (q.Topic == "" || slices.Contains(it.TopicIDs(), q.Topic)) && (len(q.Societies) == 0 || slices.Contains(q.Societies, it.Society)) {
			out = append(out, it)
		}
	}
	return items.Page{Items: out[:min(len(out), q.Limit)]}, f.err
}

func newHandler(store *fakeItems) http.Handler {
	h := &Handlers{
		Items: store,
		Topic: func(id string) (string, bool) {
			return map[string]string{"ai": "AI & informatics", "safety": "Safety"}[id], id == "ai" || id == "safety"
		},
		KnownSociety: func(id string) bool { return id == "esr" || id == "rsna" || id == "isr" },
		BaseURL:      "https://news.example.org/",
	}
	mux := http.NewServeMux()
	h.Register(mux)
	return mux
}

func get(h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRoutes(t *testing.T) {
	store := &fakeItems{list: testItems()}
	h := newHandler(store)
	tests := []struct {
		path, contentType string
		status, items     int
		title             string
	}{
		{"/feeds/all.xml", ContentTypeRSS, 200, 3, "Radiogram · all news"},
		{"/feeds/all.atom", ContentTypeAtom, 200, 3, "Radiogram · all news"},
		{"/feeds/all.json", ContentTypeJSON, 200, 3, "Radiogram · all news"},
		{"/feeds/topic/ai.xml", ContentTypeRSS, 200, 2, "Radiogram · AI & informatics"},
		{"/feeds/topic/safety.atom", ContentTypeAtom, 200, 1, "Radiogram · Safety"},
		{"/feeds/society/esr.json", ContentTypeJSON, 200, 2, "Radiogram · ESR"},
		{"/feeds/society/isr.xml", ContentTypeRSS, 200, 0, "Radiogram · ISR"}, // known, nothing published yet
		{"/feeds/topic/astrology.xml", "", 404, 0, `no topic \"astrology\"`},
		{"/feeds/society/nasa.atom", "", 404, 0, `no society \"nasa\"`},
		{"/feeds/all.html", "", 404, 0, "/feeds/all.xml"},
		{"/feeds/everything.xml", "", 404, 0, "/feeds/all.xml"},
		{"/feeds/topic/ai", "", 404, 0, "/feeds/topic/{id}.xml"},
		{"/feeds/topic/AI%3Cx%3E.xml", "", 404, 0, "/feeds/topic/{id}.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := get(h, tt.path)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != 200 {
				if !strings.Contains(rec.Body.String(), tt.title) {
					t.Errorf("reason %s, want it to mention %s", rec.Body, tt.title)
				}
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("content type %q, want %q", got, tt.contentType)
			}
			if got := rec.Header().Get("Cache-Control"); got != "public, max-age=300" {
				t.Errorf("cache control %q", got)
			}
			if rec.Header().Get("ETag") == "" || rec.Header().Get("Last-Modified") == "" {
				t.Errorf("no validators: %v", rec.Header())
			}
			feed, err := gofeed.NewParser().ParseString(rec.Body.String())
			if err != nil {
				t.Fatal(err)
			}
			if len(feed.Items) != tt.items || feed.Title != tt.title {
				t.Errorf("%d items titled %q, want %d titled %q", len(feed.Items), feed.Title, tt.items, tt.title)
			}
			if want := "https://news.example.org" + tt.path; feed.FeedLink != want {
				t.Errorf("self link %q, want %q", feed.FeedLink, want)
			}
		})
	}
	for _, q := range store.queries {
		if q.Limit != Latest {
			t.Errorf("asked for %d items, want the latest %d", q.Limit, Latest)
		}
	}
}

func TestConditionalGet(t *testing.T) {
	store := &fakeItems{list: testItems()}
	h := newHandler(store)
	first := get(h, "/feeds/all.atom")
	tag := first.Header().Get("ETag")
	if !strings.HasPrefix(tag, `"`) || strings.HasPrefix(tag, "W/") {
		t.Fatalf("ETag %q is not a strong validator", tag)
	}
	if again := get(h, "/feeds/all.atom"); again.Header().Get("ETag") != tag || again.Body.String() != first.Body.String() {
		t.Error("the same items gave another ETag or document")
	}
	if other := get(h, "/feeds/all.json"); other.Header().Get("ETag") == tag {
		t.Error("two formats share an ETag")
	}
	for _, inm := range []string{tag, `"x", ` + tag, "W/" + tag, "*"} {
		rec := get(h, "/feeds/all.atom", "If-None-Match", inm)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 || rec.Header().Get("ETag") != tag {
			t.Errorf("If-None-Match %s: %d %q", inm, rec.Code, rec.Body)
		}
	}
	if rec := get(h, "/feeds/all.atom", "If-None-Match", `"stale"`); rec.Code != http.StatusOK {
		t.Errorf("a stale ETag answered %d", rec.Code)
	}
	lastMod := first.Header().Get("Last-Modified")
	if rec := get(h, "/feeds/all.atom", "If-Modified-Since", lastMod); rec.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since %s answered %d", lastMod, rec.Code)
	}
	// An updated item is a new document.
	store.list[2].UpdatedAt = published.Add(5 * time.Hour)
	rec := get(h, "/feeds/all.atom", "If-None-Match", tag)
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") == tag {
		t.Errorf("after an update: %d with ETag %s", rec.Code, rec.Header().Get("ETag"))
	}
	if rec := get(h, "/feeds/all.atom", "If-Modified-Since", lastMod); rec.Code != http.StatusOK {
		t.Errorf("after an update, If-Modified-Since answered %d", rec.Code)
	}
}

func TestStoreFailureIsA500WithoutDetail(t *testing.T) {
	h := newHandler(&fakeItems{err: errors.New("dynamodb: secret detail")})
	rec := get(h, "/feeds/all.xml")
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestCacheSparesTheStore(t *testing.T) {
	store := &fakeItems{list: testItems()}
	now := published
	h := &Handlers{Items: store, Topic: func(string) (string, bool) { return "", false }, KnownSociety: func(string) bool { return true },
		CacheFor: time.Minute, Now: func() time.Time { return now }}
	mux := http.NewServeMux()
	h.Register(mux)
	first := get(mux, "/feeds/all.xml")
	get(mux, "/feeds/all.json")
	get(mux, "/feeds/society/esr.atom")
	if len(store.queries) != 2 {
		t.Errorf("%d reads of the store, want one per listing", len(store.queries))
	}
	store.list[0].UpdatedAt = published.Add(3 * time.Hour)
	now = now.Add(59 * time.Second)
	if again := get(mux, "/feeds/all.xml"); again.Header().Get("ETag") != first.Header().Get("ETag") || len(store.queries) != 2 {
		t.Error("the cache was not used within its minute")
	}
	now = now.Add(time.Second)
	if later := get(mux, "/feeds/all.xml"); later.Header().Get("ETag") == first.Header().Get("ETag") || len(store.queries) != 3 {
		t.Error("the cache outlived its minute")
	}
	// An empty listing is not kept: it may be an unknown society's.
	get(mux, "/feeds/society/nasa.xml")
	get(mux, "/feeds/society/nasa.xml")
	if len(store.queries) != 5 {
		t.Errorf("%d reads, want the empty listing read each time", len(store.queries))
	}
}
