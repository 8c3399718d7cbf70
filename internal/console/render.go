package console

import (
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"unicode"
	"unicode/utf8"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/pagekit"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

var pageNames = []string{
	"signin.html", "message.html", "overview.html", "items.html", "subscriber.html",
	"runs.html", "run.html", "send.html", "dryrun.html", "preview.html", "audit.html", "ingest.html",
	"item.html", "corrections.html",
}

// renderer renders the pages, each parsed with the base layout and the
// shared partials and funcs. It panics if the embedded templates do not
// parse, which the package's tests rule out.
func renderer(funcs template.FuncMap, log *slog.Logger) *pagekit.Renderer {
	return &pagekit.Renderer{
		Templates:   pagekit.MustParseTemplates(templateFiles, "templates", funcs, pageNames...),
		Log:         log,
		LogMessage:  "render console page",
		FailureText: "Something went wrong on our side.",
	}
}

// render writes a page, or a plain error when it fails to render.
func (c *console) render(w http.ResponseWriter, r *http.Request, status int, page string, view any) {
	c.pages.Render(w, r, status, page, view)
}

// frame is what the base layout needs of every page.
type frame struct {
	Title   string
	Section string // the navigation entry to mark as current
	Assets  *pagekit.Assets
	CSRF    string // empty when signed out, which hides the navigation
	// Refresh reloads the page after so many seconds (0: never): a page
	// that waits on work done elsewhere, without JavaScript.
	Refresh int
}

func (c *console) frame(s session, title, section string) frame {
	return frame{Title: title, Section: section, Assets: c.assets, CSRF: s.CSRF}
}

// link is a link a page offers.
type link struct {
	URL  string
	Text string
}

// problem is an error page: what went wrong, worded for staff.
type problem struct {
	status     int
	heading    string
	paragraphs []string
}

var (
	internalProblem = problem{http.StatusInternalServerError, "Something went wrong",
		[]string{"Something went wrong on our side. Nothing more was done; the details are in the logs. Try again in a few minutes."}}
	notFoundProblem = problem{http.StatusNotFound, "Not found",
		[]string{"There is nothing at this address. It may have been mistyped, or what it showed no longer exists."}}
	signedOutProblem = problem{http.StatusUnauthorized, "Signed out",
		[]string{"Your session has ended, so nothing was done. Sign in again, then repeat what you were doing."}}
	csrfProblem = problem{http.StatusForbidden, "This form was refused",
		[]string{"The form did not come with this session's security check, so nothing was done. Go back, reload the page and try again."}}
	crossOriginProblem = problem{http.StatusForbidden, "This form was refused",
		[]string{"The form was sent from another site, so nothing was done."}}
	tooManyFailuresProblem = problem{http.StatusTooManyRequests, "Too many wrong tokens",
		[]string{"Signing in from your address is paused after too many wrong tokens. Try again in 15 minutes."}}
)

func unreadableProblem(err error) problem {
	reason := "it could not be read"
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		reason = "it is larger than 64 KiB"
	}
	return problem{http.StatusBadRequest, "This form was refused", []string{"Nothing was done: " + reason + "."}}
}

type messageView struct {
	frame
	Heading    string
	Paragraphs []string
	Links      []link
}

func (c *console) renderProblem(w http.ResponseWriter, r *http.Request, p problem, s session) {
	v := messageView{frame: c.frame(s, p.heading, ""), Heading: p.heading, Paragraphs: p.paragraphs}
	if s.signedIn() {
		v.Links = []link{{prefix, "Back to the overview"}}
	} else {
		v.Links = []link{{signInPath, "Sign in"}}
	}
	c.render(w, r, p.status, "message.html", v)
}

// userError says whether err is the admin's to fix, with its status and
// reason worded for the page.
func userError(err error) (status int, reason string, ok bool) {
	switch {
	case errors.Is(err, admin.ErrNotFound), errors.Is(err, admin.ErrNothingNew):
		status = http.StatusNotFound
	case errors.Is(err, admin.ErrInvalidTarget), errors.Is(err, admin.ErrUnknownTopic), errors.Is(err, admin.ErrBadRequest):
		status = http.StatusBadRequest
	default:
		return 0, "", false
	}
	return status, upperFirst(err.Error()) + ".", true
}

// fail answers a request the admin functions could not serve: the user's
// mistakes with their reason, anything else with the generic page only and
// a log line saying what op failed.
func (c *console) fail(w http.ResponseWriter, r *http.Request, s session, op string, err error) {
	if status, reason, ok := userError(err); ok {
		heading := "Not found"
		if status == http.StatusBadRequest {
			heading = "That did not work"
		}
		c.renderProblem(w, r, problem{status, heading, []string{reason}}, s)
		return
	}
	c.log.ErrorContext(r.Context(), "console request failed", "method", r.Method, "path", r.URL.Path, "op", op, "err", err)
	c.renderProblem(w, r, internalProblem, s)
}

func upperFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

// loadAssets reads the embedded static files, served under the console's
// prefix. It panics if they cannot be read, which the package's tests rule
// out.
func loadAssets() *pagekit.Assets {
	assets, err := pagekit.LoadAssets(prefix+"/static/", staticFiles, "static")
	if err != nil {
		panic(err)
	}
	return assets
}
