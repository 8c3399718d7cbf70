package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/digestmail"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/web"
)

// TestArchive serves the archive of an ingested stack on moto: /news
// newest first, its cursor walked to the end on pages of three, the topic
// and society filters, an item's page, and a digest's signed link to the
// reader's own items of the period.
func TestArchive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, srv := newIngestedApp(t)
	all := mustPage(t, a, items.PageQuery{Limit: 200}).Items
	if len(all) != 8 {
		t.Fatalf("%d items ingested, want 8", len(all))
	}
	keys := func(keep func(items.Item) bool) []string {
		var out []string
		for _, it := range all {
			if keep(it) {
				out = append(out, it.Key)
			}
		}
		return out
	}
	everything := keys(func(items.Item) bool { return true })
	for i := 1; i < len(all); i++ {
		if all[i].Published.After(all[i-1].Published) {
			t.Fatalf("the store's listing is not newest first at %d", i)
		}
	}

	// The API's own /news: one page of the default size holds them all.
	if got, older := archiveGet(t, srv.URL+"/news", http.StatusOK); !slices.Equal(got, everything) || older != "" {
		t.Errorf("/news = %v (older %q), want %v", got, older, everything)
	}

	// The same pages on pages of three, to walk the cursor.
	svc, small := smallArchive(t, a)

	topic, society := all[0].Topics[0].ID, all[0].Society
	hasTopic := func(it items.Item) bool { return slices.Contains(it.TopicIDs(), topic) }
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/news", everything},
		{"/news/topic/" + topic, keys(hasTopic)},
		{"/news/society/" + society, keys(func(it items.Item) bool { return it.Society == society })},
	} {
		if got := archiveWalk(t, small.URL, tt.path); !slices.Equal(got, tt.want) {
			t.Errorf("%s walked %v, want %v", tt.path, got, tt.want)
		}
	}
	archiveGet(t, srv.URL+"/news/topic/no-such-topic", http.StatusNotFound)
	archiveGet(t, srv.URL+"/news/society/no-such-society", http.StatusNotFound)
	archiveGet(t, srv.URL+"/news/item/no-such-item", http.StatusNotFound)
	archiveGet(t, srv.URL+"/news?cursor=bm90LWEtY3Vyc29y", http.StatusBadRequest)

	resp, body := httpGet(t, srv.URL+"/news/item/"+all[0].Key, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("item page: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{`href="/news/society/` + society + `"`, `href="/news/topic/` + topic + `"`, "Read the original"} {
		if !strings.Contains(body, want) {
			t.Errorf("item page lacks %q", want)
		}
	}

	// A reader of the first item's topic, from its society: the signed
	// link a digest carries lists exactly their items of the period.
	reader := addConfirmed(t, a, "archive-reader@example.org", subscribers.Preferences{
		Topics: []string{topic}, Societies: []string{society}, Frequency: subscribers.Daily, Hour: 7, TimeZone: "UTC", Format: subscribers.FormatHTML,
	})
	since, until := all[0].FirstSeen.Add(-time.Hour), time.Now()
	want := keys(func(it items.Item) bool { return digest.Matches(reader.Preferences, it) })
	if len(want) == 0 || len(want) == len(all) {
		t.Fatalf("fixtures: the reader matches %d of %d items", len(want), len(all))
	}
	link := svc.ArchiveURL(ctx, reader, since, until)
	if !strings.HasPrefix(link, srv.URL+subscribers.ArchivePathPrefix) {
		t.Fatalf("archive link %q is not on the API's %s", link, subscribers.ArchivePathPrefix)
	}
	if got, _ := archiveGet(t, link, http.StatusOK); !slices.Equal(got, want) {
		t.Errorf("signed link listed %v, want %v", got, want)
	}
	path := strings.TrimPrefix(link, srv.URL)
	if got := archiveWalk(t, small.URL, path); !slices.Equal(got, want) {
		t.Errorf("signed link walked %v, want %v", got, want)
	}
	// A period before any item lists none.
	if got, _ := archiveGet(t, svc.ArchiveURL(ctx, reader, since.Add(-48*time.Hour), since.Add(-24*time.Hour)), http.StatusOK); len(got) != 0 {
		t.Errorf("an empty period listed %v", got)
	}
	archiveGet(t, link[:len(link)-3]+"xyz", http.StatusBadRequest)
	past := *svc
	past.Now = func() time.Time { return time.Now().Add(-91 * 24 * time.Hour) }
	archiveGet(t, past.ArchiveURL(ctx, reader, since, until), http.StatusGone)
	if err := a.Subscribers.Delete(ctx, reader); err != nil {
		t.Fatal(err)
	}
	archiveGet(t, link, http.StatusNotFound)
}

