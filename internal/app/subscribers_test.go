package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/subscribers"
)

type page struct {
	status int
	header http.Header
	body   string
}

func fetch(t *testing.T, method, target, contentType, body string) page {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func postForm(t *testing.T, target string, form url.Values) page {
	return fetch(t, http.MethodPost, target, "application/x-www-form-urlencoded", form.Encode())
}

// tokenIn returns the token of a link.
func tokenIn(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// TestSubscriberJourney follows one subscriber through the whole flow over
// HTTP, reading every mail from moto's SES store: sign up, confirm, sign up
// again, change preferences, one-click unsubscribe, export, erase, return.
func TestSubscriberJourney(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:4]))
	srv := newTestAPI(t, a)
	ctx := context.Background()
	const addr = "ada.lovelace@hospital.test"
	stored := func() subscribers.Subscriber {
		t.Helper()
		s, err := a.Subscribers.GetByEmail(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	signup := `{"email":"Ada.Lovelace@hospital.test","topics":["ai","screening"],"societies":["esr"],"frequency":"daily","hour":7,"timezone":"Europe/Vienna"}`
	if p := fetch(t, "POST", srv.URL+"/subscribe", "application/json", signup); p.status != http.StatusAccepted {
		t.Fatalf("subscribe: %d %s", p.status, p.body)
	}
	confirmation := waitForMail(t, a, addr, 1)[0]
	if confirmation.HTML == "" || confirmation.Text == "" || confirmation.Header.Get("Subject") == "" {
		t.Fatalf("confirmation lacks a part: %+v", confirmation)
	}
	if confirmation.Header.Get("List-Unsubscribe") != "" {
		t.Error("a confirmation must not offer to unsubscribe from what is not yet a subscription")
	}
	confirmLink := confirmation.link(t, "/confirm")
	if !strings.HasPrefix(confirmLink, srv.URL+"/confirm?token=") {
		t.Errorf("confirm link %q does not point at the API", confirmLink)
	}

	// Opening the link (as a mail scanner would) changes nothing.
	if p := fetch(t, "GET", confirmLink, "", ""); p.status != 200 || !strings.Contains(p.body, "<form") {
		t.Fatalf("confirm page: %d", p.status)
	}
	if s := stored(); s.Status != subscribers.StatusPending {
		t.Fatalf("a GET confirmed the subscription: %s", s.Status)
	}
	if p := postForm(t, srv.URL+"/confirm", url.Values{"token": {tokenIn(t, confirmLink)}}); p.status != 200 {
		t.Fatalf("confirm: %d %s", p.status, p.body)
	}
	if s := stored(); s.Status != subscribers.StatusConfirmed || s.ConfirmedAt.IsZero() {
		t.Fatalf("after confirming: %+v", s)
	}

	// Signing up again mails a manage link, not a second subscription.
	if p := fetch(t, "POST", srv.URL+"/subscribe", "application/json", signup); p.status != http.StatusAccepted {
		t.Fatalf("second subscribe: %d %s", p.status, p.body)
	}
	manage := waitForMail(t, a, addr, 2)[1]
	unsubscribeHeader := manage.Header.Get("List-Unsubscribe")
	checkUnsubscribeHeaders(t, manage, srv.URL)

	prefsLink := manage.link(t, "/preferences")
	prefsPage := fetch(t, "GET", prefsLink, "", "")
	if prefsPage.status != 200 || prefsPage.header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("preferences page: %d, Referrer-Policy %q", prefsPage.status, prefsPage.header.Get("Referrer-Policy"))
	}
	saved := postForm(t, srv.URL+"/preferences", url.Values{
		"token": {tokenIn(t, prefsLink)}, "topics": {"ai", "safety"}, "frequency": {"weekly"}, "day": {"friday"},
		"hour": {"8"}, "timezone": {"Europe/Vienna"}, "format": {"text"},
	})
	if saved.status != 200 || !strings.Contains(strings.ToLower(saved.body), "weekly") {
		t.Fatalf("save preferences: %d %s", saved.status, saved.body)
	}
	p := stored().Preferences
	if strings.Join(p.Topics, ",") != "ai,safety" || p.Frequency != subscribers.Weekly || p.Day != "friday" || p.Hour != 8 || p.Format != subscribers.FormatText || len(p.Societies) != 0 {
		t.Fatalf("stored preferences: %+v", p)
	}
	bad := postForm(t, srv.URL+"/preferences", url.Values{"token": {tokenIn(t, prefsLink)}, "topics": {"astrology"}, "hour": {"8"}})
	if bad.status != 400 || strings.Join(stored().Preferences.Topics, ",") != "ai,safety" {
		t.Errorf("an unknown topic: %d, stored %v", bad.status, stored().Preferences.Topics)
	}

	// The preferences page shows no data links, only offers to mail them:
	// the manage mail alone carries export and erase links.
	if page := fetch(t, "GET", prefsLink, "", "").body; strings.Contains(page, "/me/export") || strings.Contains(page, "/me/erase") {
		t.Error("the preferences page links to the subscriber's data")
	}
	asked := postForm(t, srv.URL+"/preferences/data-link", url.Values{"token": {tokenIn(t, prefsLink)}})
	if asked.status != 200 || !strings.Contains(asked.body, "If that address is subscribed") {
		t.Fatalf("ask for the data links: %d %s", asked.status, asked.body)
	}
	dataMail := waitForMail(t, a, addr, 3)[2]
	if got := len(mailbox(t, a, addr)); got != 3 {
		t.Fatalf("asking for the data links sent %d mails, want 1", got-2)
	}
	exportLink, eraseLink := dataMail.link(t, "/me/export"), dataMail.link(t, "/me/erase")

	// RFC 8058 one-click, as a mail client posts it: at once, idempotent.
	oneClick := strings.Trim(strings.Split(unsubscribeHeader, ",")[0], " <>")
	for range 2 {
		if p := fetch(t, "POST", oneClick, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click"); p.status != 200 {
			t.Fatalf("one-click unsubscribe: %d %s", p.status, p.body)
		}
	}
	if s := stored(); s.Status != subscribers.StatusUnsubscribed {
		t.Errorf("after one-click: %s", s.Status)
	}
	if supp, ok, _ := a.Suppressions.Get(ctx, a.Hasher.HashEmail(addr)); !ok || supp.Reason != subscribers.ReasonUnsubscribed {
		t.Errorf("unsubscribed address not suppressed: %+v", supp)
	}

	exported := fetch(t, "GET", exportLink, "", "")
	var data subscribers.Export
	if exported.status != 200 || json.Unmarshal([]byte(exported.body), &data) != nil || data.Subscriber.Email != addr || data.Suppression == nil {
		t.Fatalf("export: %d %s", exported.status, exported.body)
	}
	if !strings.Contains(exported.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("export is not a download: %q", exported.header.Get("Content-Disposition"))
	}

	if p := fetch(t, "GET", eraseLink, "", ""); p.status != 200 {
		t.Fatalf("erase page: %d", p.status)
	}
	if _, err := a.Subscribers.GetByEmail(ctx, addr); err != nil {
		t.Fatal("a GET erased the subscriber")
	}
	if p := postForm(t, eraseLink, url.Values{"token": {tokenIn(t, eraseLink)}}); p.status != 200 {
		t.Fatalf("erase: %d %s", p.status, p.body)
	}
	if _, err := a.Subscribers.GetByEmail(ctx, addr); !errors.Is(err, subscribers.ErrNotFound) {
		t.Fatalf("after erase: %v", err)
	}
	if supp, ok, _ := a.Suppressions.Get(ctx, a.Hasher.HashEmail(addr)); !ok || supp.Reason != subscribers.ReasonErased {
		t.Errorf("erased address: suppression %+v", supp)
	}
	if p := fetch(t, "GET", prefsLink, "", ""); p.status != http.StatusNotFound {
		t.Errorf("an erased subscriber's preferences link answers %d, want 404", p.status)
	}
}

