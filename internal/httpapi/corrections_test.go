package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/items"
)

// correctingAdmin answers the correction routes and records their calls.
type correctingAdmin struct {
	fakeAdmin
	id     string
	topics []string
	limit  int
	listed []items.Item
}

func (f *correctingAdmin) CorrectTopics(ctx context.Context, id string, topics []string, actor string) (items.Item, error) {
	f.called(ctx, actor)
	f.id, f.topics = id, topics
	if f.err != nil {
		return items.Item{}, f.err
	}
	it := items.Item{Key: id, Society: "esr", Title: "A title"}
	for _, t := range topics {
		it.Topics = append(it.Topics, items.TopicScore{ID: t, Score: 1, Source: items.SourceAdmin})
	}
	return it, nil
}

func (f *correctingAdmin) Corrections(_ context.Context, limit int) ([]admin.Correction, error) {
	f.limit = limit
	return []admin.Correction{{ItemID: "esr-1", Society: "esr", Title: "T", By: apiActor, At: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
		Before: []items.TopicScore{{ID: "workforce", Score: 0.5, Source: items.SourceFallback}},
		After:  []items.TopicScore{{ID: "ultrasound", Score: 1, Source: items.SourceAdmin}}}}, f.err
}

func (f *correctingAdmin) ListItems(context.Context, admin.ItemQuery) (items.Page, error) {
	return items.Page{Items: f.listed}, f.err
}

func TestItemTopicsRoute(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		name, path, body, token string
		err                     error
		want                    int
		wantBody                string
		wantTopics              []string
	}{
		{name: "correct", path: "/admin/items/esr-1/topics", body: `{"topics":["ai","safety"]}`, want: 200, wantTopics: []string{"ai", "safety"}},
		{name: "empty list", path: "/admin/items/esr-1/topics", body: `{"topics":[]}`, err: fmt.Errorf("%w: topics must list at least one topic", admin.ErrBadRequest),
			want: 400, wantBody: `{"error":"bad request: topics must list at least one topic"}`, wantTopics: []string{}},
		{name: "unknown topic", path: "/admin/items/esr-1/topics", body: `{"topics":["astrology"]}`, err: fmt.Errorf("%w %q", admin.ErrUnknownTopic, "astrology"),
			want: 400, wantBody: `{"error":"unknown topic \"astrology\""}`, wantTopics: []string{"astrology"}},
		{name: "unknown item", path: "/admin/items/nope/topics", body: `{"topics":["ai"]}`, err: fmt.Errorf("no item %q: %w", "nope", admin.ErrNotFound),
			want: 404, wantBody: `{"error":"no item \"nope\": not found"}`, wantTopics: []string{"ai"}},
		{name: "bad JSON", path: "/admin/items/esr-1/topics", body: `{"topics":"ai"`, want: 400},
		{name: "not a list", path: "/admin/items/esr-1/topics", body: `{"topics":"ai"}`, want: 400},
		{name: "unknown field", path: "/admin/items/esr-1/topics", body: `{"topics":["ai"],"by":"me"}`, want: 400},
		{name: "no token", path: "/admin/items/esr-1/topics", body: `{"topics":["ai"]}`, token: "-", want: 401},
		{name: "wrong token", path: "/admin/items/esr-1/topics", body: `{"topics":["ai"]}`, token: "wrong", want: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &correctingAdmin{fakeAdmin: fakeAdmin{err: tt.err}}
			srv := &Server{AdminToken: token, Admin: fake, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			req := httptest.NewRequest("PUT", tt.path, strings.NewReader(tt.body))
			switch tt.token {
			case "":
				req.Header.Set("Authorization", "Bearer "+token)
			case "-":
			default:
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tt.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tt.wantBody)
			}
			if tt.want >= 400 && !strings.Contains(rec.Body.String(), `"error":"`) {
				t.Errorf("a refusal without a reason: %s", rec.Body)
			}
			if tt.wantTopics == nil {
				if fake.actor != "" {
					t.Errorf("the service was called for a refused request")
				}
				return
			}
			if fake.actor != apiActor || !slices.Equal(fake.topics, tt.wantTopics) || fake.id != strings.Split(tt.path, "/")[3] {
				t.Errorf("service asked by %q to set %q of %q", fake.actor, fake.topics, fake.id)
			}
			if tt.want == 200 {
				var got itemView
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.ID != "esr-1" || !slices.Equal(got.Topics, tt.wantTopics) || got.Scores[0].Source != items.SourceAdmin || got.Scores[0].Reason != "set by an admin" {
					t.Errorf("answered %s, want the corrected item", rec.Body)
				}
			}
		})
	}
}