// smallArchive serves the app's subscriber pages with archive pages of
// three items, so that the test's few items take several pages.
func smallArchive(t testing.TB, a *App) (*subscribers.Service, *httptest.Server) {
	t.Helper()
	svc, err := a.SubscriberService(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&web.Handlers{
		Subscribers: svc, Catalog: web.CatalogFrom(a.catalog), Log: a.Log,
		Items: a.Items, Archive: svc, ArchivePageSize: 3,
	}).Register(mux)
	small := httptest.NewServer(mux)
	t.Cleanup(small.Close)
	return svc, small
}

// archiveGet reads an archive page, checks its status, and returns the
// keys of the items it links, in order, and its "Older items" link.
func archiveGet(t *testing.T, u string, status int) (keys []string, older string) {
	t.Helper()
	resp, body := httpGet(t, u, nil)
	if resp.StatusCode != status {
		t.Fatalf("GET %s = %d, want %d\n%s", u, resp.StatusCode, status, body)
	}
	if strings.Contains(body, "<script") {
		t.Errorf("GET %s: an archive page has a script", u)
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "a" {
			continue
		}
		for _, attr := range n.Attr {
			if attr.Key != "href" {
				continue
			}
			if key, ok := strings.CutPrefix(attr.Val, "/news/item/"); ok {
				keys = append(keys, key)
			}
			if n.FirstChild != nil && n.FirstChild.Data == "Older items" {
				older = attr.Val
			}
		}
	}
	return keys, older
}

// archiveWalk follows a listing's "Older items" links from path to its end.
func archiveWalk(t *testing.T, base, path string) []string {
	t.Helper()
	var all []string
	for range 20 {
		keys, older := archiveGet(t, base+path, http.StatusOK)
		all = append(all, keys...)
		if older == "" {
			return all
		}
		path = older
	}
	t.Fatalf("%s does not end", path)
	return nil
}

// TestDigestLinksToReadersArchive renders a digest with more items than a
// mail shows, as the sender does: its "more in the archive" link is the
// reader's signed filter of the mail's period, which opens without login.
// An admin preview of the same mail links the public /news instead.
func TestDigestLinksToReadersArchive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, srv := newIngestedApp(t)
	stored := mustPage(t, a, items.PageQuery{Limit: 200}).Items
	topic := stored[0].Topics[0].ID
	reader := addConfirmed(t, a, "digest-archive@example.org", subscribers.Preferences{
		Topics: []string{topic}, Frequency: subscribers.Daily, Hour: 7, TimeZone: "UTC", Format: subscribers.FormatHTML,
	})
	// More items than a mail shows: copies of a stored one.
	var list []items.Item
	for i := range digestmail.DefaultMaxItems + 5 {
		it := stored[0]
		it.Key = fmt.Sprintf("%s-%d", it.Key, i)
		list = append(list, it)
	}
	keys := make([]string, len(list))
	for i, it := range list {
		keys[i] = it.Key
	}
	job := delivery.Job{Kind: digest.KindDigest, Until: time.Now(), Format: subscribers.FormatHTML, Topics: reader.Preferences.Topics, ItemKeys: keys}
	svc, err := a.SubscriberService(ctx)
	if err != nil {
		t.Fatal(err)
	}
	since := stored[len(stored)-1].FirstSeen.Add(-time.Hour)

	tmpl, err := a.digestRenderer(svc).Compile(ctx, job, list)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := tmpl.Fill(ctx, reader, since, job.Until)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(srv.URL+subscribers.ArchivePathPrefix) + `[A-Za-z0-9_.-]+`).FindString(msg.Text)
	if link == "" {
		t.Fatalf("the digest has no signed archive link:\n%s", msg.Text)
	}
	want := []string{}
	for _, it := range stored {
		if digest.Matches(reader.Preferences, it) {
			want = append(want, it.Key)
		}
	}
	if got, _ := archiveGet(t, link, http.StatusOK); !slices.Equal(got, want) {
		t.Errorf("the digest's archive link lists %v, want %v", got, want)
	}

	preview, err := a.previewRenderer(svc).Compile(ctx, job, list)
	if err != nil {
		t.Fatal(err)
	}
	msg, err = preview.Fill(ctx, reader, since, job.Until)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(msg.Text, subscribers.ArchivePathPrefix) || !strings.Contains(msg.Text, srv.URL+"/news") {
		t.Errorf("a preview's archive link is not the public /news:\n%s", msg.Text)
	}
}
