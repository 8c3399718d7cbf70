package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

func testCatalog() Catalog {
	return Catalog{
		Topics: []topics.Topic{
			{ID: "cancer", Name: "Cancer imaging", Description: "Diagnosis, staging and follow-up of tumours.", Group: "Clinical"},
			{ID: "screening", Name: "Screening & early detection", Description: "Screening programmes and finding disease early.", Group: "Clinical"},
			{ID: "ai", Name: "AI & informatics", Description: "Machine learning and imaging informatics.", Group: "Modalities & technology"},
			{ID: "ultrasound", Name: "Ultrasound", Description: "Diagnostic and point-of-care ultrasound.", Group: "Modalities & technology"},
			{ID: "education", Name: "Education & training", Description: "Courses, e-learning and diplomas.", Group: "Practice & profession"},
		},
		Societies: []Society{
			{ID: "acr", Name: "American College of Radiology"},
			{ID: "esr", Name: "European Society of Radiology"},
			{ID: "rsna", Name: "Radiological Society of North America"},
		},
	}
}

// The subscribers every test starts with.
var (
	jane = subscribers.Subscriber{
		ID: "s1", Email: "jane@example.org", Status: subscribers.StatusConfirmed,
		Preferences: subscribers.Preferences{Topics: []string{"ai", "cancer"}, Frequency: subscribers.Daily, Hour: 7, TimeZone: "Europe/Vienna", Format: subscribers.FormatHTML},
	}
	pat = subscribers.Subscriber{
		ID: "s2", Email: "pat@example.org", Status: subscribers.StatusPending,
		Preferences: subscribers.Preferences{Topics: []string{"education"}, Societies: []string{"esr"}, Frequency: subscribers.Weekly, Day: "friday", Hour: 9, TimeZone: "UTC", Format: subscribers.FormatText},
	}
)

type harness struct {
	fake    *fakeSubscribers
	handler http.Handler
	logs    *bytes.Buffer
	catalog Catalog
}

func newHarness(t testing.TB, cat Catalog) *harness {
	t.Helper()
	h := &harness{fake: newFake(cat), logs: new(bytes.Buffer), catalog: cat}
	h.fake.add(jane)
	h.fake.add(pat)
	mux := http.NewServeMux()
	(&Handlers{
		Subscribers: h.fake,
		Catalog:     func(context.Context) (Catalog, error) { return h.catalog, nil },
		ClientIP:    func(*http.Request) string { return "203.0.113.9" },
		Log:         slog.New(slog.NewTextHandler(h.logs, nil)),
	}).Register(mux)
	h.handler = mux
	return h
}

