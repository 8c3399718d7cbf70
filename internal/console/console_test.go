package console

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/tokens"
)

// pageRoutes are the console's pages, each of which needs a session.
var pageRoutes = []string{
	"/admin/console",
	"/admin/console/",
	"/admin/console/items?topic=ai",
	"/admin/console/subscribers?email=ada@example.org",
	"/admin/console/runs",
	"/admin/console/runs/run-001",
	"/admin/console/send",
	"/admin/console/preview?topic=ai",
	"/admin/console/preview/raw?topic=ai",
	"/admin/console/audit",
	"/admin/console/ingest/ingest-1",
}

func TestPagesRedirectToSignInWithoutASession(t *testing.T) {
	h := newHarness(t)
	expired := h.keys.Sign(sessionSubjectPrefix+"old", tokens.Session, start.Add(-time.Minute))
	otherKey, err := tokens.NewKeyring("k9", map[string][]byte{"k9": []byte(strings.Repeat("x", 32))})
	if err != nil {
		t.Fatal(err)
	}
	cookies := []struct {
		name   string
		cookie *http.Cookie
	}{
		{"no cookie", nil},
		{"garbage", &http.Cookie{Name: cookieName, Value: "not-a-token"}},
		{"expired", &http.Cookie{Name: cookieName, Value: expired}},
		{"signed by another key", &http.Cookie{Name: cookieName, Value: otherKey.Sign(sessionSubjectPrefix+"x", tokens.Session, start.Add(time.Hour))}},
		{"signed for another purpose", &http.Cookie{Name: cookieName, Value: h.keys.Sign(sessionSubjectPrefix+"x", tokens.Preferences, start.Add(time.Hour))}},
		{"a csrf token", &http.Cookie{Name: cookieName, Value: h.keys.Sign(csrfSubjectPrefix+"x", tokens.Session, time.Time{})}},
	}
	for _, route := range pageRoutes {
		for _, c := range cookies {
			t.Run(route+"/"+c.name, func(t *testing.T) {
				rec := h.get(route, c.cookie)
				if rec.Code != http.StatusSeeOther {
					t.Fatalf("status %d, want 303", rec.Code)
				}
				loc := rec.Header().Get("Location")
				if !strings.HasPrefix(loc, "/admin/console/signin") {
					t.Errorf("Location %q, want the sign-in page", loc)
				}
				if route != "/admin/console" {
					u, _ := url.Parse(loc)
					if next := u.Query().Get("next"); next != route {
						t.Errorf("next = %q, want %q", next, route)
					}
				}
			})
		}
	}
}

func TestPostsWithoutASessionAreRefused(t *testing.T) {
	h := newHarness(t)
	forms := map[string]url.Values{
		"/admin/console/send":         {"target": {"all"}, "dry_run": {"false"}, "key": {"AAAAAAAAAAAAAAAAAAAAAAAAAA"}, "csrf": {"x"}},
		"/admin/console/preview/send": {"topic": {"ai"}, "to": {"me@example.org"}, "csrf": {"x"}},
		"/admin/console/ingest":       {"csrf": {"x"}},
	}
	for route, form := range forms {
		rec := h.post(route, form, nil)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("POST %s: status %d, want 401", route, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), "Signed out") {
			t.Errorf("POST %s: not the signed-out page", route)
		}
	}
	if n := h.fake.triggerCount(); n != 0 {
		t.Errorf("%d triggers without a session", n)
	}
	if len(h.fake.ingests) != 0 {
		t.Error("an ingest started without a session")
	}
	if len(h.fake.sentTests()) != 0 {
		t.Error("a test mail was sent without a session")
	}
}

func TestSignInSetsAStrictSessionCookie(t *testing.T) {
	h := newHarness(t)
	page := h.get("/admin/console/signin", nil)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `type="password" id="token" name="token"`) {
		t.Fatalf("sign-in page: status %d, no password field:\n%s", page.Code, page.Body)
	}

	rec := h.post("/admin/console/signin", url.Values{"token": {testToken}}, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/console" {
		t.Fatalf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("%d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	if c.Name != "rg_admin" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin/console" || c.MaxAge != 12*60*60 {
		t.Errorf("cookie %+v, want rg_admin HttpOnly Secure SameSite=Strict Path=/admin/console Max-Age=43200", c)
	}
	subject, err := h.keys.Verify(c.Value, tokens.Session, start)
	if err != nil || !strings.HasPrefix(subject, sessionSubjectPrefix) {
		t.Errorf("cookie value verifies to %q, %v", subject, err)
	}
	if _, err := h.keys.Verify(c.Value, tokens.Session, start.Add(12*time.Hour)); !errors.Is(err, tokens.ErrExpired) {
		t.Errorf("the session is still valid after 12 hours: %v", err)
	}
	if got := h.fake.auditActions(); !slices.Equal(got, []string{"signin"}) {
		t.Errorf("audit %v, want a sign-in", got)
	}

	if rec := h.get("/admin/console", c); rec.Code != http.StatusOK {
		t.Errorf("overview with the cookie: status %d", rec.Code)
	}
	h.clock.advance(12*time.Hour + time.Second)
	if rec := h.get("/admin/console", c); rec.Code != http.StatusSeeOther {
		t.Errorf("overview after 12 hours: status %d, want a redirect to sign in", rec.Code)
	}
}

func TestWrongTokenIsRefusedAndAudited(t *testing.T) {
	h := newHarness(t)
	guesses := []string{"", "guess-2718281828", testToken + "x", strings.ToUpper(testToken)}
	for _, token := range guesses {
		rec := h.post("/admin/console/signin", url.Values{"token": {token}}, nil)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", token, rec.Code)
		}
		if len(rec.Result().Cookies()) != 0 {
			t.Errorf("token %q: a cookie was set", token)
		}
		if !strings.Contains(rec.Body.String(), "That is not the admin token") {
			t.Errorf("token %q: the page does not say why", token)
		}
	}
	actions := h.fake.auditActions()
	if len(actions) != 4 || slices.ContainsFunc(actions, func(a string) bool { return a != "signin.failed" }) {
		t.Errorf("audit %v, want 4 failed sign-ins", actions)
	}
	for _, e := range h.fake.audit {
		if strings.Contains(e.Detail, "guess-") || strings.Contains(e.Detail, testToken[:10]) || e.Client != testClient || e.Actor != "admin (console)" {
			t.Errorf("audit entry %+v: want the client and no token", e)
		}
	}
}

