package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/ingest"
)

// newTestAPI serves the app's API on loopback, at the address the stack's
// PublicBaseUrl gives the links in mails.
func newTestAPI(t testing.TB, a *App) *httptest.Server {
	t.Helper()
	srv := stackOf(a).server
	h, err := a.APIHandler(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	return srv
}

type apiCall struct {
	method, path, body, token, contentType string
}

func (c apiCall) do(t *testing.T, base string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &body); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %q", c.method, c.path, data)
		}
	}
	return resp.StatusCode, body
}

// TestAdminAPI drives the admin routes over HTTP against moto: auth, the
// feed registry, a manual ingest, item listings and every kind of bad input.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:4]))
	srv := newTestAPI(t, a)
	const token = testAdminToken

	// An ingest runs after the answer, in the ingest function.
	run := ingestRun(t, srv.URL, startIngest(t, srv.URL))
	if consumeIngests(t, a) != 1 {
		t.Fatal("no ingest request queued")
	}
	if run = ingestRun(t, srv.URL, run.ID); run.Status != "done" || run.Summary.ItemsNew != 8 || run.Summary.FeedsOK != 4 {
		t.Fatalf("manual ingest: %+v", run)
	}

	newFeed := `{"society":"isr","name":"International Society of Radiology","url":"` + fs.URL + `/rsna/feed","topics":["education"]}`
	tests := []struct {
		name       string
		call       apiCall
		wantStatus int
		check      func(t *testing.T, body map[string]any)
	}{
		{name: "no token", call: apiCall{method: "GET", path: "/admin/feeds"}, wantStatus: 401},
		{name: "wrong token", call: apiCall{method: "GET", path: "/admin/feeds", token: "guess"}, wantStatus: 401},
		{name: "token prefix is not the token", call: apiCall{method: "GET", path: "/admin/feeds", token: token[:5]}, wantStatus: 401},
		{name: "list feeds with health", call: apiCall{method: "GET", path: "/admin/feeds", token: token}, wantStatus: 200, check: func(t *testing.T, body map[string]any) {
			list := body["feeds"].([]any)
			if len(list) != 4 {
				t.Fatalf("%d feeds, want 4", len(list))
			}
			f := list[0].(map[string]any)
			for _, field := range []string{"id", "society", "url", "enabled", "last_status", "last_fetch_at", "consecutive_failures", "item_count"} {
				if _, ok := f[field]; !ok {
					t.Errorf("feed lacks %q: %v", field, f)
				}
			}
		}},
		{name: "register a feed", call: apiCall{method: "POST", path: "/admin/feeds", token: token, body: newFeed, contentType: "application/json"}, wantStatus: 201, check: func(t *testing.T, body map[string]any) {
			if body["society"] != "isr" || body["enabled"] != true || !strings.HasPrefix(body["id"].(string), "isr-") {
				t.Errorf("created feed: %v", body)
			}
		}},
		{name: "register it twice", call: apiCall{method: "POST", path: "/admin/feeds", token: token, body: newFeed}, wantStatus: 409},
		{name: "feed with ftp url", call: apiCall{method: "POST", path: "/admin/feeds", token: token, body: `{"society":"isr","name":"ISR","url":"ftp://x.org/feed"}`}, wantStatus: 400},
		{name: "feed with unknown topic", call: apiCall{method: "POST", path: "/admin/feeds", token: token, body: `{"society":"isr","name":"ISR","url":"https://x.org/feed","topics":["astrology"]}`}, wantStatus: 400},
		{name: "feed with unknown field", call: apiCall{method: "POST", path: "/admin/feeds", token: token, body: `{"society":"isr","name":"ISR","url":"https://x.org/feed","colour":"red"}`}, wantStatus: 400},
		{name: "feed body not JSON", call: apiCall{method: "POST", path: "/admin/feeds", token: token, body: `society=isr`}, wantStatus: 400},
		{name: "feed body as form", call: apiCall{method: "POST", path: "/admin/feeds", token: token, body: `society=isr`, contentType: "application/x-www-form-urlencoded"}, wantStatus: 415},
		{name: "feed body too large", call: apiCall{method: "POST", path: "/admin/feeds", token: token, body: `{"name":"` + strings.Repeat("x", 70<<10) + `"}`}, wantStatus: 413},
		{name: "two JSON objects", call: apiCall{method: "POST", path: "/admin/feeds", token: token, body: newFeed + newFeed}, wantStatus: 400},
		{name: "delete unknown feed", call: apiCall{method: "DELETE", path: "/admin/feeds/nope-123", token: token}, wantStatus: 404},
		{name: "items by topic", call: apiCall{method: "GET", path: "/admin/items?topic=ultrasound", token: token}, wantStatus: 200, check: func(t *testing.T, body map[string]any) {
			list := body["items"].([]any)
			if len(list) == 0 {
				t.Fatal("no ultrasound items")
			}
			for _, raw := range list {
				it := raw.(map[string]any)
				if !contains(it["topics"], "ultrasound") {
					t.Errorf("item %v is not about ultrasound", it["title"])
				}
				for _, field := range []string{"id", "society", "title", "link", "published", "summary", "topics", "updated"} {
					if _, ok := it[field]; !ok {
						t.Errorf("item lacks %q", field)
					}
				}
			}
		}},
		{name: "items by society, newest first", call: apiCall{method: "GET", path: "/admin/items?society=esr,rsna", token: token}, wantStatus: 200, check: func(t *testing.T, body map[string]any) {
			list := body["items"].([]any)
			if len(list) != 5 {
				t.Fatalf("%d items, want 3 ESR + 2 RSNA", len(list))
			}
			var prev time.Time
			for i, raw := range list {
				it := raw.(map[string]any)
				if s := it["society"]; s != "esr" && s != "rsna" {
					t.Errorf("society %v", s)
				}
				pub, _ := time.Parse(time.RFC3339, it["published"].(string))
				if i > 0 && pub.After(prev) {
					t.Errorf("not newest first at %d", i)
				}
				prev = pub
			}
		}},
		{name: "items since and limit", call: apiCall{method: "GET", path: "/admin/items?since=2026-11-19&limit=2", token: token}, wantStatus: 200, check: func(t *testing.T, body map[string]any) {
			list := body["items"].([]any)
			if len(list) != 2 {
				t.Fatalf("%d items, want 2", len(list))
			}
			if it := list[0].(map[string]any); it["title"] != "ACR urges Congress to protect imaging reimbursement" {
				t.Errorf("newest item is %v", it["title"])
			}
		}},
		{name: "items since excludes older", call: apiCall{method: "GET", path: "/admin/items?since=2026-11-20T00:00:00Z", token: token}, wantStatus: 200, check: func(t *testing.T, body map[string]any) {
			if n := len(body["items"].([]any)); n != 2 {
				t.Errorf("%d items since 20 Nov, want the 2 ACR items", n)
			}
		}},
		{name: "unknown topic", call: apiCall{method: "GET", path: "/admin/items?topic=astrology", token: token}, wantStatus: 400},
		{name: "unknown society", call: apiCall{method: "GET", path: "/admin/items?society=nasa", token: token}, wantStatus: 400},
		{name: "bad since", call: apiCall{method: "GET", path: "/admin/items?since=yesterday", token: token}, wantStatus: 400},
		{name: "limit zero", call: apiCall{method: "GET", path: "/admin/items?limit=0", token: token}, wantStatus: 400},
		{name: "limit too big", call: apiCall{method: "GET", path: "/admin/items?limit=5000", token: token}, wantStatus: 400},
		{name: "unknown route", call: apiCall{method: "GET", path: "/admin/nothing", token: token}, wantStatus: 404},
		{name: "wrong method", call: apiCall{method: "PUT", path: "/admin/feeds", token: token}, wantStatus: 405},
		{name: "health", call: apiCall{method: "GET", path: "/healthz"}, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tt.call.do(t, srv.URL)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tt.wantStatus, body)
			}
			if status >= 400 {
				if reason, _ := body["error"].(string); reason == "" {
					t.Errorf("a %d must say why in JSON: %v", status, body)
				}
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}

	// Deleting a feed stops it being fetched; its items stay listed.
	feedsBefore := feedsByPath(t, a, fs.URL)
	id := feedsBefore["/wfumb/feed"].ID
	if status, body := (apiCall{method: "DELETE", path: "/admin/feeds/" + id, token: token}).do(t, srv.URL); status != 204 {
		t.Fatalf("delete: %d %v", status, body)
	}
	if status, _ := (apiCall{method: "DELETE", path: "/admin/feeds/" + id, token: token}).do(t, srv.URL); status != 404 {
		t.Errorf("deleting twice: %d, want 404", status)
	}
	hits := fs.hitCount("/wfumb/feed")
	if _, err := a.Ingest.Run(context.Background(), ingest.TriggerManual); err != nil {
		t.Fatal(err)
	}
	if fs.hitCount("/wfumb/feed") != hits {
		t.Error("a deleted feed was fetched")
	}
	if _, ok := feedsByPath(t, a, fs.URL)["/wfumb/feed"]; ok {
		t.Error("a deleted feed is still listed")
	}
	if status, body := (apiCall{method: "GET", path: "/admin/items?society=wfumb", token: token}).do(t, srv.URL); status != 200 || len(body["items"].([]any)) != 1 {
		t.Errorf("items of a deleted feed: %d %v", status, body)
	}
}

func contains(list any, want string) bool {
	for _, v := range list.([]any) {
		if v == want {
			return true
		}
	}
	return false
}
