package app

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/tokens"
)

// TestConsoleSessionsOnTheStack checks the console's sessions over the
// whole stack on moto: a cookie made with the link-signing key opens
// nothing, signing out ends the session stored in the admin table, a new
// admin token ends every session, and wrong tokens, at the console or as
// bearer tokens, are counted together per client.
func TestConsoleSessionsOnTheStack(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:1]))
	srv := newTestAPI(t, a)
	ctx := context.Background()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(h http.Handler, method, path string, form url.Values, cookie *http.Cookie, bearer string) (*http.Response, string) {
		t.Helper()
		req := httptest.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		req.RequestURI = ""
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", srv.URL)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if h != nil {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Result(), rec.Body.String()
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}
	signIn := func(h http.Handler, token string) *http.Cookie {
		t.Helper()
		resp, body := send(h, "POST", "/admin/console/signin", url.Values{"token": {token}}, nil, "")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in: status %d: %s", resp.StatusCode, body)
		}
		for _, c := range resp.Cookies() {
			if c.Name == "rg_admin" {
				return c
			}
		}
		t.Fatal("no session cookie")
		return nil
	}
	opens := func(h http.Handler, cookie *http.Cookie) bool {
		t.Helper()
		resp, _ := send(h, "GET", "/admin/console", nil, cookie, "")
		return resp.StatusCode == http.StatusOK
	}

	cookie := signIn(nil, testAdminToken)
	if !opens(nil, cookie) {
		t.Fatal("the session cookie does not open the console")
	}

	// The link key, which the sender function holds too, makes no session
	// cookie: neither for a made-up session nor for the one just opened.
	fields := strings.Split(cookie.Value, ".")
	subject, err := base64.RawURLEncoding.DecodeString(fields[2])
	if err != nil || !strings.HasPrefix(string(subject), "session:") {
		t.Fatalf("cookie subject %q, %v", subject, err)
	}
	linkKeys, err := a.Keyring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"session:x", string(subject)} {
		forged := &http.Cookie{Name: "rg_admin", Value: linkKeys.Sign(s, tokens.Session, time.Now().Add(time.Hour))}
		if opens(nil, forged) {
			t.Errorf("a cookie signed with the link key for %q opens the console", s)
		}
	}

	// Signing out ends the stored session: the cookie, replayed, is dead.
	_, page := send(nil, "GET", "/admin/console/send", nil, cookie, "")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no csrf token on the send page")
	}
	if resp, body := send(nil, "POST", "/admin/console/signout", url.Values{"csrf": {m[1]}}, cookie, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: status %d: %s", resp.StatusCode, body)
	}
	if opens(nil, cookie) {
		t.Error("the signed-out cookie still opens the console")
	}

	// A new admin token ends the sessions of the old one.
	live := signIn(nil, testAdminToken)
	rotated := reload(t, a, map[string]string{"RADIOGRAM_ADMIN_TOKEN": "a-rotated-admin-token-for-the-console-test"})
	h, err := rotated.APIHandler(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if opens(h, live) {
		t.Error("a session of the old admin token opens the console after rotation")
	}
	if !opens(h, signIn(h, rotated.Config.AdminToken)) {
		t.Error("a session of the new admin token does not open the console")
	}

	// Wrong bearer tokens are throttled per client, and count with the
	// console's wrong sign-ins.
	var status int
	for i := range 20 {
		resp, _ := send(nil, "GET", "/admin/feeds", nil, nil, "guess-"+strings.Repeat("x", i))
		if status = resp.StatusCode; status != http.StatusUnauthorized {
			break
		}
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("20 wrong bearer tokens: last status %d, want 429", status)
	}
	if resp, body := send(nil, "GET", "/admin/feeds", nil, nil, testAdminToken); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "error") {
		t.Errorf("the right token from a throttled client: status %d %s, want 429 with a reason", resp.StatusCode, body)
	}
	if resp, _ := send(nil, "POST", "/admin/console/signin", url.Values{"token": {testAdminToken}}, nil, ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("console sign-in from a throttled client: status %d, want 429", resp.StatusCode)
	}
}