func TestNoTokenConfiguredRefusesEveryone(t *testing.T) {
	h := newHarness(t)
	handlers := h.handlers()
	handlers.Token = ""
	mux := http.NewServeMux()
	c := handlers.console()
	c.failureDelay = 0
	c.register(mux)
	h.handler = mux
	if rec := h.post("/admin/console/signin", url.Values{"token": {""}}, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("empty token against no configured token: status %d, want 401", rec.Code)
	}
}

func TestRepeatedWrongTokensArePaused(t *testing.T) {
	h := newHarness(t)
	for range maxSignInFailures {
		h.post("/admin/console/signin", url.Values{"token": {"guess"}}, nil)
	}
	rec := h.post("/admin/console/signin", url.Values{"token": {testToken}}, nil)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("after %d failures the right token gets status %d (Retry-After %q), want 429", maxSignInFailures, rec.Code, rec.Header().Get("Retry-After"))
	}
	h.clock.advance(signInFailureWindow)
	if rec := h.post("/admin/console/signin", url.Values{"token": {testToken}}, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("after the window: status %d, want 303", rec.Code)
	}
}

func TestFailureLimiterBoundsItsMemory(t *testing.T) {
	l := NewFailureLimiter(2, time.Minute)
	for i := range maxTrackedClients + 50 {
		l.Fail(fmt.Sprintf("198.51.100.%d", i), start)
	}
	if len(l.byClient) > maxTrackedClients+1 {
		t.Errorf("%d clients tracked, want at most %d", len(l.byClient), maxTrackedClients+1)
	}
	if l.Allow("192.0.2.1", start) {
		t.Error("a new client is allowed although the overflow count is spent")
	}
	if !l.Allow("192.0.2.1", start.Add(time.Minute)) {
		t.Error("the overflow count did not expire")
	}
}

func TestSignInRedirectsOnlyIntoTheConsole(t *testing.T) {
	tests := []struct {
		next string
		want string
	}{
		{"/admin/console/runs/run-7", "/admin/console/runs/run-7"},
		{"/admin/console/items?topic=ai&society=esr", "/admin/console/items?topic=ai&society=esr"},
		{"/admin/console", "/admin/console"},
		{"", "/admin/console"},
		{"https://evil.example/", "/admin/console"},
		{"//evil.example/admin/console/", "/admin/console"},
		{"/\\evil.example", "/admin/console"},
		{"/admin/console/\\evil.example", "/admin/console"},
		{"/admin/consolex", "/admin/console"},
		{"/admin/console/../../evil", "/admin/console"},
		{"/admin/console/%2e%2e/%2e%2e/evil", "/admin/console"},
		{"javascript:alert(1)", "/admin/console"},
		{"/admin/console/\r\nSet-Cookie: x=y", "/admin/console"},
		{"http:/admin/console/x", "/admin/console"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			h := newHarness(t)
			rec := h.post("/admin/console/signin", url.Values{"token": {testToken}, "next": {tt.next}}, nil)
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d", rec.Code)
			}
			loc := rec.Header().Get("Location")
			if loc != tt.want {
				t.Errorf("Location %q, want %q", loc, tt.want)
			}
			if u, err := url.Parse(loc); err != nil || u.Host != "" || strings.HasPrefix(loc, "//") {
				t.Errorf("Location %q leaves the site", loc)
			}
			page := h.get("/admin/console/signin?next="+url.QueryEscape(tt.next), nil)
			if tt.want != tt.next && strings.Contains(page.Body.String(), `name="next"`) {
				t.Errorf("the sign-in form carries the unsafe next %q", tt.next)
			}
		})
	}
}

