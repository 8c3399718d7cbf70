package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/radiogram/radiogram/internal/browsertest"
)

// serveBrowser serves the console as the application registers it.
func serveBrowser(t *testing.T) (*harness, *httptest.Server) {
	t.Helper()
	h := newHarness(t)
	mux := http.NewServeMux()
	h.handlers().Register(mux)
	return h, browsertest.Serve(t, mux)
}

// browserSignIn opens url, which shows the sign-in form, and signs in with
// the admin token, landing on the overview.
func browserSignIn(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	browsertest.Run(t, ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), testToken),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("feeds-title")),
	)
}

func TestBrowserDryRunSendAndPreview(t *testing.T) {
	h, ts := serveBrowser(t)
	ctx := browsertest.New(t)

	// Opening the console asks to sign in first.
	browserSignIn(t, ctx, ts.URL+"/admin/console")
	if got := browsertest.Text(t, ctx, "h1"); got != "Overview" {
		t.Fatalf("after signing in: heading %q", got)
	}
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#feeds tr.failing").length`); n != 2 {
		t.Errorf("%d feeds highlighted as failing, want 2", n)
	}
	browsertest.Screenshot(t, ctx, "overview")

	// A dry run for one topic lists whom it would reach.
	browsertest.Run(t, ctx,
		chromedp.Click(chromedp.CSS(`.site-nav a[href="/admin/console/send"]`)),
		chromedp.WaitVisible(chromedp.ID("target-topic")),
		chromedp.Click(chromedp.ID("target-topic")),
		chromedp.SetValue(chromedp.ID("topic"), "ai"),
		chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("send-for-real")),
	)
	recipients := browsertest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#recipients tbody tr td:first-child")).map(td => td.textContent.trim())`)
	if strings.Join(recipients, ",") != "ada@example.org,grace@example.org,mallory@example.org" {
		t.Errorf("the dry run lists %v", recipients)
	}
	if planned := browsertest.Text(t, ctx, `#plan-counts [data-count="planned"]`); planned != "2" {
		t.Errorf("the dry run plans %s recipients, want 2", planned)
	}
	if skip := browsertest.Text(t, ctx, "#recipients tr.skipped td:last-child"); skip != "suppressed (bounced)" {
		t.Errorf("the skipped recipient's reason reads %q", skip)
	}
	if h.fake.realRuns() != 0 {
		t.Fatal("the dry run sent mail")
	}
	browsertest.Screenshot(t, ctx, "dryrun")

	// Sending for real lands on the run's page.
	browsertest.Run(t, ctx,
		chromedp.Click(chromedp.ID("send-for-real")),
		chromedp.WaitVisible(chromedp.ID("sender-counts")),
	)
	location := browsertest.Eval[string](t, ctx, `location.pathname`)
	if !strings.HasPrefix(location, "/admin/console/runs/run-") {
		t.Errorf("after sending: at %s, want a run's page", location)
	}
	counts := browsertest.Eval[map[string]string](t, ctx, `Object.fromEntries(Array.from(document.querySelectorAll("[data-count]")).map(td => [td.dataset.count, td.textContent]))`)
	want := map[string]string{"candidates": "3", "planned": "2", "jobs": "1", "sent": "1", "failed": "1"}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("run page count %s = %q, want %q", k, counts[k], v)
		}
	}
	if reason := browsertest.Text(t, ctx, "#failures-title + .table-wrap tbody td:last-child"); reason != "SES throttled: maximum sending rate exceeded" {
		t.Errorf("failure reason %q", reason)
	}
	if n := h.fake.realRuns(); n != 1 {
		t.Errorf("%d real runs, want 1", n)
	}
	browsertest.Screenshot(t, ctx, "run")

	// The preview frames the mail's HTML and has a tab for its text.
	browsertest.Run(t, ctx,
		chromedp.Navigate(ts.URL+"/admin/console/preview?topic=ai"),
		chromedp.WaitVisible(chromedp.ID("mail-html")),
	)
	if subject := browsertest.Text(t, ctx, "#subject"); subject != "Radiogram sample: AI & informatics" {
		t.Errorf("subject %q", subject)
	}
	frame := browsertest.FrameText(t, ctx, "/admin/console/preview/raw")
	for _, want := range []string{"Radiogram sample: AI & informatics", "Foundation models read chest X-rays"} {
		if !strings.Contains(frame, want) {
			t.Errorf("the framed mail lacks %q; it reads:\n%s", want, frame)
		}
	}
	browsertest.Screenshot(t, ctx, "preview")
	browsertest.Run(t, ctx,
		chromedp.Click(chromedp.ID("tab-text")),
		chromedp.WaitVisible(chromedp.ID("mail-text")),
	)
	if plain := browsertest.Text(t, ctx, "#mail-text"); !strings.Contains(plain, "* Foundation models read chest X-rays") {
		t.Errorf("the text tab reads:\n%s", plain)
	}
	if current := browsertest.Text(t, ctx, `.tabs a[aria-current="page"]`); current != "Plain text" {
		t.Errorf("current tab %q", current)
	}
}

// TestBrowserPagesFitAPhone opens every page at a phone's width: wide
// tables scroll in their own box, and nothing else runs off the screen.
func TestBrowserPagesFitAPhone(t *testing.T) {
	_, ts := serveBrowser(t)
	ctx := browsertest.New(t)
	browserSignIn(t, ctx, ts.URL+"/admin/console/signin")
	pages := []struct{ name, path string }{
		{"overview-phone", "/admin/console"},
		{"items-phone", "/admin/console/items"},
		{"subscriber-phone", "/admin/console/subscribers?email=ada%40example.org"},
		{"send-phone", "/admin/console/send"},
		{"runs-phone", "/admin/console/runs"},
		{"run-phone", "/admin/console/runs/run-sched"},
		{"preview-phone", "/admin/console/preview?topic=ai&view=text"},
		{"audit-phone", "/admin/console/audit"},
		{"notfound-phone", "/admin/console/nowhere"},
	}
	for _, p := range pages {
		browsertest.Run(t, ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.URL+p.path), chromedp.WaitVisible(chromedp.CSS("h1")))
		if overflow := browsertest.Overflow(t, ctx); overflow > 0 {
			t.Errorf("%s: the page is %d px wider than the screen", p.path, overflow)
		}
		browsertest.Screenshot(t, ctx, p.name)
	}
}
