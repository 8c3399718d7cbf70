package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/radiogram/radiogram/internal/browsertest"
	"github.com/radiogram/radiogram/internal/items"
)

// TestConsoleCorrectsTopicsInBrowser: in headless Chromium over the whole
// stack on moto, an admin opens an item from the items page, sets its
// topics with the form, and the store, the corrections page and the
// correction's record all carry them.
func TestConsoleCorrectsTopicsInBrowser(t *testing.T) {
	t.Parallel()
	a, srv := newIngestedApp(t)
	ctx := context.Background()
	browser := browsertest.New(t)
	do := func(steps ...chromedp.Action[chromedp.Void]) { t.Helper(); browsertest.Run(t, browser, steps...) }
	consoleURL := srv.URL + "/admin/console"
	do(
		chromedp.Navigate(consoleURL+"/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), testAdminToken),
		chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("feeds-title")),
	)
	target, ok := findTitle(adminItems(t, srv.URL, "society=wfumb&limit=50"), "")
	if !ok {
		t.Fatal("no WFUMB item")
	}
	do(
		chromedp.Navigate(consoleURL+"/items?society=wfumb"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/console/items/`+target.ID+`"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/admin/console/items/`+target.ID+`"]`)),
		chromedp.WaitVisible(chromedp.ID("topics-form")),
	)
	checked := browsertest.Eval[[]string](t, browser, `Array.from(document.querySelectorAll("#topics-form input[name=topic]:checked")).map(i => i.value)`)
	if !slices.Equal(slices.Sorted(slices.Values(checked)), slices.Sorted(slices.Values(target.Topics))) {
		t.Errorf("the form checks %v, want the item's topics %v", checked, target.Topics)
	}
	// Uncheck every topic, then check events and education. The form
	// lists, and so posts, topics in the taxonomy's order.
	browsertest.Eval[int](t, browser, `(() => { const boxes = document.querySelectorAll("#topics-form input[name=topic]:checked"); boxes.forEach(i => i.click()); return boxes.length })()`)
	do(
		chromedp.Click(chromedp.ID("topic-events")),
		chromedp.Click(chromedp.ID("topic-education")),
		chromedp.Click(chromedp.CSS(`#topics-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("topics-saved")),
	)
	reasons := browsertest.Eval[[]string](t, browser, `Array.from(document.querySelectorAll("#topic-reasons li")).map(li => li.textContent.trim())`)
	if !slices.Equal(reasons, []string{"Education & training — set by an admin", "Congresses & events — set by an admin"}) {
		t.Errorf("after saving, the page shows %q", reasons)
	}
	stored, err := a.Items.GetMany(ctx, []string{target.ID})
	if err != nil || len(stored) != 1 || !slices.Equal(stored[0].TopicIDs(), []string{"education", "events"}) || stored[0].Topics[0].Source != items.SourceAdmin {
		t.Fatalf("stored item %+v (%v); want the admin's topics", stored, err)
	}
	list, err := a.Corrections.Corrections(ctx, 10)
	if err != nil || len(list) != 1 || list[0].By != "admin (console)" || list[0].ItemID != target.ID {
		t.Errorf("corrections %+v (%v); want one by the console", list, err)
	}
	do(
		chromedp.Click(chromedp.CSS(`.site-nav a[href="/admin/console/corrections"]`)),
		chromedp.WaitVisible(chromedp.ID("corrections")),
	)
	if row := browsertest.Text(t, browser, "#corrections tbody tr"); !strings.Contains(row, "Education & training, Congresses & events") || !strings.Contains(row, "admin (console)") {
		t.Errorf("the corrections page shows %q", row)
	}
}
