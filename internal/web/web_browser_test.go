package web

import (
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/radiogram/radiogram/internal/browsertest"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// serveBrowser serves the pages on loopback, with the fake's mailed links
// pointing back at the test server.
func serveBrowser(t *testing.T) (*harness, *httptest.Server) {
	t.Helper()
	h := newHarness(t, testCatalog())
	ts := browsertest.Serve(t, h.handler)
	h.fake.baseURL = ts.URL
	return h, ts
}

func TestBrowserChangePreferences(t *testing.T) {
	h, ts := serveBrowser(t)
	ctx := browsertest.New(t)

	// The page opens from the link in an email.
	browsertest.Run(t, ctx, chromedp.Navigate(ts.URL+"/preferences?token="+url.QueryEscape(token("preferences", "s1"))))
	type shown struct {
		AI, Cancer, Screening, Daily, HTML, DayHidden bool
		Zone, Hour                                    string
	}
	got := browsertest.Eval[shown](t, ctx, `({
		AI: document.getElementById("topic-ai").checked,
		Cancer: document.getElementById("topic-cancer").checked,
		Screening: document.getElementById("topic-screening").checked,
		Daily: document.getElementById("frequency-daily").checked,
		HTML: document.getElementById("format-html").checked,
		DayHidden: document.getElementById("day-field").hidden,
		Zone: document.getElementById("timezone").value,
		Hour: document.getElementById("hour").value,
	})`)
	want := shown{AI: true, Cancer: true, Screening: false, Daily: true, HTML: true, DayHidden: true, Zone: "Europe/Vienna", Hour: "7"}
	if got != want {
		t.Errorf("the page shows %+v, want the stored choices %+v", got, want)
	}

	// Tick one topic, untick another, and switch to a weekly digest on
	// Fridays: the day field appears only once weekly is chosen.
	browsertest.Run(t, ctx,
		chromedp.Click(chromedp.ID("topic-screening")),
		chromedp.Click(chromedp.ID("topic-cancer")),
		chromedp.Click(chromedp.ID("frequency-weekly")),
		chromedp.WaitVisible(chromedp.ID("day")),
		chromedp.SetValue(chromedp.ID("day"), "friday"),
		chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice.success")),
	)
	saved := browsertest.Text(t, ctx, ".notice.success")
	browsertest.Screenshot(t, ctx, "preferences-saved-desktop")
	for _, line := range []string{
		"Saved. What changed:",
		"Topics: AI & informatics, Cancer imaging → AI & informatics, Screening & early detection",
		"Frequency: daily → weekly",
		"Day: none → Friday",
	} {
		if !strings.Contains(saved, line) {
			t.Errorf("the saved notice lacks %q; it reads:\n%s", line, saved)
		}
	}
	sub, _ := h.fake.get("s1")
	if p := sub.Preferences; !slices.Equal(p.Topics, []string{"ai", "screening"}) || p.Frequency != subscribers.Weekly || p.Day != "friday" || p.TimeZone != "Europe/Vienna" || p.Hour != 7 {
		t.Errorf("stored preferences = %+v", p)
	}
	// The form now shows the saved choices.
	if browsertest.Eval[bool](t, ctx, `document.getElementById("topic-cancer").checked`) || !browsertest.Eval[bool](t, ctx, `document.getElementById("frequency-weekly").checked`) {
		t.Error("the form after saving does not show the saved choices")
	}
}

func TestBrowserSignUpWithKeyboard(t *testing.T) {
	h, ts := serveBrowser(t)
	ctx := browsertest.New(t)
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/Chicago"}); err != nil {
		t.Fatal(err)
	}
	browsertest.Run(t, ctx, chromedp.Navigate(ts.URL+"/"), chromedp.WaitReady(chromedp.ID("email")))
	if zone := browsertest.Eval[string](t, ctx, `document.getElementById("timezone").value`); zone != "America/Chicago" {
		t.Errorf("time zone = %q, want the browser's America/Chicago preselected", zone)
	}

	active := func() string {
		return browsertest.Eval[string](t, ctx, `document.activeElement.id || document.activeElement.textContent.trim()`)
	}
	tabTo := func(target string) {
		t.Helper()
		for range 60 {
			if active() == target {
				return
			}
			browsertest.Run(t, ctx, chromedp.KeyEvent("\t"))
		}
		t.Fatalf("Tab never reached %q", target)
	}
	tabTo("email")
	browsertest.Run(t, ctx, chromedp.KeyEvent("reader@example.org"))
	tabTo("topic-screening")
	browsertest.Run(t, ctx, chromedp.KeyEvent(" "))
	tabTo("topic-ai")
	browsertest.Run(t, ctx, chromedp.KeyEvent(" "))
	tabTo("Subscribe")
	// Wait for the answer page itself: the sign-up page has an h1 too, and
	// the browser may be between the two pages when we look.
	browsertest.Run(t, ctx, chromedp.KeyEvent("\r"))
	var heading string
	for deadline := time.Now().Add(10 * time.Second); heading != "Check your inbox"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after submitting: heading %q", heading)
		}
		heading, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("h1")?.innerText ?? ""`))
	}
	signUps := h.fake.signUpsSoFar()
	if len(signUps) != 1 {
		t.Fatalf("%d sign-ups, want 1", len(signUps))
	}
	got := signUps[0]
	if got.Email != "reader@example.org" || !slices.Equal(got.Preferences.Topics, []string{"ai", "screening"}) ||
		got.Preferences.TimeZone != "America/Chicago" || got.Preferences.Frequency != subscribers.Daily || got.Preferences.Hour != 7 {
		t.Errorf("sign-up = %+v", got)
	}
}

// TestBrowserScreenshots saves the pages at phone and desktop widths for a
// person to look at, and checks that nothing is wider than the screen.
func TestBrowserScreenshots(t *testing.T) {
	_, ts := serveBrowser(t)
	ctx := browsertest.New(t)
	sizes := []struct {
		name          string
		width, height int64
	}{
		{"phone", 390, 844},
		{"narrow", 360, 740},
		{"desktop", 1280, 900},
	}
	pages := []struct{ name, path string }{
		{"signup", "/"},
		{"preferences", "/preferences?token=" + url.QueryEscape(token("preferences", "s1"))},
	}
	for _, size := range sizes {
		browsertest.Run(t, ctx, chromedp.EmulateViewport(size.width, size.height))
		for _, p := range pages {
			browsertest.Run(t, ctx, chromedp.Navigate(ts.URL+p.path), chromedp.WaitVisible(chromedp.CSS("h1")))
			if overflow := browsertest.Overflow(t, ctx); overflow > 0 {
				t.Errorf("%s at %d px: the page is %d px wider than the screen", p.name, size.width, overflow)
			}
			if size.name != "narrow" {
				browsertest.Screenshot(t, ctx, p.name+"-"+size.name)
			}
		}
	}
	// The one-button and message pages, at phone width.
	for _, p := range []struct{ name, path string }{
		{"confirm", "/confirm?token=" + url.QueryEscape(token("confirm", "s2"))},
		{"erase", "/me/erase?token=" + url.QueryEscape(token("erase", "s1"))},
		{"expired", "/confirm?token=" + url.QueryEscape(token("expired", "s2"))},
	} {
		browsertest.Run(t, ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.URL+p.path), chromedp.WaitVisible(chromedp.CSS("h1")))
		browsertest.Screenshot(t, ctx, p.name+"-phone")
	}

	// A form shown again with an error, as a person sees it.
	browsertest.Run(t, ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.URL+"/"),
		chromedp.SendKeys(chromedp.ID("email"), "reader@example.org"),
		chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")),
	)
	if focused := browsertest.Eval[string](t, ctx, `document.activeElement.className`); focused != "error-summary" {
		t.Errorf("after an error the focus is on %q, want the error summary", focused)
	}
	browsertest.Screenshot(t, ctx, "signup-error-phone")
}

// TestBrowserPreferencesPhrases types keywords and mute words into the
// preferences page, one a line, saves them, and sees a refused phrase
// explained next to its field.
func TestBrowserPreferencesPhrases(t *testing.T) {
	h, ts := serveBrowser(t)
	ctx := browsertest.New(t)
	browsertest.Run(t, ctx,
		chromedp.Navigate(ts.URL+"/preferences?token="+url.QueryEscape(token("preferences", "s1"))),
		chromedp.WaitVisible(chromedp.ID("keywords")),
		// The labels name the text areas for screen readers.
		chromedp.Click(chromedp.CSS(`label[for="keywords"]`)),
	)
	if active := browsertest.Eval[string](t, ctx, `document.activeElement.id`); active != "keywords" {
		t.Errorf("clicking the label focused %q, want the keywords text area", active)
	}
	browsertest.Run(t, ctx,
		chromedp.SendKeys(chromedp.ID("keywords"), "lung cancer screening\nMRI"),
		chromedp.SendKeys(chromedp.ID("mute"), "COVID"),
		chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice.success")),
	)
	saved := browsertest.Text(t, ctx, ".notice.success")
	for _, line := range []string{"Keywords: none → lung cancer screening, MRI", "Mute words: none → COVID"} {
		if !strings.Contains(saved, line) {
			t.Errorf("the saved notice lacks %q; it reads:\n%s", line, saved)
		}
	}
	sub, _ := h.fake.get("s1")
	if !slices.Equal(sub.Preferences.Keywords, []string{"lung cancer screening", "MRI"}) || !slices.Equal(sub.Preferences.Mute, []string{"COVID"}) {
		t.Errorf("stored keywords %q, mute %q", sub.Preferences.Keywords, sub.Preferences.Mute)
	}
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("keywords").value`); got != "lung cancer screening\nMRI" {
		t.Errorf("the page shows keywords %q after saving", got)
	}
	browsertest.Screenshot(t, ctx, "preferences-phrases-saved")

	// A phrase that is also a keyword is refused, next to the mute words.
	browsertest.Run(t, ctx,
		chromedp.Clear(chromedp.ID("mute")),
		chromedp.SendKeys(chromedp.ID("mute"), "COVID\nmri"),
		chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")),
	)
	summary := browsertest.Text(t, ctx, ".error-summary")
	if !strings.Contains(summary, `Mute words: "mri" is also one of your keywords`) {
		t.Errorf("the error summary reads %q", summary)
	}
	type field struct {
		Invalid, DescribedBy, Value string
	}
	got := browsertest.Eval[field](t, ctx, `({
		Invalid: document.getElementById("mute").getAttribute("aria-invalid"),
		DescribedBy: document.getElementById("mute").getAttribute("aria-describedby"),
		Value: document.getElementById("mute").value,
	})`)
	if got.Invalid != "true" || got.DescribedBy != "mute-hint mute-error" || got.Value != "COVID\nmri" {
		t.Errorf("the mute field after the error: %+v", got)
	}
	browsertest.Screenshot(t, ctx, "preferences-phrases-error")
	if sub, _ := h.fake.get("s1"); !slices.Equal(sub.Preferences.Mute, []string{"COVID"}) {
		t.Errorf("the refused phrase was saved: %q", sub.Preferences.Mute)
	}
}