func (h *harness) do(method, target, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

func form(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	return v.Encode()
}

func TestRoutes(t *testing.T) {
	tooBig := strings.Repeat("x", maxBodyBytes+1)
	tests := []struct {
		name        string
		setup       func(f *fakeSubscribers)
		method      string
		target      string
		contentType string
		body        string
		wantStatus  int
		wantType    string            // Content-Type prefix
		wantText    []string          // in the body, HTML entities decoded
		wantNot     []string          // not in the body, HTML entities decoded
		wantHeader  map[string]string // exact values
		check       func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder)
	}{
		{
			name: "sign-up page", method: "GET", target: "/",
			wantStatus: 200, wantType: "text/html",
			wantText: []string{"<h1>Radiology society news", `<legend>Clinical</legend>`, "Screening & early detection", "Screening programmes and finding disease early.",
				`name="topics" value="ai"`, `name="societies" value="esr"`, "Leave them all unticked", `<option value="7" selected>07:00</option>`,
				`value="UTC"`, `data-guess-zone`, `action="/subscribe"`, `action="/manage"`, `id="frequency-daily" name="frequency" value="daily" checked`},
		},
		{
			name: "unknown path is not the sign-up page", method: "GET", target: "/nope",
			wantStatus: 404,
		},
		{
			name: "subscribe JSON", method: "POST", target: "/subscribe", contentType: jsonType,
			body:       `{"email":"New@Example.org","topics":["ai","screening"],"societies":["esr"],"frequency":"weekly","day":"tuesday","hour":18,"timezone":"Asia/Tokyo","format":"text"}`,
			wantStatus: 202, wantType: "application/json",
			wantText: []string{`"status":"pending"`, `"message":"Check your inbox`},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				got := f.signUps[len(f.signUps)-1]
				want := subscribers.Preferences{Topics: []string{"ai", "screening"}, Societies: []string{"esr"}, Frequency: subscribers.Weekly, Day: "tuesday", Hour: 18, TimeZone: "Asia/Tokyo", Format: subscribers.FormatText}
				if got.Email != "new@example.org" || got.ClientIP != "203.0.113.9" || fmt.Sprint(got.Preferences) != fmt.Sprint(want) {
					t.Errorf("sign-up = %+v, want new@example.org from 203.0.113.9 with %+v", got, want)
				}
			},
		},
		{
			name: "subscribe JSON without hour gets the default hour", method: "POST", target: "/subscribe", contentType: jsonType,
			body:       `{"email":"a@example.org","topics":["ai"]}`,
			wantStatus: 202,
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				if got := f.signUps[len(f.signUps)-1].Preferences.Hour; got != subscribers.DefaultHour {
					t.Errorf("hour = %d, want %d", got, subscribers.DefaultHour)
				}
			},
		},
		{
			name: "subscribe JSON for a known address answers the same", method: "POST", target: "/subscribe", contentType: jsonType,
			body:       `{"email":"jane@example.org","topics":["ai"]}`,
			wantStatus: 202, wantText: []string{`"status":"pending"`, `"message":"Check your inbox`},
		},
		{
			name: "subscribe JSON unknown field", method: "POST", target: "/subscribe", contentType: jsonType,
			body:       `{"email":"a@example.org","topics":["ai"],"admin":true}`,
			wantStatus: 400, wantType: "application/json", wantText: []string{`"error":"invalid JSON body: json: unknown field \"admin\""`},
		},
		{
			name: "subscribe JSON trailing data", method: "POST", target: "/subscribe", contentType: jsonType,
			body: `{"email":"a@example.org","topics":["ai"]} {}`, wantStatus: 400,
		},
		{
			name: "subscribe JSON invalid email", method: "POST", target: "/subscribe", contentType: jsonType,
			body:       `{"email":"not an address","topics":["ai"]}`,
			wantStatus: 400, wantText: []string{`"field":"email"`, `"error":"It must not contain spaces or line breaks"`},
		},
		{
			name: "subscribe JSON without topics", method: "POST", target: "/subscribe", contentType: jsonType,
			body:       `{"email":"a@example.org","topics":[]}`,
			wantStatus: 400, wantText: []string{`{"error":"Choose at least one topic","field":"topics"}`},
		},
		{
			name: "subscribe JSON rate limited", setup: func(f *fakeSubscribers) { f.fail = subscribers.ErrRateLimited },
			method: "POST", target: "/subscribe", contentType: jsonType, body: `{"email":"a@example.org","topics":["ai"]}`,
			wantStatus: 429, wantHeader: map[string]string{"Retry-After": "3600"}, wantText: []string{`"error":"too many requests; try again later"`},
		},
		{
			name: "subscribe JSON internal error hides the cause", setup: func(f *fakeSubscribers) { f.fail = errors.New("dynamodb exploded") },
			method: "POST", target: "/subscribe", contentType: jsonType, body: `{"email":"a@example.org","topics":["ai"]}`,
			wantStatus: 500, wantText: []string{`{"error":"internal error"}`}, wantNot: []string{"dynamodb"},
		},
		{
			name: "subscribe JSON too large", method: "POST", target: "/subscribe", contentType: jsonType,
			body: `{"email":"` + tooBig + `"}`, wantStatus: 413,
		},
		{
			name: "subscribe with an unsupported body type", method: "POST", target: "/subscribe", contentType: "text/plain",
			body: "email=a@example.org", wantStatus: 415,
		},
		{
			name: "subscribe form", method: "POST", target: "/subscribe", contentType: formType,
			body:       form("email", "ann@example.org", "topics", "ai", "topics", "ultrasound", "societies", "rsna", "frequency", "daily", "day", "monday", "hour", "6", "timezone", "America/Chicago", "format", "html"),
			wantStatus: 200, wantType: "text/html", wantText: []string{"<h1>Check your inbox</h1>", "link works for 7 days"},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				got := f.signUps[len(f.signUps)-1].Preferences
				if !slices.Equal(got.Topics, []string{"ai", "ultrasound"}) || !slices.Equal(got.Societies, []string{"rsna"}) || got.Hour != 6 || got.TimeZone != "America/Chicago" || got.Day != "" {
					t.Errorf("preferences = %+v", got)
				}
			},
		},
		{
			name: "subscribe form with a non-numeric hour keeps the input", method: "POST", target: "/subscribe", contentType: formType,
			body:       form("email", "ann@example.org", "topics", "ultrasound", "frequency", "weekly", "day", "sunday", "hour", "seven", "timezone", "Asia/Tokyo"),
			wantStatus: 400, wantType: "text/html",
			wantText: []string{"<title>Error: Subscribe", "There is a problem", `<a href="#hour">Time of day: Must be a whole hour from 0 to 23</a>`,
				`aria-invalid="true" aria-describedby="hour-error"`, `value="ann@example.org"`, `value="ultrasound" checked`,
				`value="weekly" checked`, `<option value="sunday" selected>`, `value="Asia/Tokyo"`},
			wantNot: []string{"data-guess-zone"},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				if f.mutating != 0 {
					t.Error("an unreadable form reached the service")
				}
			},
		},
		{
			name: "subscribe form without topics", method: "POST", target: "/subscribe", contentType: formType,
			body:       form("email", "ann@example.org", "frequency", "daily", "hour", "7"),
			wantStatus: 400, wantText: []string{`<p class="error-message" id="topics-error"><span class="visually-hidden">Error:</span> Choose at least one topic</p>`, `aria-describedby="topics-hint topics-error"`},
		},
		{
			name: "subscribe form with a bad address", method: "POST", target: "/subscribe", contentType: formType,
			body:       form("email", "Jane <jane@example.org>", "topics", "ai"),
			wantStatus: 400, wantText: []string{`id="email-error"`, `aria-describedby="email-error"`, `value="Jane <jane@example.org>"`},
		},
		{
			name: "subscribe form with an unknown time zone", method: "POST", target: "/subscribe", contentType: formType,
			body:       form("email", "a@example.org", "topics", "ai", "timezone", "Mars/Olympus"),
			wantStatus: 400, wantText: []string{`Unknown time zone "Mars/Olympus"`, `aria-describedby="timezone-hint timezone-error"`},
		},
		{
			name: "subscribe form rate limited", setup: func(f *fakeSubscribers) { f.fail = subscribers.ErrRateLimited },
			method: "POST", target: "/subscribe", contentType: formType, body: form("email", "a@example.org", "topics", "ai"),
			wantStatus: 429, wantType: "text/html", wantHeader: map[string]string{"Retry-After": "3600"}, wantText: []string{"Too many requests", "try again in an hour"},
		},
		{
			name: "subscribe form internal error is a generic page", setup: func(f *fakeSubscribers) { f.fail = errors.New("dynamodb exploded") },
			method: "POST", target: "/subscribe", contentType: formType, body: form("email", "a@example.org", "topics", "ai"),
			wantStatus: 500, wantType: "text/html", wantText: []string{"Something went wrong"}, wantNot: []string{"dynamodb", "goroutine", ".go:"},
		},
		{
			name: "subscribe form too large", method: "POST", target: "/subscribe", contentType: formType,
			body: form("email", tooBig), wantStatus: 413, wantType: "text/html",
		},
		{
			name: "manage link form, known address", method: "POST", target: "/manage", contentType: formType, body: form("email", "jane@example.org"),
			wantStatus: 200, wantText: []string{manageSentMessage},
		},
		{
			name: "manage link form, unknown address answers the same", method: "POST", target: "/manage", contentType: formType, body: form("email", "nobody@example.org"),
			wantStatus: 200, wantText: []string{manageSentMessage},
		},
		{
			name: "manage link JSON", method: "POST", target: "/manage", contentType: jsonType, body: `{"email":"jane@example.org"}`,
			wantStatus: 202, wantText: []string{`"status":"sent"`, `If that address is subscribed`},
		},
		{
			name: "manage link JSON invalid email", method: "POST", target: "/manage", contentType: jsonType, body: `{"email":""}`,
			wantStatus: 400, wantText: []string{`"field":"email"`},
		},
		{
			name: "manage link form invalid email re-shows the sign-up page", method: "POST", target: "/manage", contentType: formType, body: form("email", "nope"),
			wantStatus: 400, wantText: []string{`<a href="#manage_email">Email address:`, `id="manage_email-error"`, `value="nope"`, "data-guess-zone"},
		},
		{
			name: "confirm page shows a masked address and one button", method: "GET", target: "/confirm?token=confirm:s2",
			wantStatus: 200, wantText: []string{"p***@example.org", `<form method="post" action="/confirm">`, `<input type="hidden" name="token" value="confirm:s2">`, `>Confirm</button>`},
			wantNot:    []string{"pat@example.org"},
			wantHeader: map[string]string{"Cache-Control": "no-store"},
		},
		{
			name: "confirm page for a confirmed subscriber", method: "GET", target: "/confirm?token=confirm:s1",
			wantStatus: 200, wantText: []string{"You're already subscribed"}, wantNot: []string{"<button"},
		},
		{
			name: "confirm page with a forged link", method: "GET", target: "/confirm?token=forged",
			wantStatus: 400, wantText: []string{"This link is not valid"},
		},
		{
			name: "confirm page with an expired link", method: "GET", target: "/confirm?token=expired:s2",
			wantStatus: 410, wantText: []string{"This link has expired", "Sign up again to get a new one", `<a href="/">`},
		},
		{
			name: "confirm", method: "POST", target: "/confirm", contentType: formType, body: form("token", "confirm:s2"),
			wantStatus: 200, wantText: []string{"You're subscribed", "link to unsubscribe"},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				if sub, _ := f.get("s2"); sub.Status != subscribers.StatusConfirmed || sub.ConfirmIP != "203.0.113.9" {
					t.Errorf("after confirming: %+v", sub)
				}
			},
		},
		{
			name: "confirm for an erased subscriber", method: "POST", target: "/confirm", contentType: formType, body: form("token", "confirm:gone"),
			wantStatus: 404, wantText: []string{"This subscription no longer exists"},
		},
		{
			name: "preferences page shows the current choices", method: "GET", target: "/preferences?token=preferences:s1",
			wantStatus: 200,
			wantText: []string{"<h1>Your preferences</h1>", "j***@example.org", `<input type="hidden" name="token" value="preferences:s1">`,
				`value="ai" checked`, `value="cancer" checked`, `value="screening" aria-describedby`, `value="daily" checked`, `value="Europe/Vienna"`,
				`<option value="7" selected>`, `value="html" checked`,
				`href="http://radiogram.test/unsubscribe?token=unsubscribe%3As1"`,
				`<form method="post" action="/preferences/data-link">`, "Email me a link to download or erase my data"},
			// Export and erase links come only by mail: a forwarded
			// preferences link must not lead to the subscriber's data.
			wantNot:    []string{"data-guess-zone", "jane@example.org", "/me/export", "/me/erase", "token=export", "token=erase"},
			wantHeader: map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
		},
		{
			name: "preferences page asks for the data links by mail", method: "POST", target: "/preferences/data-link", contentType: formType,
			body: form("token", "preferences:s1"), wantStatus: 200,
			wantText: []string{"Check your inbox", manageSentMessage, "work for an hour"},
			wantNot:  []string{"/me/export", "/me/erase", "jane@example.org"},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				if got := f.dataLinksSoFar(); len(got) != 1 || got[0] != "s1" {
					t.Errorf("data-link mails requested: %v, want one for s1", got)
				}
			},
		},
		{
			name: "asking for the data links with a link of another purpose", method: "POST", target: "/preferences/data-link", contentType: formType,
			body: form("token", "unsubscribe:s1"), wantStatus: 400, wantText: []string{"This link is not valid"},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				if got := f.dataLinksSoFar(); len(got) != 0 {
					t.Errorf("data-link mails requested: %v", got)
				}
			},
		},
		{
			name: "asking for the data links of an erased subscriber", method: "POST", target: "/preferences/data-link", contentType: formType,
			body: form("token", "preferences:gone"), wantStatus: 404, wantText: []string{"This subscription no longer exists"},
		},
		{
			name: "preferences page of an erased subscriber", method: "GET", target: "/preferences?token=preferences:gone",
			wantStatus: 404, wantText: []string{"This subscription no longer exists"},
		},
		{
			name: "preferences page with a link of another purpose", method: "GET", target: "/preferences?token=unsubscribe:s1",
			wantStatus: 400, wantText: []string{"This link is not valid"},
		},
		{
			name: "save preferences lists what changed", method: "POST", target: "/preferences", contentType: formType,
			body:       form("token", "preferences:s1", "topics", "ai", "topics", "screening", "frequency", "weekly", "day", "friday", "hour", "7", "timezone", "Europe/Vienna", "format", "html"),
			wantStatus: 200,
			wantText: []string{"Saved. What changed:", "<strong>Topics:</strong> AI & informatics, Cancer imaging → AI & informatics, Screening & early detection",
				"<strong>Frequency:</strong> daily → weekly", "<strong>Day:</strong> none → Friday", `value="screening" checked`, `value="weekly" checked`},
			wantNot: []string{"Societies:", "Time zone:"},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				sub, _ := f.get("s1")
				if !slices.Equal(sub.Preferences.Topics, []string{"ai", "screening"}) || sub.Preferences.Frequency != subscribers.Weekly || sub.Preferences.Day != "friday" {
					t.Errorf("stored preferences = %+v", sub.Preferences)
				}
			},
		},
		{
			name: "save preferences without change", method: "POST", target: "/preferences", contentType: formType,
			body:       form("token", "preferences:s1", "topics", "cancer", "topics", "ai", "frequency", "daily", "day", "monday", "hour", "7", "timezone", "Europe/Vienna", "format", "html"),
			wantStatus: 200, wantText: []string{"Nothing changed"}, wantNot: []string{"What changed"},
		},
		{
			name: "save preferences with no topic re-shows the form", method: "POST", target: "/preferences", contentType: formType,
			body:       form("token", "preferences:s1", "frequency", "instant", "hour", "7", "timezone", "UTC", "format", "text"),
			wantStatus: 400, wantText: []string{"<title>Error: Your preferences", `<a href="#topics">Topics: Choose at least one topic</a>`, `value="instant" checked`, `value="text" checked`, `name="token" value="preferences:s1"`},
			wantNot: []string{"Saved."},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				if sub, _ := f.get("s1"); !slices.Equal(sub.Preferences.Topics, jane.Preferences.Topics) {
					t.Errorf("a refused save changed the topics to %v", sub.Preferences.Topics)
				}
			},
		},
		{
			name: "save preferences with an expired link", method: "POST", target: "/preferences", contentType: formType,
			body: form("token", "expired:s1", "topics", "ai"), wantStatus: 410,
		},
		{
			name: "save preferences for an unknown society", method: "POST", target: "/preferences", contentType: formType,
			body:       form("token", "preferences:s1", "topics", "ai", "societies", "evil"),
			wantStatus: 400, wantText: []string{`Unknown society "evil"`, `aria-describedby="societies-hint societies-error"`},
		},
		{
			name: "unsubscribe page has one button", method: "GET", target: "/unsubscribe?token=unsubscribe:s1",
			wantStatus: 200, wantText: []string{`<form method="post" action="/unsubscribe">`, `name="token" value="unsubscribe:s1"`, ">Unsubscribe</button>"},
		},
		{
			name: "unsubscribe page without a token", method: "GET", target: "/unsubscribe",
			wantStatus: 400, wantText: []string{"This link is not valid"},
		},
		{
			name: "unsubscribe by the page's button", method: "POST", target: "/unsubscribe", contentType: formType, body: form("token", "unsubscribe:s1"),
			wantStatus: 200, wantType: "text/html", wantText: []string{"You're unsubscribed", `<a href="/">Subscribe again</a>`},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				if sub, _ := f.get("s1"); sub.Status != subscribers.StatusUnsubscribed {
					t.Errorf("status = %s", sub.Status)
				}
			},
		},
		{
			name: "unsubscribe twice is fine", setup: func(f *fakeSubscribers) { f.Unsubscribe(context.Background(), "unsubscribe:s1") },
			method: "POST", target: "/unsubscribe", contentType: formType, body: form("token", "unsubscribe:s1"),
			wantStatus: 200, wantText: []string{"You're unsubscribed"},
		},
		{
			name: "one-click unsubscribe (RFC 8058)", method: "POST", target: "/unsubscribe?token=unsubscribe%3As1", contentType: formType, body: "List-Unsubscribe=One-Click",
			wantStatus: 200, wantType: "text/plain", wantText: []string{"Unsubscribed."}, wantNot: []string{"<html"},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				if sub, _ := f.get("s1"); sub.Status != subscribers.StatusUnsubscribed {
					t.Errorf("status = %s", sub.Status)
				}
			},
		},
		{
			name: "one-click unsubscribe with a forged link", method: "POST", target: "/unsubscribe?token=x", contentType: formType, body: "List-Unsubscribe=One-Click",
			wantStatus: 400, wantType: "text/plain", wantText: []string{"This link is not valid"},
		},
		{
			name: "unsubscribe with the token in the query and no one-click body shows the page", method: "POST", target: "/unsubscribe?token=unsubscribe:s1", contentType: formType,
			wantStatus: 200, wantType: "text/html", wantText: []string{"You're unsubscribed"},
		},
		{
			name: "export downloads JSON", method: "GET", target: "/me/export?token=export:s1",
			wantStatus: 200, wantType: "application/json",
			wantHeader: map[string]string{"Content-Disposition": `attachment; filename="radiogram-data.json"`, "Cache-Control": "no-store"},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				var got subscribers.Export
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatalf("export is not JSON: %v", err)
				}
				if got.Subscriber.Email != "jane@example.org" || !slices.Equal(got.Subscriber.Preferences.Topics, []string{"ai", "cancer"}) {
					t.Errorf("export = %+v", got)
				}
			},
		},
		{
			name: "export with an expired link is a page", method: "GET", target: "/me/export?token=expired:s1",
			wantStatus: 410, wantType: "text/html", wantText: []string{"This link has expired", "work for an hour", "ask for a fresh one"},
		},
		{
			name: "erase page explains and has one button", method: "GET", target: "/me/erase?token=erase:s1",
			wantStatus: 200, wantText: []string{"<h1>Erase your data</h1>", "cannot be undone", `action="/me/erase"`, `class="button danger">Erase my data</button>`},
		},
		{
			name: "erase", method: "POST", target: "/me/erase?token=erase:s1", contentType: formType,
			wantStatus: 200, wantText: []string{"Your data is erased"},
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				if _, ok := f.get("s1"); ok {
					t.Error("the subscriber is still there")
				}
			},
		},
		{
			name: "erase with a forged link", method: "POST", target: "/me/erase", contentType: formType, body: form("token", "preferences:s1"),
			wantStatus: 400,
			check: func(t *testing.T, f *fakeSubscribers, rec *httptest.ResponseRecorder) {
				if _, ok := f.get("s1"); !ok {
					t.Error("a preferences link erased the subscriber")
				}
			},
		},
		{
			name: "topics JSON", method: "GET", target: "/topics",
			wantStatus: 200, wantType: "application/json",
			wantText: []string{`{"topics":[{"id":"cancer","name":"Cancer imaging","description":"Diagnosis, staging and follow-up of tumours.","group":"Clinical"},`, `"societies":[{"id":"acr","name":"American College of Radiology"},`},
		},
		{
			name: "service failure on a token page is a generic 500", setup: func(f *fakeSubscribers) { f.fail = errors.New("table missing") },
			method: "GET", target: "/preferences?token=preferences:s1",
			wantStatus: 500, wantText: []string{"Something went wrong"}, wantNot: []string{"table missing"},
		},
		{
			name: "static script", method: "GET", target: "/static/app.js",
			wantStatus: 200, wantType: "text/javascript", wantText: []string{"Intl.DateTimeFormat().resolvedOptions().timeZone"},
			wantHeader: map[string]string{"Cache-Control": "public, max-age=300"},
		},
		{
			name: "static stylesheet", method: "GET", target: "/static/style.css",
			wantStatus: 200, wantType: "text/css", wantText: []string{":focus-visible"},
		},
		{
			name: "static file that does not exist", method: "GET", target: "/static/secrets.txt",
			wantStatus: 404,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testCatalog())
			if tc.setup != nil {
				tc.setup(h.fake)
			}
			rec := h.do(tc.method, tc.target, tc.contentType, tc.body)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body:\n%s", rec.Code, tc.wantStatus, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
				t.Errorf("Content-Type = %q, want %q…", ct, tc.wantType)
			}
			text := html.UnescapeString(rec.Body.String())
			for _, want := range tc.wantText {
				if !strings.Contains(text, want) {
					t.Errorf("body lacks %q", want)
				}
			}
			if t.Failed() {
				t.Logf("body:\n%s", text)
			}
			for _, unwanted := range tc.wantNot {
				if strings.Contains(text, unwanted) {
					t.Errorf("body has %q", unwanted)
				}
			}
			for name, want := range tc.wantHeader {
				if got := rec.Header().Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if tc.check != nil {
				tc.check(t, h.fake, rec)
			}
		})
	}
}

