package app

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/radiogram/radiogram/internal/browsertest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestArchiveInBrowser opens the archive of an ingested stack in headless
// Chromium at phone and desktop widths: nothing wider than the screen,
// headings in order, no script, and Tab reaching each item's link and
// then "Older items", in the order they are listed.
func TestArchiveInBrowser(t *testing.T) {
	t.Parallel()
	a, srv := newIngestedApp(t)
	svc, small := smallArchive(t, a)
	all := mustPage(t, a, items.PageQuery{Limit: 200}).Items
	if len(all) < 4 {
		t.Fatalf("%d items ingested, want at least 4", len(all))
	}
	first := all[0]
	reader := addConfirmed(t, a, "browser-reader@example.org", subscribers.Preferences{
		Topics: first.TopicIDs(), Frequency: subscribers.Daily, Hour: 7, TimeZone: "Europe/Vienna", Format: subscribers.FormatHTML,
	})
	signed := svc.ArchiveURL(context.Background(), reader, first.FirstSeen.Add(-time.Hour), time.Now())

	browser := browsertest.New(t)
	pages := []struct{ name, url string }{
		{"news", srv.URL + "/news"},
		{"news-paged", small.URL + "/news"},
		{"topic", srv.URL + "/news/topic/" + first.Topics[0].ID},
		{"society", srv.URL + "/news/society/" + first.Society},
		{"item", srv.URL + "/news/item/" + first.Key},
		{"for-reader", signed},
		{"not-found", srv.URL + "/news/topic/no-such-topic"},
	}
	for _, width := range []int64{360, 1280} {
		browsertest.Run(t, browser, chromedp.EmulateViewport(width, 800))
		for _, p := range pages {
			browsertest.Run(t, browser, chromedp.Navigate(p.url), chromedp.WaitVisible(chromedp.CSS("h1")))
			if overflow := browsertest.Overflow(t, browser); overflow > 0 {
				t.Errorf("%s at %d px: the page is %d px wider than the screen", p.name, width, overflow)
			}
			levels := browsertest.Eval[[]int](t, browser, `[...document.querySelectorAll("h1,h2,h3,h4,h5,h6")].map(h => +h.tagName[1])`)
			if msg := headingOrder(levels); msg != "" {
				t.Errorf("%s: headings %v: %s", p.name, levels, msg)
			}
			if n := browsertest.Eval[int](t, browser, `document.scripts.length`); n != 0 {
				t.Errorf("%s: %d scripts, want none", p.name, n)
			}
			if width == 360 || p.name == "news" {
				browsertest.Screenshot(t, browser, "archive-"+p.name+"-"+map[int64]string{360: "phone", 1280: "desktop"}[width])
			}
		}
	}

	// Keyboard: from the top of a page of three, Tab visits the three
	// items' links in order, then "Older items", which Enter follows.
	browsertest.Run(t, browser, chromedp.EmulateViewport(360, 800), chromedp.Navigate(small.URL+"/news"), chromedp.WaitVisible(chromedp.CSS("h1")))
	var visited []string
	for range 80 {
		browsertest.Run(t, browser, chromedp.KeyEvent("\t"))
		href := browsertest.Eval[string](t, browser, `document.activeElement.getAttribute("href") || ""`)
		if key, ok := strings.CutPrefix(href, "/news/item/"); ok {
			visited = append(visited, key)
		}
		if strings.Contains(href, "cursor=") {
			visited = append(visited, "older")
			break
		}
	}
	want := []string{all[0].Key, all[1].Key, all[2].Key, "older"}
	if !slices.Equal(visited, want) {
		t.Fatalf("Tab visited %v, want %v", visited, want)
	}
	browsertest.Run(t, browser, chromedp.KeyEvent("\r"))
	var firstOnPage string
	for deadline := time.Now().Add(10 * time.Second); firstOnPage != "/news/item/"+all[3].Key; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after Enter on Older items: first item %q, want %s", firstOnPage, all[3].Key)
		}
		firstOnPage, _ = chromedp.Run(browser, chromedp.Evaluate[string](`document.querySelector(".news-item h2 a")?.getAttribute("href") ?? ""`))
	}
}

// headingOrder says what is wrong with a page's heading levels, in
// document order: one h1, first, and no level skipped on the way down.
func headingOrder(levels []int) string {
	if len(levels) == 0 || levels[0] != 1 {
		return "the first heading is not an h1"
	}
	for i := 1; i < len(levels); i++ {
		if levels[i] == 1 {
			return "more than one h1"
		}
		if levels[i] > levels[i-1]+1 {
			return "a level is skipped"
		}
	}
	return ""
}
