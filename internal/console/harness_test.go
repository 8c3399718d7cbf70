package console

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/tokens"
)

const (
	testToken  = "correct-horse-battery-staple-0123456789"
	testClient = "203.0.113.9"
	testOrigin = "http://console.test"
)

var start = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

// clock is the harness's time, which tests move on.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// lockedBuffer collects logs from handlers that run concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	t        *testing.T
	fake     *fakeAdmin
	clock    *clock
	keys     *tokens.Keyring // the console's session keys, derived from testToken
	sessions *fakeSessions
	logs     *lockedBuffer
	handler  http.Handler
}

// testKeyring is a link-signing keyring, as the app signs mailed links
// with: it must open nothing in the console.
func testKeyring(t testing.TB) *tokens.Keyring {
	t.Helper()
	keys, err := tokens.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte("console-test-key"), 2)})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func (h *harness) handlers() *Handlers {
	return &Handlers{
		Admin:    h.fake,
		Topics:   testTopics,
		Token:    testToken,
		Sessions: h.sessions,
		ClientIP: func(*http.Request) string { return testClient },
		Now:      h.clock.Now,
		Log:      slog.New(slog.NewTextHandler(h.logs, nil)),

		// Two, so that the test topics reach the topics form's limit.
		MaxTopics: 2,
	}
}

// newHarness serves the console over a seeded fake, without the pause
// after a wrong token.
func newHarness(t *testing.T) *harness {
	t.Helper()
	keys, _ := sessionKeys(testToken)
	h := &harness{t: t, clock: &clock{now: start}, keys: keys, sessions: &fakeSessions{byID: map[string]fakeSession{}}, logs: &lockedBuffer{}}
	h.fake = newFakeAdmin(h.clock.Now)
	seed(h.fake)
	c := h.handlers().console()
	c.failureDelay = 0
	mux := http.NewServeMux()
	c.register(mux)
	h.handler = mux
	return h
}

// seed gives the fake a small society: feeds in every state, items on two
// topics, and subscribers a topic send skips for each reason.
func seed(f *fakeAdmin) {
	f.feeds = []feeds.Feed{
		{ID: "esr-1", Society: "esr", Name: "ESR news", URL: "https://esr.example/news.rss", Enabled: true,
			LastStatus: feeds.StatusOK, LastFetchAt: start.Add(-20 * time.Minute), LastSuccessAt: start.Add(-20 * time.Minute), ItemCount: 42},
		{ID: "rsna-1", Society: "rsna", Name: "RSNA press releases", URL: "https://rsna.example/press.xml", Enabled: true,
			LastStatus: feeds.StatusFailed, LastFetchAt: start.Add(-2 * time.Hour), LastError: "GET https://rsna.example/press.xml: 503 Service Unavailable",
			ConsecutiveFailures: 3, ItemCount: 17},
		{ID: "acr-1", Society: "acr", Name: "ACR bulletin", URL: "https://acr.example/bulletin.atom", Enabled: false,
			LastStatus: feeds.StatusGone, LastFetchAt: start.Add(-72 * time.Hour), LastError: "410 Gone", ItemCount: 5},
	}
	f.items = []items.Item{
		{Key: "esr-a", Society: "esr", FeedID: "esr-1", Title: "Foundation models read chest X-rays", Link: "https://esr.example/news/1",
			Published: start.Add(-3 * time.Hour), Summary: "A large study of AI triage.", Topics: []items.TopicScore{{ID: "ai", Score: 7.5}}},
		{Key: "rsna-b", Society: "rsna", FeedID: "rsna-1", Title: "Lung cancer staging guideline updated", Link: "https://rsna.example/press/2",
			Published: start.Add(-5 * time.Hour), Topics: []items.TopicScore{{ID: "cancer", Score: 6}, {ID: "ai", Score: 2.1}}},
		{Key: "esr-c", Society: "esr", FeedID: "esr-1", Title: "Deep learning for mammography workflow", Link: "https://esr.example/news/3",
			Published: start.Add(-26 * time.Hour), Topics: []items.TopicScore{{ID: "ai", Score: 5}}},
	}
	f.runs = []admin.RunDetail{{Run: admin.Run{
		ID: "run-sched", StartedBy: "schedule", Target: "due:2026-11-22T06", CreatedAt: start.Add(-3*time.Hour - 30*time.Minute),
		Plan: delivery.Report{Until: start.Add(-3*time.Hour - 30*time.Minute), Candidates: 120, Planned: 97, Jobs: 2,
			Skipped: map[string]int{delivery.SkipNothingNew: 21, delivery.SkipSuppressed: 2}, Topics: map[string]int{"ai": 80, "cancer": 41}},
		Sent: 96, Failed: 1, Skipped: map[string]int{}, Feedback: map[string]int{"bounce": 1},
	}}}
	daily := subscribers.Preferences{Topics: []string{"ai", "cancer"}, Frequency: subscribers.Daily, Hour: 7, TimeZone: "Europe/Vienna", Format: subscribers.FormatHTML}
	weekly := subscribers.Preferences{Topics: []string{"ai"}, Frequency: subscribers.Weekly, Day: "friday", Hour: 9, TimeZone: "UTC", Format: subscribers.FormatText}
	f.members = []member{
		{detail: admin.SubscriberDetail{
			Subscriber: subscribers.Subscriber{ID: "s-ada", Email: "ada@example.org", Status: subscribers.StatusConfirmed, Preferences: daily,
				CreatedAt: start.Add(-30 * 24 * time.Hour), ConfirmedAt: start.Add(-30 * 24 * time.Hour), UpdatedAt: start.Add(-24 * time.Hour)},
			Sends: []delivery.Entry{{SubscriberID: "s-ada", Period: "2026-11-22T06:00:00Z#digest", RunID: "run-sched", Kind: digest.KindDigest,
				Status: delivery.LedgerSent, Attempts: 1, MessageID: "0100019a-ses-message-2", ItemCount: 4, At: start.Add(-3 * time.Hour)},
				{SubscriberID: "s-ada", Period: "2026-11-21T06:00:00Z#digest", RunID: "run-sched-0", Kind: digest.KindDigest,
					Status: delivery.LedgerSent, Attempts: 2, MessageID: "0100019a-ses-message-1", ItemCount: 2, Feedback: "bounce: Transient/MailboxFull", At: start.Add(-27 * time.Hour)}},
		}},
		{detail: admin.SubscriberDetail{
			Subscriber: subscribers.Subscriber{ID: "s-grace", Email: "grace@example.org", Status: subscribers.StatusConfirmed, Preferences: weekly,
				CreatedAt: start.Add(-10 * 24 * time.Hour), ConfirmedAt: start.Add(-10 * 24 * time.Hour)},
		}, failWith: "SES throttled: maximum sending rate exceeded"},
		{detail: admin.SubscriberDetail{
			Subscriber:  subscribers.Subscriber{ID: "s-mallory", Email: "mallory@example.org", Status: subscribers.StatusConfirmed, Preferences: weekly},
			Suppression: &subscribers.Suppression{Reason: subscribers.ReasonBounced, At: start.Add(-48 * time.Hour)},
		}},
		{detail: admin.SubscriberDetail{
			Subscriber: subscribers.Subscriber{ID: "s-linus", Email: "linus@example.org", Status: subscribers.StatusConfirmed,
				Preferences: subscribers.Preferences{Topics: []string{"screening"}, Frequency: subscribers.Instant, Format: subscribers.FormatHTML}},
		}},
		{detail: admin.SubscriberDetail{
			Subscriber: subscribers.Subscriber{ID: "s-pat", Email: "pat@example.org", Status: subscribers.StatusPending, Preferences: daily},
		}},
	}
}