// Every route sets the security headers, errors included.
func TestSecurityHeaders(t *testing.T) {
	requests := []struct{ method, target, contentType, body string }{
		{"GET", "/", "", ""},
		{"POST", "/subscribe", formType, form("email", "a@example.org", "topics", "ai")},
		{"POST", "/subscribe", jsonType, `{"email":"bad"}`},
		{"POST", "/manage", formType, form("email", "a@example.org")},
		{"GET", "/confirm?token=confirm:s2", "", ""},
		{"GET", "/confirm?token=forged", "", ""},
		{"POST", "/confirm", formType, form("token", "confirm:s2")},
		{"GET", "/preferences?token=preferences:s1", "", ""},
		{"POST", "/preferences", formType, form("token", "preferences:s1", "topics", "ai")},
		{"POST", "/preferences/data-link", formType, form("token", "preferences:s1")},
		{"GET", "/unsubscribe?token=unsubscribe:s1", "", ""},
		{"POST", "/unsubscribe?token=unsubscribe:s1", formType, "List-Unsubscribe=One-Click"},
		{"GET", "/me/export?token=export:s1", "", ""},
		{"GET", "/me/erase?token=erase:s1", "", ""},
		{"POST", "/me/erase", formType, form("token", "erase:s1")},
		{"GET", "/topics", "", ""},
		{"GET", "/static/style.css", "", ""},
	}
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
	}
	for _, req := range requests {
		t.Run(req.method+" "+req.target, func(t *testing.T) {
			rec := newHarness(t, testCatalog()).do(req.method, req.target, req.contentType, req.body)
			for name, value := range want {
				if got := rec.Header().Get(name); got != value {
					t.Errorf("%s = %q, want %q", name, got, value)
				}
			}
			if strings.Contains(req.target, "token=") || req.body != "" && strings.Contains(req.body, "token") {
				if got := rec.Header().Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q on a token page", got)
				}
			}
		})
	}
}