func TestItemsShowTopicReasons(t *testing.T) {
	const token = "s3cret-token"
	fake := &correctingAdmin{listed: []items.Item{{Key: "esr-1", Society: "esr", Topics: []items.TopicScore{
		{ID: "ai", Score: 0.8, Source: items.SourceRules, Matched: []items.Match{{Term: "deep learning", Field: "title"}, {Term: "algorithm", Field: "summary"}}},
		{ID: "ultrasound", Score: 0.5, Source: items.SourceFeed},
		{ID: "workforce", Score: 0.5, Source: items.SourceFallback},
		{ID: "events", Score: 0.6}, // stored before sources were kept
	}}}}
	h := (&Server{AdminToken: token, Admin: fake, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	req := httptest.NewRequest("GET", "/admin/items", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var got struct {
		Items []struct {
			Scores []struct {
				ID      string        `json:"id"`
				Source  string        `json:"source"`
				Matched []items.Match `json:"matched"`
				Reason  string        `json:"reason"`
			} `json:"topic_scores"`
		} `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got.Items) != 1 || len(got.Items[0].Scores) != 4 {
		t.Fatalf("items answered %d %s (%v)", rec.Code, rec.Body, err)
	}
	s := got.Items[0].Scores
	if s[0].Source != "rules" || len(s[0].Matched) != 2 || s[0].Matched[0] != (items.Match{Term: "deep learning", Field: "title"}) ||
		s[0].Reason != "matched: deep learning (title), algorithm (summary)" {
		t.Errorf("rules topic shown as %+v", s[0])
	}
	if s[1].Source != "feed" || s[1].Reason != "from the feed" || s[2].Source != "fallback" || s[2].Reason != "fallback" {
		t.Errorf("feed and fallback topics shown as %+v, %+v", s[1], s[2])
	}
	if !strings.Contains(rec.Body.String(), `{"id":"events","score":0.6}`) {
		t.Errorf("a topic stored without its source is shown with source, matched or reason fields: %s", rec.Body)
	}
}

func TestCorrectionsRoute(t *testing.T) {
	const token = "s3cret-token"
	fake := &correctingAdmin{}
	h := (&Server{AdminToken: token, Admin: fake, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	do := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := do("/admin/corrections?limit=5")
	var got struct {
		Corrections []admin.Correction `json:"corrections"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 || fake.limit != 5 {
		t.Fatalf("corrections: %d %s (%v), limit %d", rec.Code, rec.Body, err, fake.limit)
	}
	if len(got.Corrections) != 1 || got.Corrections[0].Before[0].Source != items.SourceFallback || got.Corrections[0].After[0].ID != "ultrasound" || got.Corrections[0].By != apiActor {
		t.Errorf("corrections answered %s", rec.Body)
	}
	if rec := do("/admin/corrections"); fake.limit != 50 || rec.Code != 200 {
		t.Errorf("default limit %d, status %d", fake.limit, rec.Code)
	}
	if rec := do("/admin/corrections?limit=abc"); rec.Code != 400 {
		t.Errorf("limit=abc: status %d, want 400", rec.Code)
	}
}
