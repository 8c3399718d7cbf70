package app

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/radiogram/radiogram/internal/browsertest"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestPreferencesInBrowser changes a subscriber's preferences in headless
// Chromium against the whole stack: sign up and confirm over the API, open
// the preferences link from the manage mail in the browser, change topics
// and frequency, save, and find the change on the page and in DynamoDB.
func TestPreferencesInBrowser(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:4]))
	srv := newTestAPI(t, a)
	ctx := context.Background()
	const addr = "grace.hopper@hospital.test"

	signup := `{"email":"grace.hopper@hospital.test","topics":["ai","screening"],"societies":["esr"],"frequency":"daily","hour":7,"timezone":"Europe/Vienna"}`
	if p := fetch(t, "POST", srv.URL+"/subscribe", "application/json", signup); p.status != http.StatusAccepted {
		t.Fatalf("subscribe: %d %s", p.status, p.body)
	}
	confirmLink := waitForMail(t, a, addr, 1)[0].link(t, "/confirm")
	if p := postForm(t, srv.URL+"/confirm", url.Values{"token": {tokenIn(t, confirmLink)}}); p.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", p.status, p.body)
	}
	// Signing up again mails the manage link.
	if p := fetch(t, "POST", srv.URL+"/subscribe", "application/json", signup); p.status != http.StatusAccepted {
		t.Fatalf("second subscribe: %d %s", p.status, p.body)
	}
	prefsLink := waitForMail(t, a, addr, 2)[1].link(t, "/preferences")

	browser := browsertest.New(t)
	do := func(steps ...chromedp.Action[chromedp.Void]) { t.Helper(); browsertest.Run(t, browser, steps...) }
	do(chromedp.Navigate(prefsLink), chromedp.WaitVisible(chromedp.ID("topic-ai")))
	type shown struct {
		AI, Screening, Cancer, ESR, Daily, DayHidden bool
		Hour, Zone                                   string
	}
	got := browsertest.Eval[shown](t, browser, `({
		AI: document.getElementById("topic-ai").checked,
		Screening: document.getElementById("topic-screening").checked,
		Cancer: document.getElementById("topic-cancer").checked,
		ESR: document.getElementById("society-esr").checked,
		Daily: document.getElementById("frequency-daily").checked,
		DayHidden: document.getElementById("day-field").hidden,
		Hour: document.getElementById("hour").value,
		Zone: document.getElementById("timezone").value,
	})`)
	if want := (shown{AI: true, Screening: true, ESR: true, Daily: true, DayHidden: true, Hour: "7", Zone: "Europe/Vienna"}); got != want {
		t.Errorf("the page shows %+v, want the stored choices %+v", got, want)
	}

	// Tick cancer, untick screening, and switch to a weekly digest on
	// Thursdays: the day appears once weekly is chosen.
	do(
		chromedp.Click(chromedp.ID("topic-cancer")),
		chromedp.Click(chromedp.ID("topic-screening")),
		chromedp.Click(chromedp.ID("frequency-weekly")),
		chromedp.WaitVisible(chromedp.ID("day")),
		chromedp.SetValue(chromedp.ID("day"), "thursday"),
		chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice.success")),
	)
	saved := browsertest.Text(t, browser, ".notice.success")
	browsertest.Screenshot(t, browser, "app-preferences-saved")
	for _, line := range []string{
		"Saved. What changed:",
		"Topics: AI & informatics, Screening & early detection → AI & informatics, Cancer imaging",
		"Frequency: daily → weekly",
		"Day: none → Thursday",
	} {
		if !strings.Contains(saved, line) {
			t.Errorf("the saved notice lacks %q; it reads:\n%s", line, saved)
		}
	}
	if strings.Contains(saved, "Time zone") || strings.Contains(saved, "Societies") {
		t.Errorf("the notice reports changes that were not made:\n%s", saved)
	}

	sub, err := a.Subscribers.GetByEmail(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	p := sub.Preferences
	if !slices.Equal(p.Topics, []string{"ai", "cancer"}) || !slices.Equal(p.Societies, []string{"esr"}) || p.Frequency != subscribers.Weekly ||
		p.Day != "thursday" || p.Hour != 7 || p.TimeZone != "Europe/Vienna" || sub.Status != subscribers.StatusConfirmed {
		t.Errorf("stored after saving: %+v, %+v", sub.Status, p)
	}

	// The planner finds them at their new hour: Thursday 07:00 in Vienna.
	next, err := digest.NextDue(p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	due, err := a.Subscribers.Due(ctx, digest.DueSlot(next), delivery.ShardOf(sub.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(due, func(c delivery.Candidate) bool { return c.Subscriber.ID == sub.ID }) {
		t.Errorf("not due in the slot of %s, their next weekly digest", next)
	}

	// Opening the link again shows the saved choices.
	do(chromedp.Navigate(prefsLink), chromedp.WaitVisible(chromedp.ID("topic-ai")))
	weekly := browsertest.Eval[bool](t, browser, `document.getElementById("frequency-weekly").checked &&
		document.getElementById("topic-cancer").checked && !document.getElementById("topic-screening").checked &&
		document.getElementById("day").value === "thursday" && !document.getElementById("day-field").hidden`)
	if !weekly {
		t.Error("the preferences page opened again does not show the saved choices")
	}
}
