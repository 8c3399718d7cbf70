// Package web owns the pages and routes subscribers use — sign-up, confirm,
// preferences, unsubscribe, export and erase — and the public archive of
// the news (/news), server-rendered with html/template and working fully
// without JavaScript; the archive's pages run none.
package web

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"

	"github.com/radiogram/radiogram/internal/pagekit"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// Subscribers is the subscriber service as the pages use it
// (*subscribers.Service implements it).
type Subscribers interface {
	Subscribe(ctx context.Context, req subscribers.SignUp) error
	RequestManageLink(ctx context.Context, email, clientIP string) error
	PendingConfirmation(ctx context.Context, token string) (subscribers.Subscriber, error)
	Confirm(ctx context.Context, token, clientIP string) (subscribers.Subscriber, error)
	Preferences(ctx context.Context, token string) (subscribers.Subscriber, subscribers.Links, error)
	// RequestDataLinks queues, for the subscriber a preferences link is
	// for, the manage mail, which alone carries export and erase links.
	RequestDataLinks(ctx context.Context, token, clientIP string) error
	UpdatePreferences(ctx context.Context, token string, p subscribers.Preferences) (subscribers.Subscriber, []subscribers.Change, error)
	Unsubscribe(ctx context.Context, token string) error
	Export(ctx context.Context, token string) (subscribers.Export, error)
	Erase(ctx context.Context, token string) error
}

// Society is one society a subscriber can choose to hear from.
type Society struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Catalog is what a subscriber can choose from.
type Catalog struct {
	Topics    []topics.Topic
	Societies []Society
}

// Handlers holds the pages' dependencies; its fields are set once.
type Handlers struct {
	Subscribers Subscribers
	// Catalog is read per request: societies change as admins edit feeds.
	Catalog func(ctx context.Context) (Catalog, error)
	// ClientIP tells the caller's client address, which differs under
	// Lambda and locally; without it the connection's address is used.
	ClientIP func(r *http.Request) string
	Log      *slog.Logger
	// Items reads the public archive (/news); without it the archive's
	// pages are not served.
	Items ItemReader
	// Archive verifies the signed archive links of mails; without it
	// such links are answered as not found.
	Archive ArchiveLinks
	// ArchivePageSize is how many items an archive page lists; 20
	// without it.
	ArchivePageSize int
}

// maxBodyBytes bounds every request body, as the API does; no form needs more.
const maxBodyBytes = 64 << 10

// contentSecurityPolicy allows nothing inline: the one script is a file.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Register adds the subscriber pages and routes to mux. It panics if the
// embedded templates or static files do not load, which the package's tests
// rule out.
func (h *Handlers) Register(mux *http.ServeMux) {
	s := &site{
		subs:     h.Subscribers,
		catalog:  h.Catalog,
		clientIP: h.ClientIP,
		log:      h.Log,
		assets:   loadAssets(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.pages = renderer(s.log)
	if s.clientIP == nil {
		s.clientIP = pagekit.RemoteIP
	}
	routes := []struct {
		pattern string
		handle  http.HandlerFunc
	}{
		{"GET /{$}", s.signUpPage},
		{"POST /subscribe", s.subscribe},
		{"POST /manage", s.requestManageLink},
		{"GET /confirm", s.confirmPage},
		{"POST /confirm", s.confirm},
		{"GET /preferences", s.preferencesPage},
		{"POST /preferences", s.savePreferences},
		{"POST /preferences/data-link", s.requestDataLinks},
		{"GET /unsubscribe", s.unsubscribePage},
		{"POST /unsubscribe", s.unsubscribe},
		{"GET /me/export", s.export},
		{"GET /me/erase", s.erasePage},
		{"POST /me/erase", s.erase},
		{"GET /topics", s.topicsJSON},
		{"GET " + subscribers.PreviewLinkPath, s.previewLink},
		{"POST " + subscribers.PreviewLinkPath, s.previewLink},
		{"GET /static/{file}", s.assets.Handler(http.NotFound)},
	}
	guard := s.guard()
	for _, r := range routes {
		mux.Handle(r.pattern, guard.Wrap(r.handle))
	}
	if h.Items != nil {
		a := &archive{site: s, items: h.Items, periods: h.Archive, pageSize: cmp.Or(h.ArchivePageSize, archivePageSize)}
		public, personal := guard, guard
		public.ContentSecurityPolicy, public.CacheControl = archiveCSP, archiveCache
		personal.ContentSecurityPolicy = archiveCSP
		for _, r := range a.routes() {
			g := personal
			if r.public {
				g = public
			}
			mux.Handle(r.pattern, g.Wrap(r.handle))
		}
	}
}

// site is the registered handlers' shared state.
type site struct {
	subs     Subscribers
	catalog  func(ctx context.Context) (Catalog, error)
	clientIP func(r *http.Request) string
	log      *slog.Logger
	pages    *pagekit.Renderer
	assets   *pagekit.Assets
}

// guard sets the headers every answer carries, bounds the body, and turns a
// panic into the generic error page.
func (s *site) guard() pagekit.Guard {
	return pagekit.Guard{
		ContentSecurityPolicy: contentSecurityPolicy,
		// Pages show what a token unlocks, so no cache keeps them; only the
		// static files opt back in.
		CacheControl: "no-store",
		MaxBodyBytes: maxBodyBytes,
		Log:          s.log,
		Problem: func(w http.ResponseWriter, r *http.Request) {
			s.renderProblem(w, r, internalProblem)
		},
	}
}
