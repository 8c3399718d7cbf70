package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
)

// keyStore is an admin.RunStore that keeps idempotency keys and records
// whether the context each call got was still live.
type keyStore struct {
	admin.RunStore
	mu       sync.Mutex
	keys     map[string]string
	released []string
	// onClaim runs inside ClaimIdempotencyKey after the key is written,
	// as a client that goes away while the write is in flight.
	onClaim         func()
	claimCtxErr     error
	releaseCtxErr   error
	releaseDeadline bool
}

func (s *keyStore) ClaimIdempotencyKey(ctx context.Context, key, runID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := s.keys[key]; ok {
		return existing, nil
	}
	s.keys[key] = runID // the write reached the table
	if s.onClaim != nil {
		s.onClaim()
	}
	// Like the SDK, a call whose context ends mid-way reports the
	// cancellation even though the write landed.
	if err := ctx.Err(); err != nil {
		s.claimCtxErr = err
		return "", fmt.Errorf("operation error DynamoDB: PutItem, canceled: %w", err)
	}
	return "", nil
}

func (s *keyStore) ReleaseIdempotencyKey(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseCtxErr = ctx.Err()
	_, s.releaseDeadline = ctx.Deadline()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("operation error DynamoDB: DeleteItem, canceled: %w", err)
	}
	delete(s.keys, key)
	s.released = append(s.released, key)
	return nil
}

func (s *keyStore) Record(context.Context, admin.AuditEntry) error { return nil }

// cancellingPlanner is a planner during whose work the client goes away.
type cancellingPlanner struct {
	cancel func()
	calls  int
}

func (p *cancellingPlanner) Start(ctx context.Context, _ delivery.Request) (delivery.Report, error) {
	p.calls++
	if p.cancel != nil {
		p.cancel()
	}
	if err := ctx.Err(); err != nil {
		return delivery.Report{}, fmt.Errorf("queue jobs: %w", err)
	}
	return delivery.Report{Planned: 1}, nil
}

// A client that disconnects during POST /admin/sends is no server error:
// nothing at ERROR in the log, no 5xx, and the idempotency key it sent is
// not left claimed by a run that never happened, so its retry sends.
func TestTriggerSendClientGoesAway(t *testing.T) {
	const token = "s3cret-token"
	for _, when := range []string{"during the claim", "during the plan"} {
		t.Run(when, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := &keyStore{keys: map[string]string{}}
			planner := &cancellingPlanner{}
			if when == "during the claim" {
				store.onClaim = cancel
			} else {
				planner.cancel = cancel
			}
			logs := &bytes.Buffer{}
			log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			svc := &admin.Service{RunStore: store, Planner: planner, KnownTopic: func(string) bool { return true },
				Now: func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }, Log: log}
			srv := &Server{AdminToken: token, Admin: svc, Log: log}

			req := httptest.NewRequest("POST", "/admin/sends", strings.NewReader(`{"target":"all"}`)).WithContext(ctx)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Idempotency-Key", "weekly-2026-47")
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)

			if rec.Code >= 500 {
				t.Errorf("status %d for a client that went away, want no 5xx: %s", rec.Code, rec.Body)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("a client that went away is logged as an error:\n%s", logs)
			}
			if !strings.Contains(logs.String(), "client went away") {
				t.Errorf("log does not say the client went away:\n%s", logs)
			}
			if store.claimCtxErr != nil {
				t.Errorf("key claimed on a context that ended with the request (%v): its outcome is unknown", store.claimCtxErr)
			}
			if len(store.released) != 1 || store.releaseCtxErr != nil || !store.releaseDeadline {
				t.Errorf("key released %v on a context with error %v, deadline %v; want it released once on a live context with a timeout",
					store.released, store.releaseCtxErr, store.releaseDeadline)
			}
			if len(store.keys) != 0 {
				t.Errorf("keys still claimed: %v", store.keys)
			}

			// The retry is sent, not answered with a run that never was.
			planner.cancel = nil
			store.onClaim = nil
			retry := httptest.NewRequest("POST", "/admin/sends", strings.NewReader(`{"target":"all"}`))
			retry.Header.Set("Authorization", "Bearer "+token)
			retry.Header.Set("Idempotency-Key", "weekly-2026-47")
			rec = httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, retry)
			if rec.Code != 202 {
				t.Errorf("retry: status %d, want 202: %s", rec.Code, rec.Body)
			}
		})
	}
}

// An error that is not the client leaving is still a server error.
func TestTriggerSendStoreFailureIsInternalError(t *testing.T) {
	const token = "s3cret-token"
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	fake := &triggerFake{err: errors.New("dynamodb: secret detail")}
	srv := &Server{AdminToken: token, Admin: fake, Log: log}
	req := httptest.NewRequest("POST", "/admin/sends", strings.NewReader(`{"target":"all"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("status %d, log %q; want 500 logged at ERROR", rec.Code, logs)
	}
}

type triggerFake struct {
	AdminActions
	err error
}

func (f *triggerFake) Trigger(context.Context, admin.TriggerRequest) (admin.Run, error) {
	return admin.Run{}, f.err
}
