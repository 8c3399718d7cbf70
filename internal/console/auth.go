package console

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/tokens"
)

const (
	cookieName      = "rg_admin"
	sessionLifetime = 12 * time.Hour
	signInPath      = prefix + "/signin"

	// The session token's subject and a form's CSRF token's subject differ
	// in their prefix, so that neither can stand in for the other although
	// both are signed for tokens.Session.
	sessionSubjectPrefix = "session:"
	csrfSubjectPrefix    = "csrf:"
)

// Guessing the token: each client gets a few tries per window, and every
// wrong one costs a moment.
const (
	maxSignInFailures   = 10
	signInFailureWindow = 15 * time.Minute
	signInFailureDelay  = 750 * time.Millisecond
)

// session is a signed-in admin's session as a request carries it.
type session struct {
	ID   string
	CSRF string // the token every form of this session posts back
}

func (s session) signedIn() bool { return s.ID != "" }

// currentSession reads the session cookie and finds its session stored,
// opened with the current admin token and not expired; the zero session
// means signed out.
func (c *console) currentSession(r *http.Request) session {
	cookie, err := r.Cookie(cookieName)
	if err != nil || c.keys == nil || c.sessions == nil {
		return session{}
	}
	now := c.now()
	subject, err := c.keys.Verify(cookie.Value, tokens.Session, now)
	if err != nil {
		return session{}
	}
	id, ok := strings.CutPrefix(subject, sessionSubjectPrefix)
	if !ok || id == "" {
		return session{}
	}
	binding, expires, found, err := c.sessions.Session(r.Context(), id)
	if err != nil {
		// Unable to tell, the console fails closed.
		c.log.ErrorContext(r.Context(), "read console session", "session", id[:min(8, len(id))], "err", err)
		return session{}
	}
	if !found || !now.Before(expires) || subtle.ConstantTimeCompare([]byte(binding), []byte(c.binding)) != 1 {
		return session{}
	}
	// The CSRF token needs no expiry of its own: it is good only next to
	// the cookie of its session, which ends.
	return session{ID: id, CSRF: c.keys.Sign(csrfSubjectPrefix+id, tokens.Session, time.Time{})}
}

func (c *console) validCSRF(token string, s session) bool {
	if token == "" || c.keys == nil {
		return false
	}
	subject, err := c.keys.Verify(token, tokens.Session, c.now())
	return err == nil && subject == csrfSubjectPrefix+s.ID
}

// pageHandler serves a signed-in admin.
type pageHandler func(w http.ResponseWriter, r *http.Request, s session)

// page admits signed-in admins and sends everyone else to sign in, to come
// back afterwards.
func (c *console) page(next pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.currentSession(r)
		if !s.signedIn() {
			target := signInPath
			if back := r.URL.RequestURI(); safeNext(back) && back != prefix {
				target += "?next=" + url.QueryEscape(back)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		next(w, r, s)
	}
}

// action admits a form post of a signed-in admin that carries the
// session's CSRF token; the form is parsed for next.
func (c *console) action(next pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.currentSession(r)
		if !s.signedIn() {
			c.renderProblem(w, r, signedOutProblem, s)
			return
		}
		if err := r.ParseForm(); err != nil {
			c.renderProblem(w, r, unreadableProblem(err), s)
			return
		}
		if !c.validCSRF(r.PostForm.Get("csrf"), s) {
			c.log.WarnContext(r.Context(), "form without a valid csrf token refused", "path", r.URL.Path, "client", c.clientIP(r))
			c.renderProblem(w, r, csrfProblem, s)
			return
		}
		next(w, r, s)
	}
}

// sameOrigin reports whether a post may have come from the console's own
// pages. A request with neither header is not a browser's, and still needs
// the CSRF token.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	// Under Referrer-Policy: no-referrer, browsers send "Origin: null" even
	// for the console's own forms; Sec-Fetch-Site still tells where the
	// form came from. A sandboxed frame is "cross-site" there.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && (origin == "" || origin == "null") {
		return site == "same-origin"
	}
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return false // includes "null" without Sec-Fetch-Site
	}
	return strings.EqualFold(u.Host, r.Host)
}

// safeNext reports whether next is a console address to return to after
// signing in: a path on this host, never another site.
func safeNext(next string) bool {
	if next == prefix {
		return true
	}
	if !strings.HasPrefix(next, prefix+"/") || strings.ContainsAny(next, "\\\r\n\t") {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return false
	}
	clean := path.Clean(u.Path)
	return clean == prefix || strings.HasPrefix(clean, prefix+"/")
}

