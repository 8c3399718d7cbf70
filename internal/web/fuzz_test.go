package web

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/subscribers"
)

// The fuzz targets drive POST /subscribe and POST /preferences through the
// registered routes (guard, body limit, decoding, validation with the real
// Normalize) with whatever body and Content-Type a stranger may send.

const multipartType = "multipart/form-data; boundary=fuzzboundary"

func multipartBody(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&b, "--fuzzboundary\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", pairs[i], pairs[i+1])
	}
	b.WriteString("--fuzzboundary--\r\n")
	return b.String()
}

// reset puts the fake back to the two subscribers every test starts with,
// so that iterations neither depend on each other nor pile up state.
func (h *harness) reset() {
	h.fake.mu.Lock()
	h.fake.subs = map[string]subscribers.Subscriber{jane.ID: jane, pat.ID: pat}
	h.fake.signUps, h.fake.manage, h.fake.mutating = nil, nil, 0
	h.fake.mu.Unlock()
	h.logs.Reset()
}

var (
	summaryReason = regexp.MustCompile(`<li><a href="#[^"]*">[^<]*: ([^<]*)</a></li>`)
	headingText   = regexp.MustCompile(`<h1>([^<]*)</h1>`)
	paragraphText = regexp.MustCompile(`<p>([^<]+)</p>`)
)

// checkAnswer fails on a 5xx, and on a 4xx that does not say why: a JSON
// error with an empty reason, or an HTML page with neither a filled-in
// error summary nor a heading and an explanation.
func checkAnswer(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.String()
	if rec.Code >= 500 {
		t.Fatalf("status %d (logs: %s): %.500s", rec.Code, h.logs, body)
	}
	if rec.Code < 400 {
		return
	}
	ct := rec.Header().Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		var e errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
			t.Fatalf("status %d: error answer is not JSON (%v): %.500s", rec.Code, err, body)
		}
		if strings.TrimSpace(e.Error) == "" {
			t.Fatalf("status %d without a reason: %s", rec.Code, body)
		}
	case strings.HasPrefix(ct, "text/html"):
		if strings.Contains(body, `class="error-summary"`) {
			m := summaryReason.FindStringSubmatch(body)
			if m == nil || strings.TrimSpace(html.UnescapeString(m[1])) == "" {
				t.Fatalf("status %d: error summary without a reason: %.2000s", rec.Code, body)
			}
			return
		}
		hm := headingText.FindStringSubmatch(body)
		if hm == nil || strings.TrimSpace(hm[1]) == "" || !paragraphText.MatchString(body) {
			t.Fatalf("status %d: page says nothing about what went wrong: %.2000s", rec.Code, body)
		}
	default:
		t.Fatalf("status %d with Content-Type %q: %.500s", rec.Code, ct, body)
	}
}

func addSeedFile(f *testing.F, path, contentType string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	var ev struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Body == "" {
		f.Fatalf("%s: no body (%v)", path, err)
	}
	f.Add(ev.Body, contentType)
}

