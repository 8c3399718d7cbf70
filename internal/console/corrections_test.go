package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/browsertest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/topics"
)

// reasonErr reads as its reason alone and matches its kind, as the admin
// service's errors do.
type reasonErr struct {
	kind   error
	reason string
}

func (e reasonErr) Error() string { return e.reason }
func (e reasonErr) Unwrap() error { return e.kind }

func (f *fakeAdmin) Item(ctx context.Context, id string) (items.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range f.items {
		if it.Key == id {
			return it, nil
		}
	}
	return items.Item{}, reasonErr{admin.ErrNotFound, fmt.Sprintf("no item %q", id)}
}

// CorrectTopics refuses what the service refuses, with a limit of two
// topics (the harness's MaxTopics).
func (f *fakeAdmin) CorrectTopics(ctx context.Context, id string, ids []string, actor string) (items.Item, error) {
	switch {
	case len(ids) == 0:
		return items.Item{}, reasonErr{admin.ErrBadRequest, "topics must list at least one topic"}
	case len(ids) > 2:
		return items.Item{}, reasonErr{admin.ErrBadRequest, fmt.Sprintf("an item has at most 2 topics; %d given", len(ids))}
	}
	for _, t := range ids {
		if !slices.ContainsFunc(testTopics, func(tt topics.Topic) bool { return tt.ID == t }) {
			return items.Item{}, fmt.Errorf("%w %q", admin.ErrUnknownTopic, t)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, it := range f.items {
		if it.Key != id {
			continue
		}
		c := admin.Correction{ItemID: id, Society: it.Society, Title: it.Title, Summary: it.Summary, Before: it.Topics, By: actor, At: f.now()}
		for _, t := range ids {
			c.After = append(c.After, items.TopicScore{ID: t, Score: 1, Source: items.SourceAdmin})
		}
		f.items[i].Topics = c.After
		f.corrections = append(f.corrections, c)
		return f.items[i], nil
	}
	return items.Item{}, reasonErr{admin.ErrNotFound, fmt.Sprintf("no item %q", id)}
}

func (f *fakeAdmin) Corrections(ctx context.Context, limit int) ([]admin.Correction, error) {
	if err := f.failing("Corrections"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.corrections)
	slices.Reverse(out)
	return out[:min(limit, len(out))], nil
}

// withReasons gives the seeded items topics from each source.
func withReasons(f *fakeAdmin) {
	f.items[0].Topics = []items.TopicScore{{ID: "ai", Score: 0.8, Source: items.SourceRules,
		Matched: []items.Match{{Term: "foundation model", Field: "title"}, {Term: "triage", Field: "summary"}}}}
	f.items[1].Topics = []items.TopicScore{{ID: "cancer", Score: 0.5, Source: items.SourceFeed}, {ID: "screening", Score: 0.5, Source: items.SourceFallback}}
}

var checkedBox = regexp.MustCompile(`<input type="checkbox" id="topic-([a-z-]+)" name="topic" value="[a-z-]+" checked>`)

func checkedTopics(body string) []string {
	var ids []string
	for _, m := range checkedBox.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestItemsShowWhyTopics(t *testing.T) {
	h := newHarness(t)
	withReasons(h.fake)
	cookie := h.signIn()
	body := h.get("/admin/console/items", cookie).Body.String()
	for _, want := range []string{
		`AI &amp; informatics</span> <span class="hint">matched: foundation model (title), triage (summary)</span>`,
		`Cancer imaging</span> <span class="hint">from the feed</span>`,
		`Screening &amp; early detection</span> <span class="hint">fallback</span>`,
		`<a href="/admin/console/items/esr-a" class="small">Correct topics</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the items page lacks %s", want)
		}
	}
	page := h.get("/admin/console/items/rsna-b", cookie)
	if page.Code != 200 {
		t.Fatalf("item page: %d", page.Code)
	}
	for _, want := range []string{"<li>Cancer imaging — from the feed</li>", "<li>Screening &amp; early detection — fallback</li>", "and at most 2"} {
		if !strings.Contains(page.Body.String(), want) {
			t.Errorf("the item page lacks %s", want)
		}
	}
	if got := checkedTopics(page.Body.String()); !slices.Equal(got, []string{"cancer", "screening"}) {
		t.Errorf("the form checks %v, want the item's topics", got)
	}
	if rec := h.get("/admin/console/items/nope", cookie); rec.Code != 404 {
		t.Errorf("unknown item: %d, want 404", rec.Code)
	}
}

func TestCorrectTopicsInConsole(t *testing.T) {
	h := newHarness(t)
	withReasons(h.fake)
	cookie := h.signIn()
	csrf := h.csrf(cookie)
	post := func(id string, topics ...string) *http.Response {
		return h.post("/admin/console/items/"+id+"/topics", url.Values{"csrf": {csrf}, "topic": topics}, cookie).Result()
	}

	tests := []struct {
		name   string
		id     string
		topics []string
		status int
		reason string
	}{
		{"none", "esr-a", nil, 400, "Topics must list at least one topic."},
		{"too many", "esr-a", []string{"ai", "cancer", "screening"}, 400, "An item has at most 2 topics; 3 given."},
		{"unknown topic", "esr-a", []string{"astrology"}, 400, "Unknown topic &#34;astrology&#34;."},
		{"unknown item", "nope", []string{"ai"}, 404, "No item"},
	}
	for _, tt := range tests {
		rec := h.post("/admin/console/items/"+tt.id+"/topics", url.Values{"csrf": {csrf}, "topic": tt.topics}, cookie)
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.reason) {
			t.Errorf("%s: %d, want %d with %q:\n%s", tt.name, rec.Code, tt.status, tt.reason, rec.Body)
		}
		if tt.status == 400 && !slices.Equal(checkedTopics(rec.Body.String()), slices.DeleteFunc(slices.Clone(tt.topics), func(id string) bool { return id == "astrology" })) {
			t.Errorf("%s: the form came back with %v checked, want the admin's choice %v", tt.name, checkedTopics(rec.Body.String()), tt.topics)
		}
	}
	if rec := h.post("/admin/console/items/esr-a/topics", url.Values{"topic": {"cancer"}}, cookie); rec.Code != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d, want 403", rec.Code)
	}
	if rec := h.request("POST", "/admin/console/items/esr-a/topics", url.Values{"csrf": {csrf}, "topic": {"cancer"}}, cookie, "https://evil.example"); rec.Code != http.StatusForbidden {
		t.Errorf("from another site: %d, want 403", rec.Code)
	}
	if rec := h.post("/admin/console/items/esr-a/topics", url.Values{"csrf": {csrf}, "topic": {"cancer"}}, nil); rec.Code == http.StatusSeeOther {
		t.Error("a signed-out post was accepted")
	}
	if len(h.fake.corrections) != 0 {
		t.Fatalf("refused posts made corrections: %+v", h.fake.corrections)
	}

	resp := post("esr-a", "cancer", "ai")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/console/items/esr-a?saved=1" {
		t.Fatalf("correct: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	page := h.get("/admin/console/items/esr-a?saved=1", cookie).Body.String()
	if !strings.Contains(page, `id="topics-saved"`) || !strings.Contains(page, "<li>Cancer imaging — set by an admin</li>") ||
		!slices.Equal(checkedTopics(page), []string{"ai", "cancer"}) {
		t.Errorf("after saving, the item page reads:\n%s", page)
	}
	if len(h.fake.corrections) != 1 || h.fake.corrections[0].By != actor {
		t.Errorf("corrections %+v; want one by %q", h.fake.corrections, actor)
	}

	list := h.get("/admin/console/corrections", cookie).Body.String()
	for _, want := range []string{
		`<a href="/admin/console/items/esr-a">Foundation models read chest X-rays</a>`,
		"<li>AI &amp; informatics — matched: foundation model (title), triage (summary)</li>",
		"<td>Cancer imaging, AI &amp; informatics</td>",
		"<td>admin (console)</td>",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("the corrections page lacks %s", want)
		}
	}
}

func TestBrowserCorrectTopics(t *testing.T) {
	h, ts := serveBrowser(t)
	withReasons(h.fake)
	ctx := browsertest.New(t)
	browserSignIn(t, ctx, ts.URL+"/admin/console")
	browsertest.Run(t, ctx,
		chromedp.Navigate(ts.URL+"/admin/console/items"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/console/items/rsna-b"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/admin/console/items/rsna-b"]`)),
		chromedp.WaitVisible(chromedp.ID("topics-form")),
	)
	reasons := browsertest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#topic-reasons li")).map(li => li.textContent.trim())`)
	if !slices.Equal(reasons, []string{"Cancer imaging — from the feed", "Screening & early detection — fallback"}) {
		t.Errorf("reasons shown: %q", reasons)
	}

	// Unchecking everything is refused with the reason, nothing saved.
	browsertest.Run(t, ctx,
		chromedp.Click(chromedp.ID("topic-cancer")),
		chromedp.Click(chromedp.ID("topic-screening")),
		chromedp.Click(chromedp.CSS(`#topics-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")),
	)
	if got := browsertest.Text(t, ctx, ".error-summary p"); got != "Topics must list at least one topic." {
		t.Errorf("error shown: %q", got)
	}

	// Choosing AI saves it, and the page says so.
	browsertest.Run(t, ctx,
		chromedp.Click(chromedp.ID("topic-ai")),
		chromedp.Click(chromedp.CSS(`#topics-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("topics-saved")),
	)
	browsertest.Screenshot(t, ctx, "item-topics-saved")
	reasons = browsertest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#topic-reasons li")).map(li => li.textContent.trim())`)
	if !slices.Equal(reasons, []string{"AI & informatics — set by an admin"}) {
		t.Errorf("after saving, reasons shown: %q", reasons)
	}
	if len(h.fake.corrections) != 1 || !slices.Equal(h.fake.items[1].TopicIDs(), []string{"ai"}) {
		t.Errorf("corrections %+v, item topics %v", h.fake.corrections, h.fake.items[1].TopicIDs())
	}

	// The corrections page lists it.
	browsertest.Run(t, ctx,
		chromedp.Click(chromedp.CSS(`.site-nav a[href="/admin/console/corrections"]`)),
		chromedp.WaitVisible(chromedp.ID("corrections")),
	)
	if got := browsertest.Text(t, ctx, "#corrections tbody td:nth-child(4)"); got != "AI & informatics" {
		t.Errorf("corrections page shows after = %q", got)
	}
}