type signInView struct {
	frame
	Next    string
	Problem string
}

func (c *console) signInPage(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if !safeNext(next) {
		next = ""
	}
	if c.currentSession(r).signedIn() {
		http.Redirect(w, r, cmp.Or(next, prefix), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "signin.html", signInView{frame: c.frame(session{}, "Sign in", ""), Next: next})
}

func (c *console) signIn(w http.ResponseWriter, r *http.Request) {
	ctx, now, client := r.Context(), c.now(), c.clientIP(r)
	if !c.failures.Allow(client, now) {
		w.Header().Set("Retry-After", strconv.Itoa(int(signInFailureWindow.Seconds())))
		c.renderProblem(w, r, tooManyFailuresProblem, session{})
		return
	}
	if err := r.ParseForm(); err != nil {
		c.renderProblem(w, r, unreadableProblem(err), session{})
		return
	}
	next := r.PostForm.Get("next")
	if !safeNext(next) {
		next = ""
	}
	if !c.tokenMatches(r.PostForm.Get("token")) {
		c.failures.Fail(client, now)
		c.record(ctx, admin.AuditEntry{At: now, Actor: actor, Action: "signin.failed", Detail: "wrong admin token", Client: client})
		c.log.WarnContext(ctx, "console sign-in refused", "client", client)
		pause(ctx, c.failureDelay)
		c.render(w, r, http.StatusUnauthorized, "signin.html", signInView{
			frame:   c.frame(session{}, "Error: Sign in", ""),
			Next:    next,
			Problem: "That is not the admin token. Check it and try again.",
		})
		return
	}

	if c.sessions == nil || c.keys == nil {
		c.fail(w, r, session{}, "open session", errNoSessionStore)
		return
	}
	id := rand.Text()
	// A sign-in that cannot be audited does not happen.
	if err := c.admin.Record(ctx, admin.AuditEntry{At: now, Actor: actor, Action: "signin", Detail: "session " + id[:8], Client: client}); err != nil {
		c.fail(w, r, session{}, "record sign-in", err)
		return
	}
	// Nor one whose end the server could not enforce.
	if err := c.sessions.PutSession(ctx, id, c.binding, now.Add(sessionLifetime)); err != nil {
		c.fail(w, r, session{}, "store session", err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    c.keys.Sign(sessionSubjectPrefix+id, tokens.Session, now.Add(sessionLifetime)),
		Path:     prefix,
		Expires:  now.Add(sessionLifetime),
		MaxAge:   int(sessionLifetime.Seconds()),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, cmp.Or(next, prefix), http.StatusSeeOther)
}

func (c *console) signOut(w http.ResponseWriter, r *http.Request) {
	s := c.currentSession(r)
	if s.signedIn() {
		if err := r.ParseForm(); err != nil {
			c.renderProblem(w, r, unreadableProblem(err), s)
			return
		}
		if !c.validCSRF(r.PostForm.Get("csrf"), s) {
			c.renderProblem(w, r, csrfProblem, s)
			return
		}
		// The stored session goes, so that the cookie, wherever a copy of
		// it is, opens nothing more; a sign-out that cannot end it says so.
		if err := c.sessions.DeleteSession(r.Context(), s.ID); err != nil {
			c.fail(w, r, s, "end session", err)
			return
		}
		c.record(r.Context(), admin.AuditEntry{At: c.now(), Actor: actor, Action: "signout", Detail: "session " + s.ID[:min(8, len(s.ID))], Client: c.clientIP(r)})
	}
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    "",
		Path:     prefix,
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, signInPath, http.StatusSeeOther)
}

// tokenMatches compares hashes, so that neither the token's content nor its
// length shows in the time the comparison takes.
func (c *console) tokenMatches(given string) bool {
	want := sha256.Sum256([]byte(c.token))
	got := sha256.Sum256([]byte(strings.TrimSpace(given)))
	return c.token != "" && subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// record adds an audit entry whose loss must not stop the answer; the log
// keeps what the audit could not.
func (c *console) record(ctx context.Context, e admin.AuditEntry) {
	if err := c.admin.Record(ctx, e); err != nil {
		c.log.ErrorContext(ctx, "record audit entry", "action", e.Action, "client", e.Client, "err", err)
	}
}

func pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