func FuzzSubscribe(f *testing.F) {
	addSeedFile(f, filepath.Join("..", "..", "events", "api-post-subscribe.json"), jsonType)
	for _, seed := range []struct{ body, ct string }{
		{`{"email":"New@Example.org","topics":["ai","screening"],"societies":["esr"],"frequency":"weekly","day":"tuesday","hour":18,"timezone":"Asia/Tokyo","format":"text"}`, jsonType},
		{`{"email":"a@example.org","topics":["ai"]}`, ""},
		{`{"email":"a@example.org","topics":["nope"],"hour":24}`, "application/json; charset=utf-8"},
		{`{"email":"a@example.org","hour":-1,"timezone":"Mars/Olympus"}`, jsonType},
		{`{"email":"a@example.org","extra":1}`, jsonType},
		{`{"email":"a@example.org"} {}`, jsonType},
		{`{"email":["x"]}`, jsonType},
		{`null`, jsonType},
		{``, jsonType},
		{form("email", "jane@example.org", "topics", "ai", "topics", "cancer", "societies", "acr", "frequency", "daily", "hour", "7", "timezone", "Europe/Vienna", "format", "html"), formType},
		{form("email", "pat@example.org", "frequency", "weekly", "day", "friday", "hour", " 9 ", "timezone", "UTC", "format", "text"), formType},
		{form("email", "not-an-address", "hour", "seven"), formType},
		{form("email", "x@example.org", "topics", "ai", "frequency", "hourly", "format", "pdf"), formType},
		{"email=%zz&topics=ai", formType},
		{multipartBody("email", "m@example.org", "topics", "ultrasound", "hour", "23"), multipartType},
		{"--fuzzboundary\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nunterminated", multipartType},
		{"email=a@example.org", "multipart/form-data"},
		{"email=a@example.org", "text/plain"},
		{"email=a@example.org", "application/json; charset="},
		{`{"email":"a@example.org"}`, "application/x-www-form-urlencoded; charset=utf-8"},
	} {
		f.Add(seed.body, seed.ct)
	}
	h := newHarness(f, testCatalog())
	f.Fuzz(func(t *testing.T, body, contentType string) {
		h.reset()
		rec := h.do("POST", "/subscribe", contentType, body)
		checkAnswer(t, h, rec)
		// A sign-up reaches the service exactly when it is accepted.
		n := len(h.fake.signUpsSoFar())
		if ok := rec.Code < 300; ok != (n == 1) || n > 1 {
			t.Fatalf("status %d, but %d sign-ups reached the service", rec.Code, n)
		}
	})
}

func FuzzPreferences(f *testing.F) {
	tok := token("preferences", jane.ID)
	for _, seed := range []struct{ body, ct string }{
		{form("token", tok, "topics", "ai", "topics", "screening", "societies", "rsna", "frequency", "weekly", "day", "monday", "hour", "8", "timezone", "America/New_York", "format", "text"), formType},
		{form("token", tok, "frequency", "instant", "format", "html", "timezone", "UTC"), formType},
		{form("token", tok, "topics", "ghost", "hour", "25"), formType},
		{form("token", tok, "hour", "nine"), formType},
		{form("token", tok, "frequency", "weekly", "day", "someday"), formType},
		{form("token", tok, "timezone", "Not/AZone"), formType},
		{form("token", token("preferences", "nobody"), "topics", "ai"), formType},
		{form("token", token("expired", jane.ID), "topics", "ai"), formType},
		{form("token", token("unsubscribe", jane.ID), "topics", "ai"), formType},
		{form("token", "", "topics", "ai"), formType},
		{"token=%zz", formType},
		{multipartBody("token", tok, "topics", "education", "frequency", "daily", "hour", "6", "timezone", "UTC", "format", "html"), multipartType},
		{"--fuzzboundary\r\nbroken", multipartType},
		{`{"token":"` + tok + `"}`, jsonType},
		{form("token", tok), ""},
	} {
		f.Add(seed.body, seed.ct)
	}
	h := newHarness(f, testCatalog())
	f.Fuzz(func(t *testing.T, body, contentType string) {
		h.reset()
		rec := h.do("POST", "/preferences", contentType, body)
		checkAnswer(t, h, rec)
		// Only an accepted form changes the stored preferences, and what
		// is stored is valid.
		got, _ := h.fake.get(jane.ID)
		if rec.Code >= 300 && fmt.Sprint(got.Preferences) != fmt.Sprint(jane.Preferences) {
			t.Fatalf("status %d, but the preferences changed to %+v", rec.Code, got.Preferences)
		}
		if _, err := got.Preferences.Normalize(catalogCheck(h.catalog)); err != nil {
			t.Fatalf("stored preferences %+v do not validate: %v", got.Preferences, err)
		}
		if other, _ := h.fake.get(pat.ID); fmt.Sprint(other) != fmt.Sprint(pat) {
			t.Fatalf("another subscriber changed: %+v", other)
		}
	})
}
