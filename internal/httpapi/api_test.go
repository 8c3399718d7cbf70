package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// panicPages registers a route that panics, and one that reports the
// context's base URL through a link the subscriber service would build.
type panicPages struct{}

func (panicPages) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("kaboom: secret detail") })
}

func TestMiddleware(t *testing.T) {
	srv := &Server{AdminToken: "s3cret-token", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Pages: panicPages{}}
	h := srv.Handler()
	tests := []struct {
		name, method, path, auth string
		want                     int
		wantAllow                string
	}{
		{"no token", "GET", "/admin/feeds", "", 401, ""},
		{"basic auth", "GET", "/admin/feeds", "Basic czNjcmV0LXRva2Vu", 401, ""},
		{"wrong token", "GET", "/admin/feeds", "Bearer s3cret-tokem", 401, ""},
		{"longer token", "GET", "/admin/feeds", "Bearer s3cret-token-and-more", 401, ""},
		{"unknown route", "GET", "/nothing/here", "", 404, ""},
		{"wrong method", "PATCH", "/admin/ingest", "Bearer s3cret-token", 405, "POST"},
		{"panic", "GET", "/boom", "", 500, ""},
		{"health", "GET", "/healthz", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("answer is not JSON: %q", rec.Body)
			}
			if tt.want >= 400 && body["error"] == "" {
				t.Errorf("no reason given: %v", body)
			}
			if strings.Contains(rec.Body.String(), "secret detail") || strings.Contains(rec.Body.String(), "goroutine") {
				t.Errorf("internal detail leaked: %s", rec.Body)
			}
			if tt.wantAllow != "" && rec.Header().Get("Allow") != tt.wantAllow {
				t.Errorf("Allow %q, want %q", rec.Header().Get("Allow"), tt.wantAllow)
			}
			if tt.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestNoTokenLocksAdminRoutes(t *testing.T) {
	h := (&Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	req := httptest.NewRequest("GET", "/admin/feeds", nil)
	req.Header.Set("Authorization", "Bearer ")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("an empty configured token let a request through: %d", rec.Code)
	}
}

// Guessing the bearer token: after a few wrong tokens a client is answered
// 429 with a reason, even with the right token, while other clients are not.
func TestWrongBearerTokensAreThrottledPerClient(t *testing.T) {
	const token = "s3cret-token-of-at-least-32-characters"
	client := "198.51.100.7"
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	srv := &Server{AdminToken: token, Admin: &fakeAdmin{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ClientIP: func(*http.Request) string { return client }, Now: func() time.Time { return now }}
	h := srv.Handler()
	call := func(auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/admin/feeds", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := call("Bearer " + token); rec.Code != http.StatusOK {
		t.Fatalf("right token: status %d", rec.Code)
	}
	for range 20 { // no token is no guess
		if rec := call(""); rec.Code != http.StatusUnauthorized {
			t.Fatalf("no token: status %d", rec.Code)
		}
	}
	var failures int
	for ; failures < 50; failures++ {
		rec := call("Bearer guess-" + strings.Repeat("x", failures))
		if rec.Code == http.StatusTooManyRequests {
			break
		}
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: status %d", failures, rec.Code)
		}
	}
	if failures >= 50 {
		t.Fatal("50 wrong tokens and no 429")
	}
	rec := call("Bearer " + token)
	var body map[string]string
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["error"] == "" {
		t.Fatalf("after %d wrong tokens the right one gets %d (Retry-After %q) %s, want 429 with a reason", failures, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	client = "198.51.100.8"
	if rec := call("Bearer " + token); rec.Code != http.StatusOK {
		t.Errorf("another client is throttled too: status %d", rec.Code)
	}
	client = "198.51.100.7"
	now = now.Add(15 * time.Minute)
	if rec := call("Bearer " + token); rec.Code != http.StatusOK {
		t.Errorf("after the window: status %d, want 200", rec.Code)
	}
}
