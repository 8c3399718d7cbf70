package app

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/radiogram/radiogram/internal/browsertest"
	"github.com/radiogram/radiogram/internal/ingestruns"
)

// TestConsoleRunsAnIngestInBrowser drives the console's "Run ingest now" in
// headless Chromium over the whole stack on moto: the button lands on the
// run's page at once, which says it runs; a second click lands on the same
// run; once the ingest function (here the ingest queue's handler,
// in-process) carried it out, the reloaded page shows its counts.
func TestConsoleRunsAnIngestInBrowser(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:4]))
	srv := newTestAPI(t, a)
	consoleURL := srv.URL + "/admin/console"

	browser := browsertest.New(t)
	do := func(steps ...chromedp.Action[chromedp.Void]) { t.Helper(); browsertest.Run(t, browser, steps...) }
	read := func(css string) string { t.Helper(); return strings.TrimSpace(browsertest.Text(t, browser, css)) }
	do(
		chromedp.Navigate(consoleURL+"/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), testAdminToken),
		chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("feeds-title")),
	)

	do(chromedp.Click(chromedp.CSS(`#run-ingest button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID("ingest-running")))
	id := read("#ingest-run-id")
	if path := browsertest.Eval[string](t, browser, `location.pathname`); path != "/admin/console/ingest/"+id {
		t.Errorf("after the click the browser is at %s, want the run's page", path)
	}
	if run, err := a.IngestRuns().Get(context.Background(), id); err != nil || run.Status != ingestruns.StatusRunning || run.StartedBy != "admin (console)" {
		t.Fatalf("run %s: %+v, %v; want running, started by the console", id, run, err)
	}
	browsertest.Screenshot(t, browser, "app-console-ingest-running")

	// Clicking again while it waits shows the same run.
	do(
		chromedp.Navigate(consoleURL),
		chromedp.WaitVisible(chromedp.ID("run-ingest")),
		chromedp.Click(chromedp.CSS(`#run-ingest button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("ingest-running")),
	)
	if again := read("#ingest-run-id"); again != id {
		t.Errorf("a second click started %s while %s ran", again, id)
	}

	if n := consumeIngests(t, a); n != 1 {
		t.Fatalf("%d ingest requests queued, want 1", n)
	}
	do(chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("ingest-counts")))
	counts := browsertest.Eval[map[string]string](t, browser, `Object.fromEntries(Array.from(
		document.querySelectorAll("#ingest-counts [data-count]"), td => [td.dataset.count, td.textContent.trim()]))`)
	if counts["feeds_ok"] != "4" || counts["items_new"] != "8" || counts["feeds_failed"] != "0" {
		t.Errorf("the finished run's page counts %v, want 4 feeds ok, 8 new items, none failed", counts)
	}
	if status := read("h1 .badge"); status != "done" {
		t.Errorf("the finished run's status reads %q", status)
	}
	if rows := browsertest.Eval[int](t, browser, `document.querySelectorAll("#ingest-feeds tbody tr").length`); rows != 4 {
		t.Errorf("the page lists %d feeds, want 4", rows)
	}
	browsertest.Screenshot(t, browser, "app-console-ingest-done")
}
