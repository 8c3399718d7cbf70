// Package console owns the admin console: server-rendered pages for society
// staff over the admin functions, signed in with the admin token.
package console

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/pagekit"
	"github.com/radiogram/radiogram/internal/tokens"
	"github.com/radiogram/radiogram/internal/topics"
)

// Admin is what the console needs of the admin functions
// (*admin.Service implements it).
type Admin interface {
	Feeds(ctx context.Context) ([]feeds.Feed, error)
	// SocietyIDs lists the societies with feeds, cached (the items
	// page's filter).
	SocietyIDs(ctx context.Context) ([]string, error)
	// Items lists a page; cursor is the Next of the page before. A bad
	// cursor is an admin.ErrBadRequest.
	Items(ctx context.Context, topic, society, cursor string, limit int) (items.Page, error)
	Summary(ctx context.Context) (admin.Summary, error)
	// Subscriber returns admin.ErrNotFound for an unknown address.
	Subscriber(ctx context.Context, email string) (admin.SubscriberDetail, error)
	Runs(ctx context.Context, limit int) ([]admin.Run, error)
	// Run returns admin.ErrNotFound for an unknown id.
	Run(ctx context.Context, id string) (admin.RunDetail, error)
	// Trigger reports the user's mistakes as errors wrapping
	// admin.ErrInvalidTarget, admin.ErrUnknownTopic or admin.ErrNotFound.
	Trigger(ctx context.Context, req admin.TriggerRequest) (admin.Run, error)
	// Preview reports admin.ErrNotFound, admin.ErrUnknownTopic or
	// admin.ErrBadRequest for what cannot be previewed.
	Preview(ctx context.Context, req admin.PreviewRequest) (email.Message, error)
	TestSend(ctx context.Context, req admin.PreviewRequest, to, actor string) error
	Audit(ctx context.Context, limit int) ([]admin.AuditEntry, error)
	// StartIngest queues an ingest of every enabled feed, or returns the
	// run that holds the lock.
	StartIngest(ctx context.Context, actor string) (ingestruns.Run, error)
	// IngestRun returns admin.ErrNotFound for an unknown id.
	IngestRun(ctx context.Context, id string) (ingestruns.Run, error)
	// Item returns admin.ErrNotFound for an unknown id.
	Item(ctx context.Context, id string) (items.Item, error)
	// CorrectTopics reports admin.ErrBadRequest or admin.ErrUnknownTopic
	// for topics it refuses, admin.ErrNotFound for an unknown item.
	CorrectTopics(ctx context.Context, id string, topics []string, actor string) (items.Item, error)
	Corrections(ctx context.Context, limit int) ([]admin.Correction, error)
	// Record adds an entry to the audit log; the console records signing in
	// and out itself, the service everything else.
	Record(ctx context.Context, e admin.AuditEntry) error
}

// Handlers holds the console's dependencies; its fields are set once.
type Handlers struct {
	Admin  Admin
	Topics []topics.Topic
	// MaxTopics is the most topics an item may be given (items.MaxTopics),
	// which the topics form says.
	MaxTopics int
	// Token is the admin token staff sign in with; empty refuses everyone.
	// The session cookies and CSRF tokens are signed with a key derived
	// from it, never with the link-signing keys.
	Token string
	// Sessions keeps the signed-in sessions; without it no one signs in.
	Sessions SessionStore
	// Failures counts wrong tokens per client; the admin API may share it.
	// Without it the console counts its own.
	Failures *FailureLimiter
	// ClientIP tells the caller's client address, which differs under
	// Lambda and locally; without it the connection's address is used.
	ClientIP func(*http.Request) string
	Now      func() time.Time
	Log      *slog.Logger
}

// prefix is where the console's routes live.
const prefix = "/admin/console"

// actor names the console in the audit log and on the runs it starts. The
// token is shared, so there is no person to name.
const actor = "admin (console)"

// maxBodyBytes bounds every request body; no console form needs more.
const maxBodyBytes = 64 << 10

// contentSecurityPolicy allows nothing inline and frames only the console's
// own mail previews.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Register adds the console's routes to mux. It panics if the embedded
// templates do not parse, which the package's tests rule out.
func (h *Handlers) Register(mux *http.ServeMux) {
	h.console().register(mux)
}

