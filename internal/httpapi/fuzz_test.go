package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
)

// FuzzTriggerSend posts arbitrary bodies, Content-Types and Idempotency-Keys
// to POST /admin/sends, through the whole handler chain and the real
// admin.Service (its target parsing and idempotency), with the package's
// fake run store and planner.
func FuzzTriggerSend(f *testing.F) {
	const adminToken = "s3cret-token"
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "api-post-sends.json"))
	if err != nil {
		f.Fatal(err)
	}
	var ev struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Body == "" {
		f.Fatalf("sample event has no body: %v", err)
	}
	f.Add(ev.Body, "application/json", "")
	for _, seed := range []struct{ body, ct, key string }{
		{`{"target":"all"}`, "application/json", "weekly-2026-47"},
		{`{"target":"all","dry_run":true}`, "", ""},
		{`{"target":"topic:ai"}`, "application/json; charset=utf-8", "k"},
		{`{"target":"topic:unknown"}`, "application/json", ""},
		{`{"target":"subscriber:Jane@Example.org"}`, "application/json", ""},
		{`{"target":"subscriber:not an address"}`, "application/json", ""},
		{`{"target":"  all  "}`, "", strings.Repeat("k", 201)},
		{`{"target":"all:"}`, "", "  "},
		{`{"target":""}`, "", ""},
		{`{"target":1}`, "", ""},
		{`{"target":"all","extra":true}`, "", ""},
		{`{"target":"all"}{"target":"all"}`, "", ""},
		{`{"target":"all"`, "", ""},
		{``, "", ""},
		{`null`, "application/json", ""},
		{`{"target":"all"}`, "text/plain", ""},
		{`{"target":"all"}`, "application/json; charset=", ""},
	} {
		f.Add(seed.body, seed.ct, seed.key)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, body, contentType, idempotencyKey string) {
		// A fresh store each time, so that no key is already claimed.
		store := &keyStore{keys: map[string]string{}}
		svc := &admin.Service{RunStore: store, Planner: &cancellingPlanner{}, SubscriberStore: janeOnly{},
			KnownTopic: func(id string) bool { return id == "ai" || id == "screening" },
			Now:        func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }, Log: log}
		srv := &Server{AdminToken: adminToken, Admin: svc, Log: log}

		req := httptest.NewRequest("POST", "/admin/sends", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", idempotencyKey)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)

		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("status %d: answer is not JSON (%v): %q", rec.Code, err, rec.Body)
		}
		if rec.Code >= 400 {
			if reason, _ := answer["error"].(string); strings.TrimSpace(reason) == "" {
				t.Fatalf("status %d without a reason: %s", rec.Code, rec.Body)
			}
			if len(store.keys) != 0 {
				t.Fatalf("status %d, but keys are left claimed: %v", rec.Code, store.keys)
			}
			return
		}
		if id, _ := answer["run_id"].(string); id == "" {
			t.Fatalf("status %d without a run id: %s", rec.Code, rec.Body)
		}
	})
}