// Mail scanners and link previews follow every link: no GET may change
// anything, whatever token it carries.
func TestGetChangesNothing(t *testing.T) {
	h := newHarness(t, testCatalog())
	before, signUps, manage := h.fake.snapshot()
	for _, target := range []string{
		"/", "/topics", "/static/app.js",
		"/confirm?token=confirm:s2", "/confirm?token=confirm:s1",
		"/preferences?token=preferences:s1", "/preferences?token=preferences:s2",
		"/unsubscribe?token=unsubscribe:s1", "/unsubscribe?token=unsubscribe:s2",
		"/me/export?token=export:s1", "/me/erase?token=erase:s1", "/me/erase?token=erase:s2",
		"/subscribe?email=a@example.org&topics=ai", "/manage?email=jane@example.org",
		"/preferences?token=preferences:s1&topics=screening&frequency=weekly",
	} {
		for _, method := range []string{"GET", "HEAD"} {
			rec := h.do(method, target, "", "")
			if rec.Code >= 500 {
				t.Errorf("%s %s: status %d", method, target, rec.Code)
			}
		}
	}
	after, signUpsAfter, manageAfter := h.fake.snapshot()
	if n := h.fake.mutations(); n != 0 {
		t.Errorf("GETs made %d calls that change state", n)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) || signUps != signUpsAfter || manage != manageAfter {
		t.Errorf("GETs changed the subscribers:\nbefore %v\nafter  %v", before, after)
	}
}

