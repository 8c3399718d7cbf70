// Package httpapi owns Radiogram's HTTP API: plain net/http handlers that serve
// the same way under Lambda and in `make run`.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/console"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/pagekit"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// AdminActions is what the admin routes need (*admin.Service): every admin
// action goes through it, and the routes only decode the request, call it
// and encode its answer or error.
type AdminActions interface {
	Feeds(ctx context.Context) ([]feeds.Feed, error)
	// CreateFeed reports an error matching admin.ErrBadRequest or
	// admin.ErrUnknownTopic for an invalid feed, admin.ErrConflict for one
	// registered already.
	CreateFeed(ctx context.Context, in admin.NewFeed, actor string) (feeds.Feed, error)
	// DeleteFeed reports admin.ErrNotFound for an unknown id.
	DeleteFeed(ctx context.Context, id, actor string) error
	// StartIngest queues an ingest run, or names the one running.
	StartIngest(ctx context.Context, actor string) (ingestruns.Run, error)
	// IngestRun reports admin.ErrNotFound for an unknown id.
	IngestRun(ctx context.Context, id string) (ingestruns.Run, error)
	// ListItems reports admin.ErrBadRequest for a bad limit, since,
	// society or cursor.
	ListItems(ctx context.Context, q admin.ItemQuery) (items.Page, error)
	// CorrectTopics reports admin.ErrBadRequest or admin.ErrUnknownTopic
	// for a list of topics it refuses, admin.ErrNotFound for an unknown
	// item.
	CorrectTopics(ctx context.Context, id string, topics []string, actor string) (items.Item, error)
	Corrections(ctx context.Context, limit int) ([]admin.Correction, error)
	Trigger(ctx context.Context, req admin.TriggerRequest) (admin.Run, error)
	Runs(ctx context.Context, limit int) ([]admin.Run, error)
	Run(ctx context.Context, id string) (admin.RunDetail, error)
	Preview(ctx context.Context, req admin.PreviewRequest) (email.Message, error)
	TestSend(ctx context.Context, req admin.PreviewRequest, to, actor string) error
	Subscriber(ctx context.Context, email string) (admin.SubscriberDetail, error)
	Summary(ctx context.Context) (admin.Summary, error)
	Audit(ctx context.Context, limit int) ([]admin.AuditEntry, error)
}

// Server holds the API's dependencies; its fields are set once.
type Server struct {
	AdminToken string
	Log        *slog.Logger
	// Admin carries out every admin action and audits it.
	Admin AdminActions
	// ClientIP names a request's client for the audit log.
	ClientIP func(*http.Request) string
	// Pages and Console add the subscriber pages and the admin console.
	Pages   interface{ Register(mux *http.ServeMux) }
	Console interface{ Register(mux *http.ServeMux) }
	// Feeds adds the public feeds out (RSS, Atom, JSON Feed).
	Feeds interface{ Register(mux *http.ServeMux) }
	// Failures counts wrong bearer tokens per client (the console's
	// limiter, which the console may share); without it the server keeps
	// its own, allowing console.MaxFailures within console.FailureWindow.
	Failures *console.FailureLimiter
	// Now tells the time for the limiter; time.Now without it.
	Now func() time.Time
}

// maxBodyBytes bounds every request body; no route needs more.
const maxBodyBytes = 64 << 10

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	failures := s.Failures
	if failures == nil {
		failures = console.NewFailureLimiter(console.MaxFailures, console.FailureWindow)
	}
	admin := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.requireAdmin(h, failures)) }
	admin("GET /admin/feeds", s.listFeeds)
	admin("POST /admin/feeds", s.createFeed)
	admin("DELETE /admin/feeds/{id}", s.deleteFeed)
	admin("POST /admin/ingest", s.startIngest)
	admin("GET /admin/ingest/{id}", s.getIngestRun)
	admin("GET /admin/items", s.listItems)
	admin("PUT /admin/items/{id}/topics", s.setItemTopics)
	admin("GET /admin/corrections", s.listCorrections)
	admin("POST /admin/sends", s.triggerSend)
	admin("GET /admin/sends", s.listRuns)
	admin("GET /admin/sends/{id}", s.getRun)
	admin("GET /admin/preview", s.preview)
	admin("POST /admin/preview/send", s.previewSend)
	admin("GET /admin/subscribers", s.getSubscriber)
	admin("GET /admin/subscribers/summary", s.subscriberSummary)
	admin("GET /admin/audit", s.auditLog)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	for _, pages := range []interface{ Register(*http.ServeMux) }{s.Pages, s.Console, s.Feeds} {
		if pages != nil {
			pages.Register(mux)
		}
	}
	return s.recoverPanics(s.requestContext(jsonErrors(mux)))
}

// requestContext records what handlers deeper down need of the request:
// the client's address, for the audit log, and the public address a Lambda
// request was served on, for links when no base URL is configured. Under
// the Lambda adapter the request URL is absolute and its host is the
// domain API Gateway reports; a plain net/http server leaves it relative,
// and then no base is recorded.
func (s *Server) requestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if s.ClientIP != nil {
			ctx = admin.WithClient(ctx, s.ClientIP(r))
		}
		if r.URL.IsAbs() && r.URL.Host != "" {
			ctx = subscribers.WithBaseURL(ctx, "https://"+r.URL.Host)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requireAdmin admits requests bearing the admin token. The token is hashed
// before the constant-time comparison so its length does not leak either.
// A client that presented wrong tokens too often is refused, the right
// token too, until its failures age out of the window: guessing goes no
// faster than at the console's sign-in.
func (s *Server) requireAdmin(next http.Handler, failures *console.FailureLimiter) http.Handler {
	want := sha256.Sum256([]byte(s.AdminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now, client := s.now(), s.clientIP(r)
		if !failures.Allow(client, now) {
			w.Header().Set("Retry-After", strconv.Itoa(int(failures.Window().Seconds())))
			writeError(w, http.StatusTooManyRequests, "too many wrong admin tokens from this client; try again later")
			return
		}
		header := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(header, "Bearer ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !ok || s.AdminToken == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			// A request without credentials guesses nothing; any other
			// counts against the client.
			if header != "" {
				failures.Fail(client, now)
				s.Log.WarnContext(r.Context(), "admin bearer token refused", "path", r.URL.Path, "client", client)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="radiogram-admin"`)
			writeError(w, http.StatusUnauthorized, "a valid admin bearer token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// clientIP names the client whose failures count: the configured address,
// or else the connection's.
func (s *Server) clientIP(r *http.Request) string {
	if s.ClientIP != nil {
		return s.ClientIP(r)
	}
	return pagekit.RemoteIP(r)
}

// recoverPanics turns a handler's panic into a 500 without a stack trace for
// the client; the trace goes to the log.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Log.ErrorContext(r.Context(), "handler panicked", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// internalError logs what went wrong and tells the client only that it did.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, errorBody{Error: reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decodeJSON reads a bounded JSON body into v, rejecting unknown fields and
// trailing data, and answers the client itself when it cannot.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "the body must be application/json")
			return false
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("unexpected data after the JSON object")
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body must be at most %d bytes", maxBodyBytes))
			return false
		}
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// jsonErrors gives the mux's own 404 and 405 answers a JSON body like every
// other error.
func jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			allow := allowedMethods(mux, r)
			if len(allow) == 0 {
				writeError(w, http.StatusNotFound, "no such route: "+r.URL.Path)
				return
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here; use %s", r.Method, strings.Join(allow, " or ")))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	return allow
}