// TestSubscribeRejectsBadInput checks the public routes' 4xx answers.
func TestSubscribeRejectsBadInput(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:4]))
	srv := newTestAPI(t, a)
	tests := []struct {
		name, body string
		want       int
	}{
		{"bad address", `{"email":"not-an-address","topics":["ai"]}`, 400},
		{"header injection", `{"email":"a@b.test\r\nBcc: c@d.test","topics":["ai"]}`, 400},
		{"no topics", `{"email":"a@b.test","topics":[]}`, 400},
		{"unknown topic", `{"email":"a@b.test","topics":["astrology"]}`, 400},
		{"unknown society", `{"email":"a@b.test","topics":["ai"],"societies":["nasa"]}`, 400},
		{"bad zone", `{"email":"a@b.test","topics":["ai"],"timezone":"Mars/Olympus"}`, 400},
		{"bad hour", `{"email":"a@b.test","topics":["ai"],"hour":25}`, 400},
		{"bad frequency", `{"email":"a@b.test","topics":["ai"],"frequency":"hourly"}`, 400},
		{"unknown field", `{"email":"a@b.test","topics":["ai"],"admin":true}`, 400},
		{"not json", `{"email":`, 400},
		{"huge", `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fetch(t, "POST", srv.URL+"/subscribe", "application/json", tt.body)
			if p.status != tt.want {
				t.Fatalf("status %d, want %d: %s", p.status, tt.want, p.body)
			}
			var body map[string]any
			if json.Unmarshal([]byte(p.body), &body) != nil || body["error"] == "" {
				t.Errorf("no JSON reason: %s", p.body)
			}
		})
	}
	for _, target := range []string{"/confirm?token=forged", "/preferences?token=1.k1.x.preferences.0.y", "/unsubscribe?token="} {
		if p := fetch(t, "GET", srv.URL+target, "", ""); p.status != 400 || strings.Contains(p.body, "goroutine") {
			t.Errorf("GET %s: %d", target, p.status)
		}
	}

	// The sign-up form cannot be used to flood one inbox.
	var statuses []int
	for range 5 {
		statuses = append(statuses, fetch(t, "POST", srv.URL+"/subscribe", "application/json", `{"email":"victim@hospital.test","topics":["ai"]}`).status)
	}
	drainAll(t, a)
	if got := len(mailbox(t, a, "victim@hospital.test")); got != 3 || statuses[4] != http.StatusTooManyRequests {
		t.Errorf("5 sign-ups of one address: statuses %v, %d mails; want the last refused with 429 and 3 mails", statuses, got)
	}
}

// checkUnsubscribeHeaders checks a mail's List-Unsubscribe headers: the
// signed link on base, and the RFC 8058 one-click header exactly when the
// link is https (the tests serve plain http on loopback).
func checkUnsubscribeHeaders(t *testing.T, m receivedMail, base string) {
	t.Helper()
	link := m.Header.Get("List-Unsubscribe")
	if !strings.Contains(link, base+"/unsubscribe?token=") {
		t.Errorf("List-Unsubscribe %q lacks the signed link on %s", link, base)
	}
	wantPost := ""
	if strings.HasPrefix(base, "https://") {
		wantPost = "List-Unsubscribe=One-Click"
	}
	if got := m.Header.Get("List-Unsubscribe-Post"); got != wantPost {
		t.Errorf("List-Unsubscribe-Post %q, want %q", got, wantPost)
	}
	// Every mail to a subscriber names its list and says it is automatic.
	if got := m.Header.Get("List-Id"); !strings.HasPrefix(got, "Radiogram <radiogram.list-id.") {
		t.Errorf("List-Id %q, want the product's list at the From domain", got)
	}
	if got := m.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted %q, want auto-generated", got)
	}
}
