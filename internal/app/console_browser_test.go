package app

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/radiogram/radiogram/internal/browsertest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestConsoleInBrowser drives the admin console in headless Chromium over
// the whole stack on moto: sign in, read the overview, preview a
// subscriber's mail, dry-run a send to everyone, send it for real, let the
// real sender drain the queue, and find the outcome on the run page, in
// SES and in the audit log.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	a, srv := newIngestedApp(t)
	ctx := context.Background()
	stored := mustList(t, a, items.Query{Societies: []string{"esr", "rsna", "acr", "wfumb"}, Limit: 200})

	// Two readers with something new, one whose topic has no news. The
	// addresses are this test's own: moto's SES store is shared by the
	// package's tests.
	const curie, roentgen, snow = "marie.curie@clinic.test", "wilhelm.roentgen@clinic.test", "john.snow@clinic.test"
	readers := []subscribers.Subscriber{
		addConfirmed(t, a, curie, subscribers.Preferences{Topics: []string{"ai"}, Frequency: subscribers.Daily, Hour: 7}),
		addConfirmed(t, a, roentgen, subscribers.Preferences{Topics: []string{"ai", "safety"}, Frequency: subscribers.Weekly, Day: "monday", Hour: 9, Format: subscribers.FormatText}),
		addConfirmed(t, a, snow, subscribers.Preferences{Topics: []string{"covid"}, Frequency: subscribers.Daily, Hour: 7}),
	}
	wantItems := map[string][]string{} // email → titles they should get
	for _, s := range readers {
		wantItems[s.Email] = wants(stored, s.Preferences)
	}
	if len(wantItems[curie]) == 0 || len(wantItems[roentgen]) == 0 || len(wantItems[snow]) != 0 {
		t.Fatalf("the fixtures no longer suit this test: %v", wantItems)
	}

	runPlanner(t, a)
	browser := browsertest.New(t)
	do := func(steps ...chromedp.Action[chromedp.Void]) { t.Helper(); browsertest.Run(t, browser, steps...) }
	read := func(css string) string { t.Helper(); return strings.TrimSpace(browsertest.Text(t, browser, css)) }
	consoleURL := srv.URL + "/admin/console"

	// Signing in.
	do(
		chromedp.Navigate(consoleURL+"/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), testAdminToken),
		chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("feeds-title")),
	)

	// The overview: every feed healthy with its items, and the subscribers.
	type feedRow struct {
		Name, Status, Failures, Items, LastFetch string
		Failing                                  bool
	}
	shownFeeds := browsertest.Eval[[]feedRow](t, browser, `Array.from(document.querySelectorAll("#feeds tbody tr")).map(tr => ({
		Name: tr.querySelector(".feed-name").textContent.trim(),
		Status: tr.cells[1].textContent.trim(),
		LastFetch: tr.cells[2].textContent.trim(),
		Failures: tr.cells[3].textContent.trim(),
		Items: tr.cells[5].textContent.trim(),
		Failing: tr.classList.contains("failing"),
	}))`)
	perSociety := map[string]int{}
	for _, it := range stored {
		perSociety[it.Society]++
	}
	if len(shownFeeds) != 4 {
		t.Errorf("the overview lists %d feeds, want 4: %+v", len(shownFeeds), shownFeeds)
	}
	for _, f := range shownFeeds {
		society := strings.ToLower(strings.TrimSuffix(f.Name, " news"))
		if f.Status != "ok" || f.Failing || f.Failures != "0" || f.LastFetch == "never" || f.Items != strconv.Itoa(perSociety[society]) {
			t.Errorf("feed %s shows %+v; want ok, fetched, no failures and %d items", f.Name, f, perSociety[society])
		}
	}
	if hint := read(`section[aria-labelledby="feeds-title"] p.hint`); hint != "All 4 feeds are healthy." {
		t.Errorf("the feeds' health reads %q", hint)
	}
	byStatus := browsertest.Eval[map[string]string](t, browser, `Object.fromEntries(Array.from(
		document.querySelectorAll('section[aria-labelledby="subscribers-title"] .card:first-child tr'),
		tr => [tr.querySelector("th").textContent.trim(), tr.querySelector("td").textContent.trim()]))`)
	if byStatus["confirmed"] != "3" || byStatus["pending"] != "0" || byStatus["unsubscribed"] != "0" {
		t.Errorf("subscribers by status: %v, want 3 confirmed and no others", byStatus)
	}
	if ai := read(`section[aria-labelledby="subscribers-title"] tr:has(a[href$="topic=ai"]) td`); ai != "2" {
		t.Errorf("the overview counts %s subscribers of AI, want 2", ai)
	}
	browsertest.Screenshot(t, browser, "app-console-overview")

	// Marie's next mail, before anything is sent: the HTML in its
	// sandboxed frame, then the plain text.
	do(
		chromedp.Navigate(consoleURL+"/preview?"+url.Values{"subscriber": {curie}}.Encode()),
		chromedp.WaitVisible(chromedp.ID("mail-html")),
	)
	if !browsertest.Eval[bool](t, browser, `(f => f.hasAttribute("sandbox") && f.sandbox.length === 0)(document.getElementById("mail-html"))`) {
		t.Error("the preview frame is not fully sandboxed")
	}
	framed := browsertest.FrameText(t, browser, "/admin/console/preview/raw")
	for _, title := range wantItems[curie] {
		if !strings.Contains(framed, title) {
			t.Errorf("the framed mail lacks %q; it reads:\n%s", title, framed)
		}
	}
	do(chromedp.Click(chromedp.ID("tab-text")), chromedp.WaitVisible(chromedp.ID("mail-text")))
	plain := read("#mail-text")
	if !strings.Contains(plain, wantItems[curie][0]) || strings.Contains(plain, "<") {
		t.Errorf("the text tab does not show the mail as plain text:\n%s", plain)
	}
	if tab := read(`.tabs a[aria-current="page"]`); tab != "Plain text" {
		t.Errorf("current tab %q", tab)
	}

	// A dry run to everyone lists each candidate with their items, and
	// the one with nothing new with the reason.
	do(
		chromedp.Click(chromedp.CSS(`.site-nav a[href="/admin/console/send"]`)),
		chromedp.WaitVisible(chromedp.ID("target-all")),
		chromedp.Click(chromedp.ID("target-all")),
		chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("send-for-real")),
	)
	type recipientRow struct {
		Email, Items, Skip string
		Titles             []string
	}
	rows := browsertest.Eval[[]recipientRow](t, browser, `Array.from(document.querySelectorAll("#recipients tbody tr")).map(tr => ({
		Email: tr.cells[0].textContent.trim(),
		Items: tr.cells[1].textContent.trim(),
		Titles: Array.from(tr.cells[2].querySelectorAll("li"), li => li.textContent.trim()),
		Skip: tr.cells[3].textContent.trim(),
	}))`)
	if len(rows) != len(readers) {
		t.Errorf("the dry run lists %d recipients, want %d: %+v", len(rows), len(readers), rows)
	}
	for _, row := range rows {
		want, ok := wantItems[row.Email]
		switch {
		case !ok:
			t.Errorf("the dry run lists %s, who is no subscriber", row.Email)
		case len(want) == 0:
			if row.Skip != "nothing new" || row.Items != "0" || len(row.Titles) != 0 {
				t.Errorf("%s with nothing new shows %+v", row.Email, row)
			}
		default:
			if row.Skip != "—" || row.Items != strconv.Itoa(len(want)) {
				t.Errorf("%s shows %+v, want %d items and no skip", row.Email, row, len(want))
			}
			for _, title := range row.Titles {
				if !slices.Contains(want, title) {
					t.Errorf("%s would get %q, which is not theirs", row.Email, title)
				}
			}
		}
	}
	if planned := read(`#plan-counts [data-count="planned"]`); planned != "2" {
		t.Errorf("the dry run plans %s mails, want 2", planned)
	}
	for _, s := range readers {
		if n := len(mailbox(t, a, s.Email)); n != 0 {
			t.Errorf("the dry run mailed %s", s.Email)
		}
	}
	browsertest.Screenshot(t, browser, "app-console-dryrun")

	// Sending for real lands on the run's page; nothing has gone out yet.
	// The run is planned in parts by the planner: the page refreshes
	// itself until it is.
	do(chromedp.Click(chromedp.ID("send-for-real")), chromedp.WaitVisible(chromedp.ID("sender-counts")), chromedp.WaitVisible(chromedp.ID("planned")))
	runPath := browsertest.Eval[string](t, browser, `location.pathname`)
	runID, ok := strings.CutPrefix(runPath, "/admin/console/runs/")
	if !ok || runID == "" {
		t.Fatalf("after sending the browser is at %s, not a run's page", runPath)
	}
	type runCounts struct {
		Planned, Sent, Failed string
		StillSending          bool
	}
	readCounts := func() runCounts {
		t.Helper()
		return browsertest.Eval[runCounts](t, browser, `({
			Planned: document.querySelector('[data-count="planned"]').textContent,
			Sent: document.querySelector('[data-count="sent"]').textContent,
			Failed: document.querySelector('[data-count="failed"]').textContent,
			StillSending: document.querySelector("#sender-counts + p.hint") !== null,
		})`)
	}
	if got, want := readCounts(), (runCounts{Planned: "2", Sent: "0", Failed: "0", StillSending: true}); got != want {
		t.Errorf("the run page before the sender ran shows %+v, want %+v", got, want)
	}

	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, a, sender)
	do(chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("sender-counts")))
	if got, want := readCounts(), (runCounts{Planned: "2", Sent: "2", Failed: "0"}); got != want {
		t.Errorf("the run page after sending shows %+v, want %+v", got, want)
	}
	browsertest.Screenshot(t, browser, "app-console-run")

	// SES holds one mail for each planned recipient, with their items, and
	// none for the reader with nothing new.
	for _, s := range readers {
		box := mailbox(t, a, s.Email)
		want := wantItems[s.Email]
		switch {
		case len(want) == 0 && len(box) != 0:
			t.Errorf("%s had nothing new but got %d mails", s.Email, len(box))
		case len(want) > 0 && len(box) != 1:
			t.Errorf("%s got %d mails, want 1", s.Email, len(box))
		case len(want) > 0:
			for _, title := range want {
				if !strings.Contains(box[0].Text, title) {
					t.Errorf("%s's mail lacks %q", s.Email, title)
				}
			}
		}
	}

	// Once sent, Marie has nothing new: the preview says so, not a mail,
	// and does not claim she never subscribed.
	do(
		chromedp.Navigate(consoleURL+"/preview?"+url.Values{"subscriber": {curie}}.Encode()),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")),
	)
	if browsertest.Eval[bool](t, browser, `document.querySelector("#mail-html, #mail-text") !== null`) {
		t.Error("after the send, the preview still shows a mail for Marie")
	}
	if problem := browsertest.Eval[string](t, browser, `document.querySelector(".error-summary").innerText`); !strings.Contains(strings.ToLower(problem), "nothing new") || strings.Contains(problem, "No subscriber") {
		t.Errorf("preview problem for a subscriber with nothing new: %q", problem)
	}

	// The audit log has the sign-in and both halves of the send.
	do(
		chromedp.Click(chromedp.CSS(`.site-nav a[href="/admin/console/audit"]`)),
		chromedp.WaitVisible(chromedp.CSS("main table")),
	)
	type auditRow struct{ Who, Action, Detail, Client string }
	entries := browsertest.Eval[[]auditRow](t, browser, `Array.from(document.querySelectorAll("main tbody tr")).map(tr => ({
		Who: tr.cells[1].textContent.trim(),
		Action: tr.cells[2].textContent.trim(),
		Detail: tr.cells[3].textContent.trim(),
		Client: tr.cells[4].textContent.trim(),
	}))`)
	found := func(action string, match func(auditRow) bool) {
		t.Helper()
		if !slices.ContainsFunc(entries, func(e auditRow) bool { return e.Action == action && e.Who == "admin (console)" && match(e) }) {
			t.Errorf("the audit log lacks the console's %s; it lists %+v", action, entries)
		}
	}
	found("signin", func(e auditRow) bool { return e.Client == "127.0.0.1" })
	found("send.dry_run", func(e auditRow) bool { return strings.Contains(e.Detail, "target all") })
	found("send.trigger", func(e auditRow) bool { return strings.Contains(e.Detail, "run "+runID) })
}
