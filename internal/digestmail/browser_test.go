package digestmail

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/radiogram/radiogram/internal/browsertest"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/letters"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestMailsInBrowser opens a digest, an alert, the confirmation and the
// manage mail in headless Chromium at a phone's and a laptop's width, in
// light and dark mode, and saves a screenshot of each (testdata/artifacts,
// or $RADIOGRAM_ARTIFACTS). Nothing may scroll sideways, and in dark mode
// the dark styles must apply.
func TestMailsInBrowser(t *testing.T) {
	r := NewRenderer(testProduct, testMailto)
	digestMail, err := r.Render(weeklyDigest(t, subscribers.FormatHTML), alice)
	if err != nil {
		t.Fatal(err)
	}
	steeredMail, err := r.Render(steeredDigest(t, subscribers.FormatHTML), alice)
	if err != nil {
		t.Fatal(err)
	}
	alertRecipient := alice
	alertRecipient.Heading = "Alert · 21 Nov"
	alertContent := weeklyDigest(t, subscribers.FormatHTML)
	alertContent.Kind = digest.KindAlert
	alertMail, err := r.Render(alertContent, alertRecipient)
	if err != nil {
		t.Fatal(err)
	}
	composer := letters.NewComposer(testProduct)
	sub := subscribers.Subscriber{Email: alice.Email, Preferences: subscribers.Preferences{
		Topics: []string{"ai", "screening"}, Frequency: subscribers.Daily, Hour: 7, TimeZone: "Europe/Vienna", Format: subscribers.FormatHTML,
	}}
	links := subscribers.Links{
		Confirm:     "https://radiogram.example/confirm?token=c0nf1rm",
		Preferences: alice.Links.Preferences,
		Unsubscribe: alice.Links.Unsubscribe,
		Export:      "https://radiogram.example/export?token=exp",
		Erase:       "https://radiogram.example/erase?token=era",
	}
	confirmation, err := composer.Confirmation(sub, []string{"AI & informatics", "Screening & early detection"}, links)
	if err != nil {
		t.Fatal(err)
	}
	manage, err := composer.Manage(sub, links)
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{
		"digest": digestMail.HTML, "alert": alertMail.HTML, "digest-keywords": steeredMail.HTML,
		"confirmation": confirmation.HTML, "manage": manage.HTML,
	}
	mux := http.NewServeMux()
	for name, page := range pages {
		mux.HandleFunc("/"+name, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(page))
		})
	}
	ts := browsertest.Serve(t, mux)
	ctx := browsertest.New(t)

	for _, scheme := range []string{"light", "dark"} {
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			t.Fatal(err)
		}
		for _, width := range []int64{375, 1024} {
			for _, name := range []string{"digest", "alert", "digest-keywords", "confirmation", "manage"} {
				browsertest.Run(t, ctx, chromedp.EmulateViewport(width, 800), chromedp.Navigate(ts.URL+"/"+name), chromedp.WaitVisible(chromedp.CSS("h1")))
				if over := browsertest.Overflow(t, ctx); over > 0 {
					t.Errorf("%s at %d px (%s): %d px of sideways scrolling", name, width, scheme, over)
				}
				want := letters.Light
				if scheme == "dark" {
					want = letters.Dark
				}
				got := browsertest.Eval[[]string](t, ctx, `[getComputedStyle(document.querySelector("h1")).color, getComputedStyle(document.querySelector(".card")).backgroundColor]`)
				if wantText, wantCard := rgb(want.Text), rgb(want.Card); got[0] != wantText || got[1] != wantCard {
					t.Errorf("%s at %d px (%s): heading %s on %s, want %s on %s", name, width, scheme, got[0], got[1], wantText, wantCard)
				}
				browsertest.Screenshot(t, ctx, fmt.Sprintf("mail-%s-%d-%s", name, width, scheme))
			}
		}
	}
}

// rgb writes "#RRGGBB" as getComputedStyle does.
func rgb(hex string) string {
	var r, g, b int
	_, _ = fmt.Sscanf(strings.TrimPrefix(hex, "#"), "%02x%02x%02x", &r, &g, &b)
	return fmt.Sprintf("rgb(%d, %d, %d)", r, g, b)
}
