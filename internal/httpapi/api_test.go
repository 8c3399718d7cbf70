package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