func TestSignOutClearsTheCookie(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	csrf := h.csrf(cookie)

	if rec := h.post("/admin/console/signout", url.Values{}, cookie); rec.Code != http.StatusForbidden {
		t.Errorf("sign-out without csrf: status %d, want 403", rec.Code)
	}
	rec := h.post("/admin/console/signout", url.Values{"csrf": {csrf}}, cookie)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/console/signin" {
		t.Fatalf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	cleared := rec.Result().Cookies()
	if len(cleared) != 1 || cleared[0].Name != cookieName || cleared[0].MaxAge >= 0 || cleared[0].Value != "" || cleared[0].Path != "/admin/console" {
		t.Errorf("cookies %+v, want rg_admin cleared", cleared)
	}
	if got := h.fake.auditActions(); !slices.Equal(got, []string{"signin", "signout"}) {
		t.Errorf("audit %v", got)
	}
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	csrf := h.csrf(cookie)
	other := h.csrf(h.signIn())
	if csrf == other {
		t.Fatal("two sessions share a csrf token")
	}
	subject, err := h.keys.Verify(cookie.Value, tokens.Session, start)
	if err != nil {
		t.Fatal(err)
	}
	sessionID := strings.TrimPrefix(subject, sessionSubjectPrefix)
	tokensTried := []struct {
		name, csrf string
	}{
		{"missing", ""},
		{"wrong", "1.k1.abc.session.0.def"},
		{"another session's", other},
		{"the session cookie", cookie.Value},
		{"signed for another purpose", h.keys.Sign(csrfSubjectPrefix+sessionID, tokens.Preferences, time.Time{})},
		{"a session token", h.keys.Sign(sessionSubjectPrefix+sessionID, tokens.Session, time.Time{})},
	}
	forms := map[string]url.Values{
		"/admin/console/send":         {"target": {"topic"}, "topic": {"ai"}, "dry_run": {"false"}, "key": {"AAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		"/admin/console/preview/send": {"topic": {"ai"}, "to": {"me@example.org"}},
		"/admin/console/signout":      {},
		"/admin/console/ingest":       {},
	}
	for route, form := range forms {
		for _, tt := range tokensTried {
			t.Run(route+"/"+tt.name, func(t *testing.T) {
				f := url.Values{}
				for k, v := range form {
					f[k] = v
				}
				if tt.csrf != "" {
					f.Set("csrf", tt.csrf)
				}
				rec := h.post(route, f, cookie)
				if rec.Code != http.StatusForbidden {
					t.Errorf("status %d, want 403", rec.Code)
				}
				if len(rec.Result().Cookies()) != 0 {
					t.Error("the refused form changed the cookie")
				}
			})
		}
	}
	if n := h.fake.triggerCount(); n != 0 {
		t.Errorf("%d triggers from refused forms", n)
	}
	if len(h.fake.ingests) != 0 {
		t.Error("a refused form started an ingest")
	}
	if len(h.fake.sentTests()) != 0 {
		t.Error("a refused form sent a test mail")
	}
	// The token a page carries does work.
	rec := h.post("/admin/console/preview/send", url.Values{"topic": {"ai"}, "to": {"me@example.org"}, "csrf": {csrf}}, cookie)
	if rec.Code != http.StatusOK || len(h.fake.sentTests()) != 1 {
		t.Errorf("with the page's token: status %d, %d test sends", rec.Code, len(h.fake.sentTests()))
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	csrf := h.csrf(cookie)
	tests := []struct {
		origin, fetchSite string
		allowed           bool
	}{
		{testOrigin, "", true},
		{"HTTP://CONSOLE.TEST", "", true},
		{"", "", true}, // not a browser: the CSRF token still decides
		{"", "same-origin", true},
		// Under Referrer-Policy: no-referrer, Chromium sends Origin: null for
		// the console's own forms.
		{"null", "same-origin", true},
		{testOrigin, "same-origin", true},
		{"https://evil.example", "", false},
		{"https://evil.example", "same-origin", false},
		{"http://console.test.evil.example", "", false},
		{"http://console.test:8080", "", false},
		{"null", "", false},
		{"null", "cross-site", false}, // a sandboxed frame
		{"", "cross-site", false},
		{"", "same-site", false},
		{"file://", "", false},
		{"not a url", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin+"/"+tt.fetchSite, func(t *testing.T) {
			send := func(target string, form url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodPost, testOrigin+target, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if tt.origin != "" {
					req.Header.Set("Origin", tt.origin)
				}
				if tt.fetchSite != "" {
					req.Header.Set("Sec-Fetch-Site", tt.fetchSite)
				}
				if cookie != nil {
					req.AddCookie(cookie)
				}
				rec := httptest.NewRecorder()
				h.handler.ServeHTTP(rec, req)
				return rec
			}
			before := len(h.fake.sentTests())
			rec := send("/admin/console/preview/send", url.Values{"topic": {"ai"}, "to": {"me@example.org"}, "csrf": {csrf}}, cookie)
			signIn := send("/admin/console/signin", url.Values{"token": {testToken}}, nil)
			sent := len(h.fake.sentTests()) - before
			if tt.allowed {
				if rec.Code != http.StatusOK || sent != 1 || signIn.Code != http.StatusSeeOther {
					t.Errorf("test send: status %d, %d sent; sign-in: status %d; want both allowed", rec.Code, sent, signIn.Code)
				}
				return
			}
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "sent from another site") || sent != 0 {
				t.Errorf("test send: status %d, %d sent; want 403 and nothing sent", rec.Code, sent)
			}
			if signIn.Code != http.StatusForbidden || len(signIn.Result().Cookies()) != 0 {
				t.Errorf("sign-in: status %d, want 403 and no cookie", signIn.Code)
			}
		})
	}
}

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	routes := append([]string{"/admin/console/signin", "/admin/console/nowhere", "/admin/console/runs/unknown"}, pageRoutes...)
	for _, route := range routes {
		for _, c := range []*http.Cookie{nil, cookie} {
			rec := h.get(route, c)
			hdr := rec.Header()
			csp := hdr.Get("Content-Security-Policy")
			if strings.HasPrefix(route, "/admin/console/preview/raw") && c != nil {
				continue // its own policy, tested below
			}
			for _, want := range []string{"default-src 'self'", "frame-src 'self'", "form-action 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s (cookie %v): CSP %q lacks %q", route, c != nil, csp, want)
				}
			}
			if hdr.Get("Referrer-Policy") != "no-referrer" || hdr.Get("X-Content-Type-Options") != "nosniff" || hdr.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: headers %v", route, hdr)
			}
		}
	}
}

func TestRawPreviewIsSandboxed(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	rec := h.get("/admin/console/preview/raw?topic=ai", cookie)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	hdr := rec.Header()
	if got := hdr.Get("Content-Security-Policy"); got != "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'" {
		t.Errorf("CSP %q", got)
	}
	if hdr.Get("X-Frame-Options") != "SAMEORIGIN" || hdr.Get("Content-Type") != "text/html; charset=utf-8" || hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", hdr)
	}
	if body := rec.Body.String(); !strings.Contains(body, `<h1 id="mail-subject">Radiogram sample: AI &amp; informatics</h1>`) {
		t.Errorf("body is not the mail's HTML:\n%s", body)
	}

	// Every answer of the raw route keeps the sandbox, errors included.
	for _, target := range []string{"/admin/console/preview/raw", "/admin/console/preview/raw?topic=nope", "/admin/console/preview/raw?subscriber=nobody@example.org", "/admin/console/preview/raw?subscriber=pat@example.org&topic=ai"} {
		rec := h.get(target, cookie)
		if rec.Code < 400 || !strings.HasPrefix(rec.Header().Get("Content-Security-Policy"), "sandbox;") {
			t.Errorf("%s: status %d, CSP %q", target, rec.Code, rec.Header().Get("Content-Security-Policy"))
		}
	}
	// A text-only mail shows its text, escaped.
	h.fake.items[0].Title = "<b>bold</b>"
	rec = h.get("/admin/console/preview/raw?subscriber=grace@example.org", cookie)
	if body := rec.Body.String(); !strings.Contains(body, "<pre>") || !strings.Contains(body, "&lt;b&gt;bold&lt;/b&gt;") {
		t.Errorf("text-only raw preview:\n%s", body)
	}
}

