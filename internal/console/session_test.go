package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/tokens"
)

// sessionIDOf reads the session id a console cookie carries.
func (h *harness) sessionIDOf(cookie *http.Cookie) string {
	h.t.Helper()
	subject, err := h.keys.Verify(cookie.Value, tokens.Session, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return strings.TrimPrefix(subject, sessionSubjectPrefix)
}

// The link-signing key is held by more than the console (the sender
// function signs every mailed link with it): a session cookie made with it
// alone, for a made-up session or a real one, opens nothing.
func TestLinkKeyCannotMakeASessionCookie(t *testing.T) {
	h := newHarness(t)
	linkKeys := testKeyring(t) // the keys the app signs mailed links with
	real := h.sessionIDOf(h.signIn())
	for _, id := range []string{"x", real} {
		forged := &http.Cookie{Name: cookieName, Value: linkKeys.Sign(sessionSubjectPrefix+id, tokens.Session, start.Add(time.Hour))}
		if rec := h.get("/admin/console", forged); rec.Code != http.StatusSeeOther {
			t.Errorf("a cookie signed with the link key for session %q opens the console: status %d", id, rec.Code)
		}
		form := url.Values{"target": {"all"}, "dry_run": {"false"}, "key": {"AAAAAAAAAAAAAAAAAAAAAAAAAA"},
			"csrf": {linkKeys.Sign(csrfSubjectPrefix+id, tokens.Session, time.Time{})}}
		if rec := h.post("/admin/console/send", form, forged); rec.Code != http.StatusUnauthorized {
			t.Errorf("a post with a link-key cookie for session %q: status %d, want 401", id, rec.Code)
		}
	}
	if n := h.fake.triggerCount(); n != 0 {
		t.Errorf("%d sends triggered with a forged cookie", n)
	}
}

// Signing out ends the session on the server: the cookie, replayed, no
// longer works although it has not expired.
func TestSignOutEndsTheSession(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	other := h.signIn()
	rec := h.post("/admin/console/signout", url.Values{"csrf": {h.csrf(cookie)}}, cookie)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign out: status %d", rec.Code)
	}
	if rec := h.get("/admin/console", cookie); rec.Code != http.StatusSeeOther {
		t.Errorf("the signed-out cookie still opens the console: status %d", rec.Code)
	}
	if rec := h.get("/admin/console", other); rec.Code != http.StatusOK {
		t.Errorf("signing out one session ended another: status %d", rec.Code)
	}
}

// A new admin token ends every session opened with the old one.
func TestTokenRotationEndsEverySession(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	rotated := h.handlers()
	rotated.Token = "a-new-admin-token-after-rotation-0123456789"
	mux := http.NewServeMux()
	rotated.Register(mux)
	h.handler = mux
	if rec := h.get("/admin/console", cookie); rec.Code != http.StatusSeeOther {
		t.Errorf("a session of the old token opens the console after rotation: status %d", rec.Code)
	}
	rec := h.post("/admin/console/signin", url.Values{"token": {rotated.Token}}, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign in with the new token: status %d", rec.Code)
	}
	if rec := h.get("/admin/console", rec.Result().Cookies()[0]); rec.Code != http.StatusOK {
		t.Errorf("a session of the new token: status %d", rec.Code)
	}
}

// Each sign-in stores its session until the cookie expires; a session the
// store cannot keep, read or end is no session.
func TestSessionsAreStoredAndFailClosed(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	id := h.sessionIDOf(cookie)
	stored, ok := h.sessions.byID[id]
	if !ok || !stored.expires.Equal(start.Add(sessionLifetime)) || stored.binding == "" || strings.Contains(testToken, stored.binding) {
		t.Fatalf("stored session %+v (found %v), want one until %v bound to the token", stored, ok, start.Add(sessionLifetime))
	}

	h.sessions.setError(errors.New("dynamodb: throttled"))
	if rec := h.get("/admin/console", cookie); rec.Code != http.StatusSeeOther {
		t.Errorf("with the store failing the console opens: status %d", rec.Code)
	}
	rec := h.post("/admin/console/signin", url.Values{"token": {testToken}}, nil)
	if rec.Code != http.StatusInternalServerError || len(rec.Result().Cookies()) != 0 {
		t.Errorf("sign in with the store failing: status %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
	h.sessions.setError(nil)
	csrf := h.csrf(cookie)
	h.sessions.deleteErr = errors.New("dynamodb: throttled")
	if rec := h.post("/admin/console/signout", url.Values{"csrf": {csrf}}, cookie); rec.Code != http.StatusInternalServerError {
		t.Errorf("sign out with the store failing to end the session: status %d, want the error page", rec.Code)
	}
	h.sessions.deleteErr = nil
	if rec := h.post("/admin/console/signout", url.Values{"csrf": {csrf}}, cookie); rec.Code != http.StatusSeeOther || h.sessions.count() != 0 {
		t.Errorf("sign out: status %d, %d sessions left", rec.Code, h.sessions.count())
	}
}

func TestNoSessionStoreSignsNoOneIn(t *testing.T) {
	h := newHarness(t)
	handlers := h.handlers()
	handlers.Sessions = nil
	mux := http.NewServeMux()
	handlers.Register(mux)
	h.handler = mux
	rec := h.post("/admin/console/signin", url.Values{"token": {testToken}}, nil)
	if rec.Code != http.StatusInternalServerError || len(rec.Result().Cookies()) != 0 {
		t.Errorf("sign in without a store: status %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
}