// console is the registered handlers' shared state.
type console struct {
	admin    Admin
	topics   []topics.Topic
	token    string
	keys     *tokens.Keyring // signs the session cookies and CSRF tokens
	binding  string          // ties a stored session to the admin token
	sessions SessionStore
	clientIP func(*http.Request) string
	now      func() time.Time
	log      *slog.Logger
	pages    *pagekit.Renderer
	assets   *pagekit.Assets
	// failures slows down guessing the token.
	failures     *FailureLimiter
	failureDelay time.Duration
	maxTopics    int // Handlers.MaxTopics
}

func (h *Handlers) console() *console {
	c := &console{
		admin:        h.Admin,
		topics:       h.Topics,
		maxTopics:    h.MaxTopics,
		token:        h.Token,
		sessions:     h.Sessions,
		clientIP:     h.ClientIP,
		now:          h.Now,
		log:          h.Log,
		assets:       loadAssets(),
		failures:     h.Failures,
		failureDelay: signInFailureDelay,
	}
	c.keys, c.binding = sessionKeys(h.Token)
	if c.failures == nil {
		c.failures = NewFailureLimiter(maxSignInFailures, signInFailureWindow)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clientIP == nil {
		c.clientIP = pagekit.RemoteIP
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.pages = renderer(c.funcs(), c.log)
	return c
}

func (c *console) register(mux *http.ServeMux) {
	routes := []struct {
		pattern string
		handle  http.HandlerFunc
	}{
		{"GET " + prefix + "/signin", c.signInPage},
		{"POST " + prefix + "/signin", c.signIn},
		{"POST " + prefix + "/signout", c.signOut},
		{"GET " + prefix + "/static/{file}", c.assets.Handler(c.notFound)},

		{"GET " + prefix, c.page(c.overview)},
		{"GET " + prefix + "/{$}", c.page(c.overview)},
		{"GET " + prefix + "/items", c.page(c.itemsPage)},
		{"GET " + prefix + "/items/{id}", c.page(c.itemPage)},
		{"POST " + prefix + "/items/{id}/topics", c.action(c.correctTopics)},
		{"GET " + prefix + "/corrections", c.page(c.correctionsPage)},
		{"GET " + prefix + "/subscribers", c.page(c.subscriberPage)},
		{"GET " + prefix + "/runs", c.page(c.runsPage)},
		{"GET " + prefix + "/runs/{id}", c.page(c.runPage)},
		{"GET " + prefix + "/send", c.page(c.sendPage)},
		{"POST " + prefix + "/send", c.action(c.send)},
		{"GET " + prefix + "/dry-runs/{id}", c.page(c.dryRunPage)},
		{"GET " + prefix + "/preview", c.page(c.previewPage)},
		{"GET " + prefix + "/preview/raw", c.page(c.previewRaw)},
		{"POST " + prefix + "/preview/send", c.action(c.testSend)},
		{"GET " + prefix + "/audit", c.page(c.auditPage)},
		{"POST " + prefix + "/ingest", c.action(c.startIngest)},
		{"GET " + prefix + "/ingest/{id}", c.page(c.ingestPage)},

		{prefix + "/", c.notFound},
	}
	guard := c.guard()
	for _, r := range routes {
		// The refusal of another site's post is a page like any other:
		// inside the guard, with its headers.
		mux.Handle(r.pattern, guard.Wrap(c.sameOriginPosts(r.handle)))
	}
}

// guard sets the headers every answer carries, bounds the body, and turns a
// panic into the generic error page.
func (c *console) guard() pagekit.Guard {
	return pagekit.Guard{
		ContentSecurityPolicy: contentSecurityPolicy,
		// The pages show subscribers' addresses: no cache may keep them.
		CacheControl: "no-store",
		MaxBodyBytes: maxBodyBytes,
		Log:          c.log,
		Problem: func(w http.ResponseWriter, r *http.Request) {
			c.renderProblem(w, r, internalProblem, session{})
		},
	}
}

// sameOriginPosts refuses posts sent from another site.
func (c *console) sameOriginPosts(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !sameOrigin(r) {
			c.log.WarnContext(r.Context(), "cross-origin post refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"), "client", c.clientIP(r))
			c.renderProblem(w, r, crossOriginProblem, session{})
			return
		}
		next(w, r)
	}
}

func (c *console) notFound(w http.ResponseWriter, r *http.Request) {
	c.renderProblem(w, r, notFoundProblem, c.currentSession(r))
}