func TestPreviewPageFramesTheMailAndShowsItsText(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	rec := h.get("/admin/console/preview?topic=ai", cookie)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	for _, want := range []string{
		`<dd id="subject" class="subject">Radiogram sample: AI &amp; informatics</dd>`,
		`<iframe id="mail-html" class="mail-frame" sandbox src="/admin/console/preview/raw?topic=ai"`,
		`href="/admin/console/preview?topic=ai&amp;view=text"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the preview page lacks %s", want)
		}
	}
	text := h.get("/admin/console/preview?topic=ai&view=text", cookie).Body.String()
	if !strings.Contains(text, `<pre id="mail-text" class="mail-text">Radiogram sample: AI &amp; informatics`) || strings.Contains(text, "<iframe") {
		t.Errorf("the text tab:\n%s", text)
	}
	// A text-only subscriber has no HTML tab.
	plain := h.get("/admin/console/preview?subscriber=grace@example.org", cookie).Body.String()
	if strings.Contains(plain, "<iframe") || strings.Contains(plain, `id="tab-html"`) || !strings.Contains(plain, `id="mail-text"`) {
		t.Errorf("text-only preview shows an HTML version")
	}
}

func TestTestSendMailsThePreview(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	csrf := h.csrf(cookie)
	tests := []struct {
		name      string
		form      url.Values
		status    int
		wantSends int
		wantText  string
	}{
		{"topic", url.Values{"topic": {"ai"}, "to": {"editor@society.example"}}, http.StatusOK, 1, "A test copy was sent to <strong>editor@society.example</strong>"},
		{"subscriber", url.Values{"subscriber": {"ada@example.org"}, "to": {"editor@society.example"}}, http.StatusOK, 1, "A test copy was sent"},
		{"no address", url.Values{"topic": {"ai"}, "to": {""}}, http.StatusBadRequest, 0, "Enter an email address."},
		{"not an address", url.Values{"topic": {"ai"}, "to": {"editor at society"}}, http.StatusBadRequest, 0, "Enter an email address in the form"},
		{"unknown subscriber", url.Values{"subscriber": {"nobody@example.org"}, "to": {"editor@society.example"}}, http.StatusNotFound, 0, "No subscriber has that address"},
		{"nothing to preview", url.Values{"to": {"editor@society.example"}}, http.StatusBadRequest, 0, "Choose a subscriber or a topic"},
		{"both", url.Values{"subscriber": {"ada@example.org"}, "topic": {"ai"}, "to": {"editor@society.example"}}, http.StatusBadRequest, 0, "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.fake.sentTests())
			tt.form.Set("csrf", csrf)
			rec := h.post("/admin/console/preview/send", tt.form, cookie)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if !strings.Contains(rec.Body.String(), tt.wantText) {
				t.Errorf("the page lacks %q", tt.wantText)
			}
			sends := h.fake.sentTests()
			if len(sends)-before != tt.wantSends {
				t.Fatalf("%d test sends, want %d", len(sends)-before, tt.wantSends)
			}
			if tt.wantSends == 1 {
				got := sends[len(sends)-1]
				if got.to != "editor@society.example" || got.actor != "admin (console)" || got.req != (admin.PreviewRequest{Subscriber: tt.form.Get("subscriber"), Topic: tt.form.Get("topic")}) {
					t.Errorf("test send %+v", got)
				}
			}
		})
	}
}

var keyField = regexp.MustCompile(`name="key" value="([A-Z2-7]+)"`)

func TestSendDryRunsFirstThenSendsOnce(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	csrf := h.csrf(cookie)

	rec := h.post("/admin/console/send", url.Values{"csrf": {csrf}, "target": {"topic"}, "topic": {"ai"}, "dry_run": {"true"}}, cookie)
	if rec.Code != http.StatusOK {
		t.Fatalf("dry run: status %d\n%s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{"Dry run: Topic: AI &amp; informatics", "ada@example.org", "grace@example.org", "mallory@example.org", "suppressed (bounced)", "Foundation models read chest X-rays", "Send for real"} {
		if !strings.Contains(body, want) {
			t.Errorf("the dry-run page lacks %q", want)
		}
	}
	if h.fake.realRuns() != 0 {
		t.Fatal("the dry run sent")
	}
	key := keyField.FindStringSubmatch(body)
	if key == nil {
		t.Fatal("the confirmation carries no idempotency key")
	}
	confirm := url.Values{"csrf": {csrf}, "target": {"topic"}, "topic": {"ai"}, "dry_run": {"false"}, "key": {key[1]}}

	// A double click posts the confirmation twice.
	var locations []string
	for range 2 {
		rec := h.post("/admin/console/send", confirm, cookie)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("confirm: status %d\n%s", rec.Code, rec.Body)
		}
		locations = append(locations, rec.Header().Get("Location"))
	}
	if locations[0] != locations[1] || !strings.HasPrefix(locations[0], "/admin/console/runs/") {
		t.Errorf("the confirmations lead to %v, want one run", locations)
	}
	if n := h.fake.realRuns(); n != 1 {
		t.Errorf("%d real runs, want 1", n)
	}
	for _, req := range h.fake.triggers {
		if req.Actor != "admin (console)" || req.Target != "topic:ai" {
			t.Errorf("trigger %+v", req)
		}
		if !req.DryRun && req.IdempotencyKey != key[1] {
			t.Errorf("real trigger without the confirmation's key: %+v", req)
		}
	}

	run := h.get(locations[0], cookie)
	if run.Code != http.StatusOK {
		t.Fatalf("run page: status %d", run.Code)
	}
	for _, want := range []string{`data-count="planned">2<`, `data-count="sent">1<`, `data-count="failed">1<`, "SES throttled: maximum sending rate exceeded", "Skipped: suppressed"} {
		if !strings.Contains(run.Body.String(), want) {
			t.Errorf("the run page lacks %s", want)
		}
	}

	// A second dry run gets a key of its own.
	again := h.post("/admin/console/send", url.Values{"csrf": {csrf}, "target": {"all"}}, cookie)
	if k := keyField.FindStringSubmatch(again.Body.String()); k == nil || k[1] == key[1] {
		t.Errorf("second dry run key %v, want a new one", k)
	}
}

func TestSendFormShowsTheUsersMistakes(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	csrf := h.csrf(cookie)
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"no target", url.Values{}, http.StatusBadRequest, "Choose whom to send to"},
		{"unknown topic", url.Values{"target": {"topic"}, "topic": {"nope"}}, http.StatusBadRequest, "Choose one of the topics."},
		{"no address", url.Values{"target": {"subscriber"}}, http.StatusBadRequest, "Enter an email address."},
		{"unknown subscriber", url.Values{"target": {"subscriber"}, "email": {"nobody@example.org"}}, http.StatusNotFound, "No subscriber has that address"},
		{"confirmation without key", url.Values{"target": {"all"}, "dry_run": {"false"}}, http.StatusBadRequest, "This confirmation is incomplete"},
		{"confirmation with a made-up key", url.Values{"target": {"all"}, "dry_run": {"false"}, "key": {"1"}}, http.StatusBadRequest, "This confirmation is incomplete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("csrf", csrf)
			rec := h.post("/admin/console/send", tt.form, cookie)
			body := rec.Body.String()
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if !strings.Contains(body, tt.want) || !strings.Contains(body, `<form method="post" action="/admin/console/send"`) {
				t.Errorf("the form is not shown again with %q:\n%s", tt.want, body)
			}
			if !strings.Contains(body, "<title>Error: Send") {
				t.Error("the title does not say there is an error")
			}
		})
	}
	if n := h.fake.realRuns(); n != 0 {
		t.Errorf("%d real runs", n)
	}
}

func TestServiceErrorsAreWordedForStaff(t *testing.T) {
	secret := fmt.Errorf("read table: %w", errors.New("dynamodb: AccessDenied for arn:aws:iam::123456789012:role/secret"))
	tests := []struct {
		name   string
		method string // the fake's method to fail
		err    error
		route  string
		status int
		want   string
	}{
		{"run not found", "", nil, "/admin/console/runs/run-404", http.StatusNotFound, "Not found"},
		{"unknown subscriber", "", nil, "/admin/console/subscribers?email=nobody@example.org", http.StatusNotFound, "No subscriber has that address"},
		{"unknown topic filter", "", nil, "/admin/console/items?topic=nope", http.StatusBadRequest, "Unknown topic"},
		{"preview unknown subscriber", "", nil, "/admin/console/preview?subscriber=nobody@example.org", http.StatusNotFound, "No subscriber has that address"},
		{"preview both", "", nil, "/admin/console/preview?subscriber=ada@example.org&topic=ai", http.StatusBadRequest, "not both"},
		{"preview bad request", "Preview", fmt.Errorf("%w: that subscriber gets nothing now", admin.ErrBadRequest), "/admin/console/preview?subscriber=ada@example.org", http.StatusBadRequest, "Bad request: that subscriber gets nothing now."},
		{"summary down", "Summary", secret, "/admin/console", http.StatusInternalServerError, "Something went wrong"},
		{"feeds down", "Feeds", secret, "/admin/console/items", http.StatusInternalServerError, "Something went wrong"},
		{"runs down", "Runs", secret, "/admin/console/runs", http.StatusInternalServerError, "Something went wrong"},
		{"run down", "Run", secret, "/admin/console/runs/run-1", http.StatusInternalServerError, "Something went wrong"},
		{"audit down", "Audit", secret, "/admin/console/audit", http.StatusInternalServerError, "Something went wrong"},
		{"subscriber down", "Subscriber", secret, "/admin/console/subscribers?email=ada@example.org", http.StatusInternalServerError, "Something went wrong"},
		{"preview down", "Preview", secret, "/admin/console/preview?topic=ai", http.StatusInternalServerError, "Something went wrong"},
		{"unknown page", "", nil, "/admin/console/nowhere", http.StatusNotFound, "There is nothing at this address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			cookie := h.signIn()
			if tt.method != "" {
				h.fake.setError(tt.method, tt.err)
			}
			rec := h.get(tt.route, cookie)
			body := rec.Body.String()
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("the page lacks %q:\n%s", tt.want, body)
			}
			if strings.Contains(body, "arn:aws") || strings.Contains(body, "goroutine") {
				t.Error("the page shows the internal error")
			}
			if tt.status == http.StatusInternalServerError && !strings.Contains(h.logs.String(), "AccessDenied") {
				t.Error("the internal error was not logged")
			}
		})
	}
}

func TestTriggerFailuresKeepTheForm(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	csrf := h.csrf(cookie)
	h.fake.setError("Trigger", fmt.Errorf("plan: %w", errors.New("sqs: queue does not exist")))
	rec := h.post("/admin/console/send", url.Values{"csrf": {csrf}, "target": {"all"}}, cookie)
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "sqs") {
		t.Errorf("status %d, body shows the error: %v", rec.Code, strings.Contains(rec.Body.String(), "sqs"))
	}
	h.fake.setError("Trigger", fmt.Errorf("target %q: %w", "topic:", admin.ErrInvalidTarget))
	rec = h.post("/admin/console/send", url.Values{"csrf": {csrf}, "target": {"all"}}, cookie)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "target must be all, topic:&lt;id&gt; or subscriber:&lt;email&gt;") {
		t.Errorf("invalid target: status %d\n%s", rec.Code, rec.Body)
	}
}

func TestSignInFailsClosedWhenTheAuditIsDown(t *testing.T) {
	h := newHarness(t)
	h.fake.setError("Record", errors.New("dynamodb: throttled"))
	rec := h.post("/admin/console/signin", url.Values{"token": {testToken}}, nil)
	if rec.Code != http.StatusInternalServerError || len(rec.Result().Cookies()) != 0 {
		t.Errorf("status %d, cookies %v: want 500 and no session", rec.Code, rec.Result().Cookies())
	}
}

func TestOverviewShowsHealthAndCounts(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	csrf := h.csrf(cookie)
	h.post("/admin/console/send", url.Values{"csrf": {csrf}, "target": {"all"}}, cookie)
	rec := h.get("/admin/console", cookie)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	for _, want := range []string{
		"2 of 3 feeds are failing",
		"GET https://rsna.example/press.xml: 503 Service Unavailable",
		"gone (disabled)",
		"20 minutes ago",
		`<span class="badge badge-confirmed">confirmed</span></th><td class="num">4</td>`,
		`<span class="badge badge-pending">pending</span></th><td class="num">1</td>`,
		`AI &amp; informatics</a></th><td class="num">3</td>`,
		`<th scope="row">weekly</th><td class="num">2</td>`,
		"Everyone",
		`href="/admin/console/runs/run-001"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview lacks %s", want)
		}
	}
	// Failing feeds come first and are marked.
	rsna, esr := strings.Index(body, "RSNA press releases"), strings.Index(body, "ESR news")
	if rsna < 0 || esr < 0 || rsna > esr {
		t.Error("the failing feed is not listed before the healthy one")
	}
	feedTable, _, _ := strings.Cut(body[strings.Index(body, `<table id="feeds">`):], "</table>")
	if n := strings.Count(feedTable, `<tr class="failing">`); n != 2 {
		t.Errorf("%d rows marked failing, want 2", n)
	}
}

