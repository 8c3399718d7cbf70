package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/items"
)

// fakeAdmin answers the feed, ingest and item routes with what each test
// sets, and records how it was called; the other actions are not used.
type fakeAdmin struct {
	AdminActions
	err     error
	created admin.NewFeed
	deleted string
	query   admin.ItemQuery
	actor   string
	client  string
}

func (f *fakeAdmin) called(ctx context.Context, actor string) {
	f.actor, f.client = actor, admin.ClientFrom(ctx)
}

func (f *fakeAdmin) Feeds(context.Context) ([]feeds.Feed, error) { return nil, f.err }

func (f *fakeAdmin) CreateFeed(ctx context.Context, in admin.NewFeed, actor string) (feeds.Feed, error) {
	f.called(ctx, actor)
	f.created = in
	if f.err != nil {
		return feeds.Feed{}, f.err
	}
	return feeds.Feed{ID: "isr-1", Society: in.Society, Name: in.Name, URL: in.URL, Enabled: true}, nil
}

func (f *fakeAdmin) DeleteFeed(ctx context.Context, id, actor string) error {
	f.called(ctx, actor)
	f.deleted = id
	return f.err
}

func (f *fakeAdmin) StartIngest(ctx context.Context, actor string) (ingestruns.Run, error) {
	f.called(ctx, actor)
	return ingestruns.Run{ID: "ingest-1", Status: ingestruns.StatusRunning, StartedBy: actor}, f.err
}

func (f *fakeAdmin) IngestRun(_ context.Context, id string) (ingestruns.Run, error) {
	if f.err != nil {
		return ingestruns.Run{}, f.err
	}
	finished := time.Date(2026, 11, 22, 9, 31, 0, 0, time.UTC)
	return ingestruns.Run{ID: id, Status: ingestruns.StatusDone, StartedBy: "admin (API)", StartedAt: finished.Add(-time.Minute), FinishedAt: &finished,
		Summary: ingest.Summary{Trigger: ingest.TriggerManual, FeedsOK: 2, ItemsNew: 3}}, nil
}

func (f *fakeAdmin) ListItems(_ context.Context, q admin.ItemQuery) (items.Page, error) {
	f.query = q
	if q.Cursor != "" && f.err == nil {
		return items.Page{Items: []items.Item{{Key: "esr-1", Society: "esr"}}, Next: "eyJrIjoiMiJ9"}, nil
	}
	return items.Page{}, f.err
}

