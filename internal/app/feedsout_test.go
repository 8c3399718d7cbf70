package app

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/mmcdole/gofeed"

	"github.com/radiogram/radiogram/internal/feedsout"
	"github.com/radiogram/radiogram/internal/items"
)

// TestFeedsOut serves the feeds of an ingested stack on moto: every format
// for everything, a topic and a society, conditional GET, and 404s.
func TestFeedsOut(t *testing.T) {
	t.Parallel()
	a, srv := newIngestedApp(t)
	all := mustPage(t, a, items.PageQuery{Limit: 200}).Items
	if len(all) != 8 {
		t.Fatalf("%d items ingested, want 8", len(all))
	}
	count := func(keep func(items.Item) bool) int {
		n := 0
		for _, it := range all {
			if keep(it) {
				n++
			}
		}
		return n
	}
	ultrasound := count(func(it items.Item) bool { return slices.Contains(it.TopicIDs(), "ultrasound") })
	esr := count(func(it items.Item) bool { return it.Society == "esr" })
	if ultrasound == 0 || esr == 0 {
		t.Fatalf("fixtures lack ultrasound (%d) or ESR (%d) items", ultrasound, esr)
	}
	tests := []struct {
		path, contentType, feedType string
		items                       int
	}{
		{"/feeds/all.xml", feedsout.ContentTypeRSS, "rss", 8},
		{"/feeds/all.atom", feedsout.ContentTypeAtom, "atom", 8},
		{"/feeds/all.json", feedsout.ContentTypeJSON, "json", 8},
		{"/feeds/topic/ultrasound.xml", feedsout.ContentTypeRSS, "rss", ultrasound},
		{"/feeds/topic/ultrasound.atom", feedsout.ContentTypeAtom, "atom", ultrasound},
		{"/feeds/topic/ultrasound.json", feedsout.ContentTypeJSON, "json", ultrasound},
		{"/feeds/society/esr.xml", feedsout.ContentTypeRSS, "rss", esr},
		{"/feeds/society/esr.atom", feedsout.ContentTypeAtom, "atom", esr},
		{"/feeds/society/esr.json", feedsout.ContentTypeJSON, "json", esr},
	}
	for _, tt := range tests {
		resp, body := httpGet(t, srv.URL+tt.path, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.contentType {
			t.Fatalf("%s: %d %s: %s", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		feed, err := gofeed.NewParser().ParseString(body)
		if err != nil || feed.FeedType != tt.feedType || len(feed.Items) != tt.items {
			t.Fatalf("%s: %v; type %q with %d items, want %q with %d", tt.path, err, feed.FeedType, len(feed.Items), tt.feedType, tt.items)
		}
		for i, it := range feed.Items {
			if it.Link == "" || it.PublishedParsed == nil || (i > 0 && it.PublishedParsed.After(*feed.Items[i-1].PublishedParsed)) {
				t.Errorf("%s: item %d %q has no link or date, or is not newest first", tt.path, i, it.Title)
			}
		}
		if want := stackOf(a).vars["RADIOGRAM_BASE_URL"] + tt.path; feed.FeedLink != want {
			t.Errorf("%s: self link %q, want %q", tt.path, feed.FeedLink, want)
		}
		tag := resp.Header.Get("ETag")
		again, rest := httpGet(t, srv.URL+tt.path, map[string]string{"If-None-Match": tag})
		if again.StatusCode != http.StatusNotModified || rest != "" || resp.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("%s: If-None-Match %s answered %d; Cache-Control %q", tt.path, tag, again.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	for path, reason := range map[string]string{
		"/feeds/topic/astrology.xml": `no topic \"astrology\"`,
		"/feeds/society/nasa.atom":   `no society \"nasa\"`,
		"/feeds/all.rss":             "/feeds/all.xml",
	} {
		resp, body := httpGet(t, srv.URL+path, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, reason) {
			t.Errorf("%s: %d %s, want 404 saying %s", path, resp.StatusCode, body, reason)
		}
	}
}

// TestAdminItemsCursorWalk pages through GET /admin/items three items at a
// time, for everything, a topic and a society, and checks that the pages
// together are the whole listing, newest first, with no repeats or gaps.
func TestAdminItemsCursorWalk(t *testing.T) {
	t.Parallel()
	_, srv := newIngestedApp(t)
	for _, filter := range []string{"", "topic=ultrasound", "society=esr", "society=esr,rsna", "topic=ultrasound&society=wfumb,esr"} {
		status, body := (apiCall{method: "GET", path: "/admin/items?limit=200&" + filter, token: testAdminToken}).do(t, srv.URL)
		if status != 200 || body["next"] != "" {
			t.Fatalf("%s: %d %v", filter, status, body)
		}
		want := ids(body["items"].([]any))
		var got []string
		cursor, pages := "", 0
		for {
			status, body := (apiCall{method: "GET", path: "/admin/items?limit=3&" + filter + "&cursor=" + url.QueryEscape(cursor), token: testAdminToken}).do(t, srv.URL)
			if status != 200 {
				t.Fatalf("%s page %d: %d %v", filter, pages, status, body)
			}
			got = append(got, ids(body["items"].([]any))...)
			pages++
			if cursor = body["next"].(string); cursor == "" || pages > 10 {
				break
			}
		}
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s: pages of 3 gave %v, want %v", filter, got, want)
		}
		if len(want) > 3 && pages < 2 {
			t.Errorf("%s: %d items in %d pages", filter, len(want), pages)
		}
	}

	// A cursor is checked before it is used.
	_, first := (apiCall{method: "GET", path: "/admin/items?limit=2", token: testAdminToken}).do(t, srv.URL)
	next := first["next"].(string)
	for name, path := range map[string]string{
		"not base64":       "/admin/items?cursor=%25%25%25",
		"not JSON":         "/admin/items?cursor=" + "bm90IGpzb24",
		"another listing":  "/admin/items?topic=ultrasound&cursor=" + next,
		"tampered key":     "/admin/items?cursor=" + tamper(t, next),
		"too long":         "/admin/items?cursor=" + strings.Repeat("A", 2000),
		"limit still 400s": "/admin/items?limit=201&cursor=" + next,
	} {
		status, body := (apiCall{method: "GET", path: path, token: testAdminToken}).do(t, srv.URL)
		if status != 400 || body["error"] == "" {
			t.Errorf("%s: %d %v, want a 400 with the reason", name, status, body)
		}
	}
}

// TestItemPagesAcrossYears walks the store's listing of items published
// over many years, one by-published partition each, two at a time.
func TestItemPagesAcrossYears(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:1]))
	ctx := context.Background()
	now := time.Now().UTC()
	var stored []items.Item
	for i, pub := range []time.Time{
		now.Add(20 * time.Hour), now, now.Add(-time.Minute), now.Add(-time.Minute), // two published at the same instant
		time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1995, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		society := []string{"esr", "rsna"}[i%2]
		it := items.Item{Key: items.KeyFor(society, fmt.Sprint("guid-", i)), Society: society, FeedID: society + "-1", GUID: fmt.Sprint("guid-", i),
			Title: fmt.Sprint("Item ", i), Link: fmt.Sprintf("https://example.org/%d", i), Published: pub, FirstSeen: now, Summary: "s",
			Topics: []items.TopicScore{{ID: []string{"ai", "ultrasound", "ai"}[i%3], Score: 1}}}
		if ok, err := a.Items.Create(ctx, it); !ok || err != nil {
			t.Fatalf("create %d: %v %v", i, ok, err)
		}
		stored = append(stored, it)
	}
	// One item stored before the by-published index: ingest's read of its
	// hashes indexes it.
	db := dynamodb.NewFromConfig(a.AWS)
	old := stored[1]
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Config.ItemsTable), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: old.Key}},
		UpdateExpression: aws.String("REMOVE pub_year"),
	}); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(mustPage(t, a, items.PageQuery{Limit: 50}).Items, func(it items.Item) bool { return it.Key == old.Key }) {
		t.Fatal("an item without pub_year is listed")
	}
	if _, err := a.Items.Hashes(ctx, []string{old.Key}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(stored, func(x, y items.Item) int {
		return cmp.Or(y.Published.Compare(x.Published), cmp.Compare(y.Key, x.Key))
	})
	for _, q := range []items.PageQuery{{}, {Topic: "ai"}, {Societies: []string{"rsna"}}, {Societies: []string{"esr", "rsna"}, Topic: "ultrasound"}} {
		var want []string
		for _, it := range stored {
			if (q.Topic == "" || it.Topics[0].ID == q.Topic) && (len(q.Societies) == 0 || slices.Contains(q.Societies, it.Society)) {
				want = append(want, it.Key)
			}
		}
		var got []string
		q.Limit = 2
		for range 20 {
			page := mustPage(t, a, q)
			for _, it := range page.Items {
				got = append(got, it.Key)
			}
			if q.Cursor = page.Next; q.Cursor == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%+v: walked %v, want %v", q, got, want)
		}
	}
}

func mustPage(t testing.TB, a *App, q items.PageQuery) items.Page {
	t.Helper()
	page, err := a.Items.Page(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

func ids(list []any) []string {
	out := make([]string, len(list))
	for i, raw := range list {
		out[i] = raw.(map[string]any)["id"].(string)
	}
	return out
}

// tamper changes the item key inside a cursor, keeping its form.
func tamper(t *testing.T, cursor string) string {
	t.Helper()
	raw, err := decodeB64(cursor)
	if err != nil {
		t.Fatal(err)
	}
	return encodeB64(strings.Replace(raw, `#`, `#x'; DROP`, 1))
}

func httpGet(t *testing.T, u string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func decodeB64(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}

func encodeB64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