func TestSubscriberPageShowsTheSendLog(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	rec := h.get("/admin/console/subscribers?email=ada@example.org", cookie)
	body := rec.Body.String()
	for _, want := range []string{"ada@example.org", "AI &amp; informatics, Cancer imaging", "daily at 07:00", "Europe/Vienna", "2026-11-22T06:00:00Z#digest", "0100019a-ses-message-2", "bounce: Transient/MailboxFull", "2 attempts", `href="/admin/console/runs/run-sched"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the subscriber page lacks %s", want)
		}
	}
	suppressed := h.get("/admin/console/subscribers?email=mallory@example.org", cookie).Body.String()
	if !strings.Contains(suppressed, "suppressed: bounced") {
		t.Error("the suppression is not shown")
	}
	empty := h.get("/admin/console/subscribers", cookie)
	if empty.Code != http.StatusOK || strings.Contains(empty.Body.String(), "There is a problem") || strings.Contains(empty.Body.String(), "error-message") {
		t.Error("the empty look-up form shows an error")
	}
}

func TestItemsPageFilters(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	body := h.get("/admin/console/items?topic=cancer", cookie).Body.String()
	if !strings.Contains(body, "Lung cancer staging guideline updated") || strings.Contains(body, "Foundation models") {
		t.Error("the topic filter is not applied")
	}
	if !strings.Contains(body, `<option value="cancer" selected>`) || !strings.Contains(body, `title="score 6.0">Cancer imaging</span>`) {
		t.Error("the filter or the topics are not shown")
	}
	body = h.get("/admin/console/items?society=esr", cookie).Body.String()
	if strings.Contains(body, "Lung cancer") || !strings.Contains(body, "Deep learning for mammography workflow") || !strings.Contains(body, `<option value="esr" selected>`) {
		t.Error("the society filter is not applied")
	}
}

func TestItemsPageLinksTheNextPage(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	h.fake.mu.Lock()
	for i := range listedItems + 5 {
		h.fake.items = append(h.fake.items, items.Item{Key: fmt.Sprintf("esr-%03d", i), Society: "esr", Title: fmt.Sprintf("Item number %03d", i)})
	}
	h.fake.mu.Unlock()
	first := h.get("/admin/console/items?society=esr", cookie).Body.String()
	next := fmt.Sprintf(`href="/admin/console/items?cursor=%d&amp;society=esr" rel="next">Next page</a>`, listedItems)
	if !strings.Contains(first, next) {
		t.Fatalf("the first page does not link the next: %s", first)
	}
	second := h.get(fmt.Sprintf("/admin/console/items?society=esr&cursor=%d", listedItems), cookie).Body.String()
	if !strings.Contains(second, "Item number 054") || strings.Contains(second, "Item number 000") || strings.Contains(second, "Next page") {
		t.Error("the second page is not the rest of the listing")
	}
	bad := h.get("/admin/console/items?cursor=oops", cookie)
	if bad.Code != http.StatusBadRequest || !strings.Contains(bad.Body.String(), "cursor") {
		t.Errorf("a bad cursor answered %d", bad.Code)
	}
}

func TestDryRunPageOffersTheRealSend(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	csrf := h.csrf(cookie)
	h.post("/admin/console/send", url.Values{"csrf": {csrf}, "target": {"subscriber"}, "email": {"ada@example.org"}}, cookie)
	body := h.get("/admin/console/runs/run-001", cookie).Body.String()
	for _, want := range []string{"dry run", "Who would get what", "ada@example.org", `href="/admin/console/send?email=ada%40example.org&amp;target=subscriber"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the dry run's page lacks %s", want)
		}
	}
	send := h.get("/admin/console/send?email=ada%40example.org&target=subscriber", cookie).Body.String()
	if !strings.Contains(send, `value="subscriber" checked`) || !strings.Contains(send, `value="ada@example.org"`) {
		t.Error("the send form is not filled in from its address")
	}
	// Nobody to send to: no confirmation.
	nobody := h.post("/admin/console/send", url.Values{"csrf": {csrf}, "target": {"topic"}, "topic": {"screening"}}, cookie).Body.String()
	if strings.Contains(nobody, "Send for real") || !strings.Contains(nobody, "nothing to send") {
		t.Error("a dry run that reaches nobody offers to send")
	}
}