func TestHostileCatalogIsEscaped(t *testing.T) {
	cat := testCatalog()
	cat.Topics = append(cat.Topics, topics.Topic{
		ID:          "xss",
		Name:        `<script>alert(1)</script>`,
		Description: `"><img src=x onerror=alert(2)>`,
		Group:       `</legend><b onclick=alert(3)>Group`,
	})
	cat.Societies = append(cat.Societies, Society{ID: "evil", Name: `<iframe src="javascript:alert(4)"></iframe>`})
	h := newHarness(t, cat)
	for _, target := range []string{"/", "/preferences?token=preferences:s1"} {
		rec := h.do("GET", target, "", "")
		if rec.Code != 200 {
			t.Fatalf("GET %s: status %d", target, rec.Code)
		}
		body := rec.Body.String()
		for _, raw := range []string{"<script>alert", "<img src=x", "<b onclick", "<iframe", `"><img`} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s: %q is not escaped", target, raw)
			}
		}
		for _, escaped := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;iframe src=", "&lt;/legend&gt;&lt;b onclick=alert(3)&gt;Group"} {
			if !strings.Contains(body, escaped) {
				t.Errorf("GET %s: lacks the escaped %q", target, escaped)
			}
		}
	}
	// The change list names topics too.
	rec := h.do("POST", "/preferences", formType, form("token", "preferences:s1", "topics", "xss"))
	if body := rec.Body.String(); rec.Code != 200 || strings.Contains(body, "<script>alert") || !strings.Contains(body, "→ &lt;script&gt;") {
		t.Errorf("saving a hostile topic: status %d, change list not escaped", rec.Code)
	}
}