// request builds a request to the console as a browser on testOrigin sends
// it; origin "" leaves Origin out.
func (h *harness) request(method, target string, form url.Values, cookie *http.Cookie, origin string) *httptest.ResponseRecorder {
	h.t.Helper()
	var body string
	if form != nil {
		body = form.Encode()
	}
	req := httptest.NewRequest(method, testOrigin+target, strings.NewReader(body))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

func (h *harness) get(target string, cookie *http.Cookie) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.request(http.MethodGet, target, nil, cookie, "")
}

func (h *harness) post(target string, form url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.request(http.MethodPost, target, form, cookie, testOrigin)
}

// signIn signs in with the admin token and returns the session cookie.
func (h *harness) signIn() *http.Cookie {
	h.t.Helper()
	rec := h.post("/admin/console/signin", url.Values{"token": {testToken}}, nil)
	if rec.Code != http.StatusSeeOther {
		h.t.Fatalf("sign in: status %d, body %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	h.t.Fatal("sign in set no session cookie")
	return nil
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token the console's forms carry for this session.
func (h *harness) csrf(cookie *http.Cookie) string {
	h.t.Helper()
	rec := h.get("/admin/console/send", cookie)
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if m == nil {
		h.t.Fatalf("no csrf field on the send page (status %d)", rec.Code)
	}
	return m[1]
}

// fakeSessions is the session table in memory.
type fakeSessions struct {
	mu        sync.Mutex
	byID      map[string]fakeSession
	err       error // every call fails with it when set
	deleteErr error // DeleteSession fails with it when set
}

type fakeSession struct {
	binding string
	expires time.Time
}

func (f *fakeSessions) PutSession(_ context.Context, id, binding string, expires time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if _, dup := f.byID[id]; dup {
		return errors.New("session id taken")
	}
	f.byID[id] = fakeSession{binding: binding, expires: expires}
	return nil
}

func (f *fakeSessions) Session(_ context.Context, id string) (string, time.Time, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", time.Time{}, false, f.err
	}
	s, ok := f.byID[id]
	return s.binding, s.expires, ok, nil
}

func (f *fakeSessions) DeleteSession(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.deleteErr != nil {
		return f.deleteErr
	}
	delete(f.byID, id)
	return nil
}

func (f *fakeSessions) setError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeSessions) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.byID)
}