// hostile is markup that must come out as text on every page.
const hostile = `<script>alert("x")</script><img/src=x/onerror=alert(1)>`

func TestHostileDataIsEscapedOnEveryPage(t *testing.T) {
	h := newHarness(t)
	email := `"` + strings.ReplaceAll(hostile, " ", "") + `"@example.org`
	h.fake.feeds = append(h.fake.feeds, feeds.Feed{ID: "evil", Society: hostile, Name: hostile, URL: "https://evil.example/?q=" + hostile,
		Enabled: true, LastStatus: feeds.StatusFailed, LastError: hostile, ConsecutiveFailures: 1})
	h.fake.items = append(h.fake.items, items.Item{Key: "evil-1", Society: hostile, Title: hostile, Link: "javascript:alert(1)", Summary: hostile,
		Published: start, Topics: []items.TopicScore{{ID: "ai", Score: 9}}})
	h.fake.members = append(h.fake.members, member{
		detail: admin.SubscriberDetail{
			Subscriber: subscribers.Subscriber{ID: hostile, Email: email, Status: subscribers.StatusConfirmed,
				Preferences: subscribers.Preferences{Topics: []string{"ai", hostile}, Societies: []string{hostile}, Frequency: subscribers.Daily, TimeZone: hostile, Format: subscribers.FormatHTML}},
			Sends: []delivery.Entry{{Period: hostile, RunID: hostile, Status: delivery.LedgerFailed, MessageID: hostile, Reason: hostile, Feedback: hostile}},
		},
		failWith: hostile,
	})
	h.fake.audit = append(h.fake.audit, admin.AuditEntry{At: start, Actor: hostile, Action: hostile, Detail: hostile, Client: hostile})
	h.fake.ingests["evil"] = ingestruns.Run{ID: "evil", Status: ingestruns.StatusFailed, StartedBy: hostile, StartedAt: start, Error: hostile,
		Summary: ingest.Summary{Feeds: []ingest.FeedResult{{Society: hostile, URL: "https://evil.example/?q=" + hostile, Status: feeds.StatusFailed, Error: hostile}}}}
	cookie := h.signIn()
	csrf := h.csrf(cookie)

	dry := h.post("/admin/console/send", url.Values{"csrf": {csrf}, "target": {"subscriber"}, "email": {email}}, cookie)
	key := keyField.FindStringSubmatch(dry.Body.String())
	if key == nil {
		t.Fatalf("no confirmation on the dry run of the hostile subscriber: %d", dry.Code)
	}
	real := h.post("/admin/console/send", url.Values{"csrf": {csrf}, "target": {"subscriber"}, "email": {email}, "dry_run": {"false"}, "key": {key[1]}}, cookie)
	runPage := real.Header().Get("Location")
	testSent := h.post("/admin/console/preview/send", url.Values{"csrf": {csrf}, "subscriber": {email}, "to": {email}}, cookie)

	pages := map[string]string{
		"dry run":   dry.Body.String(),
		"test send": testSent.Body.String(),
		"sign-in":   h.get("/admin/console/signin?next="+url.QueryEscape("/admin/console/"+hostile), nil).Body.String(),
	}
	for _, route := range []string{
		"/admin/console",
		"/admin/console/items",
		"/admin/console/items?society=" + url.QueryEscape(hostile),
		"/admin/console/subscribers?email=" + url.QueryEscape(email),
		"/admin/console/subscribers?email=" + url.QueryEscape(hostile),
		"/admin/console/runs",
		runPage,
		"/admin/console/runs/run-001",
		"/admin/console/runs/" + url.PathEscape(hostile),
		"/admin/console/send?target=subscriber&email=" + url.QueryEscape(email),
		"/admin/console/preview?subscriber=" + url.QueryEscape(email),
		"/admin/console/preview?subscriber=" + url.QueryEscape(email) + "&view=text",
		"/admin/console/preview?subscriber=" + url.QueryEscape(hostile),
		"/admin/console/audit",
		"/admin/console/ingest/evil",
	} {
		pages[route] = h.get(route, cookie).Body.String()
	}
	escaped := html.EscapeString(`<script>alert(`)
	for name, body := range pages {
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img") || strings.Contains(body, `href="javascript:`) {
			t.Errorf("%s: the hostile markup is live", name)
		}
		if !strings.Contains(body, escaped) && !strings.Contains(body, "%3cscript%3e") && !strings.Contains(body, "%3Cscript%3E") {
			t.Errorf("%s: the hostile text is not shown at all", name)
		}
	}
}

func TestStaticFilesAreVersioned(t *testing.T) {
	h := newHarness(t)
	page := h.get("/admin/console/signin", nil).Body.String()
	css := regexp.MustCompile(`href="(/admin/console/static/console\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if css == nil {
		t.Fatal("the page does not link the versioned stylesheet")
	}
	rec := h.get(html.UnescapeString(css[1]), nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: status %d, headers %v", rec.Code, rec.Header())
	}
	if rec := h.get("/admin/console/static/missing.js", nil); rec.Code != http.StatusNotFound {
		t.Errorf("missing static file: status %d", rec.Code)
	}
	base := regexp.MustCompile(`href="(/admin/console/static/base\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if base == nil {
		t.Fatal("the page does not link the shared base stylesheet")
	}
	if rec := h.get(html.UnescapeString(base[1]), nil); rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("base stylesheet: status %d, headers %v", rec.Code, rec.Header())
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]bool{
		"/admin/console":            true,
		"/admin/console/runs":       true,
		"/admin/console/runs?x=1":   true,
		"/admin/console/../../etc":  false,
		"/admin/consoleevil":        false,
		"//admin/console/":          false,
		"https://x/admin/console/":  false,
		"/admin/console/\\x":        false,
		"":                          false,
		"admin/console/runs":        false,
		"/admin/console/x\ny":       false,
		"/admin/console/%0d%0ax:1":  true, // still encoded: a path on this host
		"/admin/console/./../other": false,
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %v, want %v", next, got, want)
		}
	}
}

func TestOverviewWarnsOfDeadLetters(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	if body := h.get("/admin/console", cookie).Body.String(); strings.Contains(body, `id="dead-letters"`) {
		t.Error("a dead-letter warning with an empty queue")
	}
	h.fake.mu.Lock()
	h.fake.dead = 2
	h.fake.mu.Unlock()
	if body := h.get("/admin/console", cookie).Body.String(); !strings.Contains(body, "2 send jobs have failed five times") {
		t.Error("the overview does not warn of 2 jobs in the dead-letter queue")
	}
}

var ingestIDField = regexp.MustCompile(`id="ingest-run-id">([^<]+)<`)

// TestRunIngestShowsTheRun: the overview's button starts an ingest and
// lands on its page, which says it runs; a second click while it runs
// lands on the same run; once the ingest function finished it, the page
// shows the counts and the failed feeds first.
func TestRunIngestShowsTheRun(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	overview := h.get("/admin/console", cookie).Body.String()
	form := regexp.MustCompile(`(?s)<form method="post" action="/admin/console/ingest"[^>]*>.*?name="csrf" value="([^"]+)".*?Run ingest now`).FindStringSubmatch(overview)
	if form == nil {
		t.Fatal("the overview offers no ingest button with the session's csrf token")
	}
	csrf := form[1]

	rec := h.post("/admin/console/ingest", url.Values{"csrf": {csrf}}, cookie)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/console/ingest/ingest-1" {
		t.Fatalf("run ingest: %d, Location %q; want 303 to the run's page", rec.Code, rec.Header().Get("Location"))
	}
	page := h.get("/admin/console/ingest/ingest-1", cookie)
	body := page.Body.String()
	if page.Code != http.StatusOK || !strings.Contains(body, `id="ingest-running"`) || !strings.Contains(body, "badge-running") || strings.Contains(body, `id="ingest-counts"`) {
		t.Fatalf("the page of a running ingest (%d): %s", page.Code, body)
	}
	if m := ingestIDField.FindStringSubmatch(body); m == nil || m[1] != "ingest-1" || !strings.Contains(body, "admin (console)") {
		t.Errorf("the page names run %v started by %q", m, "admin (console)")
	}
	again := h.post("/admin/console/ingest", url.Values{"csrf": {csrf}}, cookie)
	if loc := again.Header().Get("Location"); loc != "/admin/console/ingest/ingest-1" {
		t.Errorf("a second click while it runs went to %q, want the same run", loc)
	}
	if len(h.fake.ingests) != 1 {
		t.Errorf("%d runs, want 1", len(h.fake.ingests))
	}

	h.clock.advance(2 * time.Minute)
	h.fake.finishIngest("ingest-1", "")
	body = h.get("/admin/console/ingest/ingest-1", cookie).Body.String()
	counts := map[string]string{}
	for _, m := range regexp.MustCompile(`data-count="([a-z_]+)">(\d+)<`).FindAllStringSubmatch(body, -1) {
		counts[m[1]] = m[2]
	}
	want := map[string]string{"feeds_ok": "1", "feeds_unchanged": "0", "feeds_failed": "1", "feeds_skipped": "1", "feeds_added": "0", "items_new": "4", "items_updated": "1", "items_skipped": "0"}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("count %s = %q, want %s", k, counts[k], v)
		}
	}
	if !strings.Contains(body, "badge-done") || strings.Contains(body, `id="ingest-running"`) {
		t.Error("a finished run is not shown done")
	}
	if rsna, esr := strings.Index(body, "rsna.example/press.xml"), strings.Index(body, "esr.example/news.rss"); rsna < 0 || esr < 0 || rsna > esr {
		t.Error("the failed feed is not listed first")
	}

	// Finished, the button starts a new run; a failed one says why.
	rec = h.post("/admin/console/ingest", url.Values{"csrf": {csrf}}, cookie)
	if loc := rec.Header().Get("Location"); loc != "/admin/console/ingest/ingest-2" {
		t.Fatalf("after the run finished, the button went to %q", loc)
	}
	h.fake.finishIngest("ingest-2", "seed feed registry: table not found")
	body = h.get("/admin/console/ingest/ingest-2", cookie).Body.String()
	if !strings.Contains(body, `id="ingest-error"`) || !strings.Contains(body, "seed feed registry: table not found") || !strings.Contains(body, "badge-failed") {
		t.Errorf("a failed run's page does not say why: %s", body)
	}

	// An id nobody started.
	if rec := h.get("/admin/console/ingest/ingest-9", cookie); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "ingest-9") {
		t.Errorf("unknown run: %d", rec.Code)
	}
	// The store down: the generic page, nothing started.
	h.fake.setError("StartIngest", errors.New("dynamodb: secret detail"))
	rec = h.post("/admin/console/ingest", url.Values{"csrf": {csrf}}, cookie)
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret detail") {
		t.Errorf("start with the store down: %d", rec.Code)
	}
}