func TestInternalErrorIsLoggedNotShown(t *testing.T) {
	h := newHarness(t, testCatalog())
	h.fake.fail = errors.New("conditional check failed on table subscribers")
	rec := h.do("POST", "/confirm", formType, form("token", "confirm:s2"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "conditional check") {
		t.Errorf("status %d, body shows the cause: %v", rec.Code, strings.Contains(rec.Body.String(), "conditional check"))
	}
	if !strings.Contains(h.logs.String(), "conditional check failed") {
		t.Errorf("the cause is not logged; log:\n%s", h.logs)
	}
}

func TestCatalogFailure(t *testing.T) {
	h := newHarness(t, testCatalog())
	mux := http.NewServeMux()
	(&Handlers{
		Subscribers: h.fake,
		Catalog:     func(context.Context) (Catalog, error) { return Catalog{}, errors.New("feeds table unreachable") },
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}).Register(mux)
	for _, target := range []string{"/", "/preferences?token=preferences:s1", "/topics"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != 500 || strings.Contains(rec.Body.String(), "unreachable") {
			t.Errorf("GET %s: status %d, body %q", target, rec.Code, rec.Body)
		}
	}
}

func TestPanicIsAGenericPage(t *testing.T) {
	var logs bytes.Buffer
	mux := http.NewServeMux()
	(&Handlers{
		Subscribers: newFake(testCatalog()),
		Catalog:     func(context.Context) (Catalog, error) { panic("nil map in catalog") },
		Log:         slog.New(slog.NewTextHandler(&logs, nil)),
	}).Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "nil map") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("status %d, body %q", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "nil map in catalog") {
		t.Error("the panic is not logged")
	}
	if rec.Header().Get("Content-Security-Policy") == "" {
		t.Error("the error page lacks the security headers")
	}
}