func TestFeedRoutesAnswerTheServicesErrors(t *testing.T) {
	const token = "s3cret-token"
	notFound := fmt.Errorf("wrapped: %w", admin.ErrNotFound)
	tests := []struct {
		name, method, path, body string
		err                      error
		want                     int
		wantBody                 string
	}{
		{"list feeds", "GET", "/admin/feeds", "", nil, 200, `{"feeds":[]}`},
		{"register", "POST", "/admin/feeds", `{"society":"isr","name":"ISR","url":"https://x.org/feed"}`, nil, 201, ""},
		{"register invalid", "POST", "/admin/feeds", `{"society":"isr"}`, fmt.Errorf("%w: name is required", admin.ErrBadRequest), 400, `{"error":"bad request: name is required"}`},
		{"register unknown topic", "POST", "/admin/feeds", `{"society":"isr"}`, fmt.Errorf("%w %q", admin.ErrUnknownTopic, "astrology"), 400, `{"error":"unknown topic \"astrology\""}`},
		{"register twice", "POST", "/admin/feeds", `{"society":"isr"}`, fmt.Errorf("%w: feed isr-1 is already registered", admin.ErrConflict), 409, `{"error":"conflict: feed isr-1 is already registered"}`},
		{"register, store down", "POST", "/admin/feeds", `{"society":"isr"}`, errors.New("dynamodb: secret detail"), 500, `{"error":"internal error"}`},
		{"unknown field", "POST", "/admin/feeds", `{"society":"isr","colour":"red"}`, nil, 400, ""},
		{"delete", "DELETE", "/admin/feeds/isr-1", "", nil, 204, ""},
		{"delete missing", "DELETE", "/admin/feeds/nope", "", notFound, 404, `{"error":"wrapped: not found"}`},
		{"ingest", "POST", "/admin/ingest", "", nil, 202, `{"run_id":"ingest-1","status":"running"}`},
		{"ingest fails", "POST", "/admin/ingest", "", errors.New("secret detail"), 500, `{"error":"internal error"}`},
		{"ingest run", "GET", "/admin/ingest/ingest-1", "", nil, 200, ""},
		{"unknown ingest run", "GET", "/admin/ingest/nope", "", fmt.Errorf("%w: no ingest run %q", admin.ErrNotFound, "nope"), 404, `{"error":"not found: no ingest run \"nope\""}`},
		{"items", "GET", "/admin/items?topic=ai&society=esr,rsna&society=esr&since=2026-11-19&limit=2", "", nil, 200, `{"items":[],"next":""}`},
		{"items, next page", "GET", "/admin/items?cursor=eyJrIjoiMSJ9", "", nil, 200, ""},
		{"items, bad cursor", "GET", "/admin/items?cursor=%21", "", fmt.Errorf("%w: cursor: not a cursor this listing handed out", admin.ErrBadRequest), 400, `{"error":"bad request: cursor: not a cursor this listing handed out"}`},
		{"items, bad query", "GET", "/admin/items?limit=0", "", fmt.Errorf("%w: limit", admin.ErrBadRequest), 400, `{"error":"bad request: limit"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeAdmin{err: tt.err}
			srv := &Server{AdminToken: token, Admin: fake, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				ClientIP: func(*http.Request) string { return "203.0.113.7" }}
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tt.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tt.wantBody)
			}
			if strings.Contains(rec.Body.String(), "secret detail") {
				t.Errorf("internal detail leaked: %s", rec.Body)
			}
			if fake.actor != "" && (fake.actor != apiActor || fake.client != "203.0.113.7") {
				t.Errorf("service called as %q from %q, want %q from the client's address", fake.actor, fake.client, apiActor)
			}
		})
	}
}

func TestFeedRoutesHandOnTheRequest(t *testing.T) {
	const token = "s3cret-token"
	fake := &fakeAdmin{}
	h := (&Server{AdminToken: token, Admin: fake, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	do := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	rec := do("POST", "/admin/feeds", `{"society":"isr","name":"ISR","url":"https://x.org/feed","enabled":false,"topics":["ai"]}`)
	if rec.Code != 201 || rec.Header().Get("Location") != "/admin/feeds/isr-1" {
		t.Errorf("register: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	var got feeds.Feed
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ID != "isr-1" {
		t.Errorf("register answered %s (%v)", rec.Body, err)
	}
	if c := fake.created; c.Society != "isr" || c.Name != "ISR" || c.URL != "https://x.org/feed" || c.Enabled == nil || *c.Enabled || len(c.Topics) != 1 {
		t.Errorf("service asked to register %+v", c)
	}

	rec = do("POST", "/admin/ingest", "")
	if rec.Code != 202 || rec.Header().Get("Location") != "/admin/ingest/ingest-1" {
		t.Errorf("start ingest: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = do("GET", "/admin/ingest/ingest-7", "")
	var run map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &run); err != nil || rec.Code != 200 {
		t.Fatalf("ingest run: %d %s (%v)", rec.Code, rec.Body, err)
	}
	for _, field := range []string{"run_id", "status", "started_by", "started_at", "finished_at", "summary"} {
		if _, ok := run[field]; !ok {
			t.Errorf("ingest run lacks %q: %s", field, rec.Body)
		}
	}
	sum, _ := run["summary"].(map[string]any)
	if run["run_id"] != "ingest-7" || run["status"] != "done" || sum["items_new"] != float64(3) || sum["feeds"] == nil {
		t.Errorf("ingest run answered %s", rec.Body)
	}
	if _, ok := run["error"]; ok {
		t.Errorf("a done run carries an error field: %s", rec.Body)
	}

	do("DELETE", "/admin/feeds/esr-12ab", "")
	if fake.deleted != "esr-12ab" {
		t.Errorf("service asked to delete %q", fake.deleted)
	}

	do("GET", "/admin/items?topic=ai&society=esr,+rsna&society=esr&since=2026-11-19&limit=2&cursor=abc", "")
	q := fake.query
	if q.Topic != "ai" || strings.Join(q.Societies, "|") != "esr|rsna" || q.Since != "2026-11-19" || q.Limit != "2" || q.Cursor != "abc" {
		t.Errorf("service asked for items %+v", q)
	}
}