func TestOneClickUnsubscribeMultipart(t *testing.T) {
	h := newHarness(t, testCatalog())
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("List-Unsubscribe", "One-Click")
	mw.Close()
	rec := h.do("POST", "/unsubscribe?token=unsubscribe%3As1", mw.FormDataContentType(), body.String())
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if sub, _ := h.fake.get("s1"); sub.Status != subscribers.StatusUnsubscribed {
		t.Errorf("status = %s", sub.Status)
	}
}

func TestStaticFilesAreVersionedAndCacheable(t *testing.T) {
	h := newHarness(t, testCatalog())
	page := h.do("GET", "/", "", "").Body.String()
	for _, name := range []string{"base.css", "style.css", "app.js"} {
		versioned, err := loadAssets().URL(name)
		if err != nil {
			t.Fatalf("no embedded %s: %v", name, err)
		}
		if !strings.HasPrefix(versioned, "/static/"+name+"?v=") {
			t.Errorf("%s is served at %s, not under /static/ with its version", name, versioned)
		}
		if !strings.Contains(page, versioned) {
			t.Errorf("the page does not link %s", versioned)
		}
		rec := h.do("GET", versioned, "", "")
		if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control = %q", versioned, got)
		}
		etag := rec.Header().Get("ETag")
		req := httptest.NewRequest("GET", versioned, nil)
		req.Header.Set("If-None-Match", etag)
		again := httptest.NewRecorder()
		h.handler.ServeHTTP(again, req)
		if again.Code != http.StatusNotModified {
			t.Errorf("%s with If-None-Match %s: status %d, want 304", name, etag, again.Code)
		}
	}
}

func TestReadPreferences(t *testing.T) {
	tests := []struct {
		form    url.Values
		want    subscribers.Preferences
		wantErr string
	}{
		{
			form: url.Values{"topics": {"ai", "cancer"}, "societies": {"esr"}, "frequency": {"weekly"}, "day": {"friday"}, "hour": {"18"}, "timezone": {"Asia/Tokyo"}, "format": {"text"}},
			want: subscribers.Preferences{Topics: []string{"ai", "cancer"}, Societies: []string{"esr"}, Frequency: "weekly", Day: "friday", Hour: 18, TimeZone: "Asia/Tokyo", Format: "text"},
		},
		{
			form: url.Values{"topics": {"ai"}},
			want: subscribers.Preferences{Topics: []string{"ai"}, Hour: subscribers.DefaultHour},
		},
		{form: url.Values{"hour": {"7am"}}, wantErr: "hour: must be a whole hour from 0 to 23"},
		{form: url.Values{"hour": {"7.5"}}, wantErr: "hour: must be a whole hour from 0 to 23"},
		{form: url.Values{"hour": {" 23 "}}, want: subscribers.Preferences{Hour: 23}},
	}
	for _, tc := range tests {
		got, err := readPreferences(tc.form)
		if tc.wantErr != "" {
			var fe *subscribers.FieldError
			if !errors.As(err, &fe) || err.Error() != tc.wantErr {
				t.Errorf("readPreferences(%v) error = %v, want field error %q", tc.form, err, tc.wantErr)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("readPreferences(%v) = %+v, %v; want %+v", tc.form, got, err, tc.want)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	for addr, want := range map[string]string{
		"jane@example.org":   "j***@example.org",
		"j@example.org":      "j***@example.org",
		"élodie@example.fr":  "é***@example.fr",
		"not-an-address":     "***",
		"@example.org":       "***",
		"a.b+tag@sub.ex.com": "a***@sub.ex.com",
	} {
		if got := maskEmail(addr); got != want {
			t.Errorf("maskEmail(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestDescribeChanges(t *testing.T) {
	from := subscribers.Preferences{Topics: []string{"ai"}, Frequency: "daily", Hour: 7, TimeZone: "UTC", Format: "html"}
	to := subscribers.Preferences{Topics: []string{"ai", "screening"}, Societies: []string{"esr", "gone"}, Frequency: "weekly", Day: "monday", Hour: 18, TimeZone: "Europe/Vienna", Format: "text"}
	got := describeChanges(testCatalog(), subscribers.Diff(from, to))
	want := []changeLine{
		{"Topics", "AI & informatics", "AI & informatics, Screening & early detection"},
		{"Societies", "all societies", "European Society of Radiology, gone"}, // an id no longer in the catalog shows as it is
		{"Frequency", "daily", "weekly"},
		{"Day", "none", "Monday"},
		{"Time of day", "07:00", "18:00"},
		{"Time zone", "UTC", "Europe/Vienna"},
		{"Format", "HTML with a plain-text copy", "plain text only"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("describeChanges =\n%v\nwant\n%v", got, want)
	}
}

func TestCommonZonesResolve(t *testing.T) {
	seen := map[string]bool{}
	for _, zone := range commonZones() {
		if _, err := subscribers.LoadLocation(zone); err != nil {
			t.Errorf("zone %q: %v", zone, err)
		}
		if seen[zone] {
			t.Errorf("zone %q listed twice", zone)
		}
		seen[zone] = true
	}
}

func TestTopicsGroupInFirstSeenOrder(t *testing.T) {
	cat := Catalog{Topics: []topics.Topic{
		{ID: "a", Name: "A", Group: "One"},
		{ID: "b", Name: "B", Group: "Two"},
		{ID: "c", Name: "C", Group: "One"},
	}}
	v := newChoicesView(cat, subscribers.Preferences{Topics: []string{"c"}})
	var got []string
	for _, g := range v.Groups {
		for _, opt := range g.Topics {
			got = append(got, fmt.Sprintf("%s/%s/%v", g.Name, opt.Value, opt.Checked))
		}
	}
	if want := []string{"One/a/false", "One/c/true", "Two/b/false"}; !slices.Equal(got, want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
}
