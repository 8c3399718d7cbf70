package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/radiogram/radiogram/internal/items"
)

// storyItems are archiveItems with the members of two stories added:
// item-02 (ESR, ai) is told again by RSNA twice, ACR and ESR itself, all
// on ai and first seen after it; item-04 (ESR, ai) is told again by ACR on
// education only, which jane does not follow.
func storyItems() []items.Item {
	list := archiveItems()
	lead := list[2]
	// a member is first seen seenAfter the lead, and published earlier
	// than the lead by publishedBefore.
	member := func(key, society, topic string, seenAfter, publishedBefore time.Duration, story string) items.Item {
		return items.Item{
			Key: key, Society: society, Title: "Retold " + key, Story: story,
			Link:      "https://" + society + ".example/news/" + key,
			Published: lead.Published.Add(-publishedBefore), FirstSeen: lead.FirstSeen.Add(seenAfter),
			Topics: []items.TopicScore{{ID: topic, Score: 1}},
		}
	}
	return append(list,
		member("rsna-02", "rsna", "ai", 10*time.Minute, 10*time.Minute, "item-02"),
		member("acr-02", "acr", "ai", 20*time.Minute, 20*time.Minute, "item-02"),
		member("rsna-02b", "rsna", "ai", 25*time.Minute, 25*time.Minute, "item-02"),
		// published 7½ hours before the lead: on another page, uncollapsed
		member("esr-02", "esr", "ai", 30*time.Minute, 7*time.Hour+30*time.Minute, "item-02"),
		member("acr-04", "acr", "education", 10*time.Minute, 10*time.Minute, "item-04"),
	)
}

// articles are a listing's <article> elements, rendered, by item key.
func articles(t *testing.T, body string) map[string]string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "article" {
			continue
		}
		var key string
		for d := range n.Descendants() {
			for _, a := range d.Attr {
				if k, ok := strings.CutPrefix(a.Val, "/news/item/"); ok && a.Key == "href" && d.Data == "a" {
					key = k
				}
			}
		}
		var b strings.Builder
		if err := html.Render(&b, n); err != nil {
			t.Fatal(err)
		}
		out[key] = b.String()
	}
	return out
}

// TestArchiveForReaderStories: a reader's archive page, the overflow of
// their mail, shows a story once with the other societies telling it, as
// the mail does, and pages through the collapsed list.
func TestArchiveForReaderStories(t *testing.T) {
	const pageSize = 5
	plain, _ := newArchiveHarnessWith(t, archiveItems(), pageSize)
	h, _ := newArchiveHarnessWith(t, storyItems(), pageSize)
	// jane follows ai from every society: the 12 ai items of the period,
	// no member of item-02's story but its lead.
	want := keysWhere(func(it items.Item) bool {
		return it.Topics[0].ID == "ai" && it.FirstSeen.After(periodSince) && !it.FirstSeen.After(periodUntil)
	})
	var got []string
	pages := map[string]string{} // every article shown, by key
	for target, n := "/news/for/ok:s1", 0; target != ""; n++ {
		if n > 10 {
			t.Fatal("the listing does not end")
		}
		rec := h.do("GET", target, "", "")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d\n%s", target, rec.Code, rec.Body)
		}
		links, older := itemLinks(t, rec.Body.String())
		if older != "" && len(links) != pageSize {
			t.Errorf("GET %s: %d items on a page with an older one, want %d", target, len(links), pageSize)
		}
		got = append(got, links...)
		for k, a := range articles(t, rec.Body.String()) {
			pages[k] = a
		}
		target = older
	}
	if !slices.Equal(got, want) {
		t.Fatalf("items = %v\nwant each kept item once, in order: %v", got, want)
	}

	plainArticles := map[string]string{}
	for target := "/news/for/ok:s1"; target != ""; {
		body := plain.do("GET", target, "", "").Body.String()
		for k, a := range articles(t, body) {
			plainArticles[k] = a
		}
		_, target = itemLinks(t, body)
	}
	tests := []struct {
		key, also string // also: "" for an item without a story to name
	}{
		// RSNA once though it told the story twice, ESR not (its own).
		{"item-02", "Also from Radiological Society of North America, American College of Radiology"},
		// ACR's retelling is on a topic jane does not follow: not named.
		{"item-04", ""},
		{"item-00", ""},
		{"item-10", ""},
	}
	for _, tt := range tests {
		a, ok := pages[tt.key]
		if !ok {
			t.Errorf("%s is not shown", tt.key)
			continue
		}
		if tt.also == "" {
			if a != plainArticles[tt.key] {
				t.Errorf("%s without a story changed:\n%s\nwant\n%s", tt.key, a, plainArticles[tt.key])
			}
			continue
		}
		// The whole line: nothing more named, the own society not at all.
		line := `<p class="news-also">` + tt.also + `</p>`
		if strings.Count(a, "Also from") != 1 || !strings.Contains(a, line) {
			t.Errorf("%s does not say %s once:\n%s", tt.key, line, a)
		}
	}
	for k, a := range pages {
		if k != "item-02" && strings.Contains(a, "Also from") {
			t.Errorf("%s says %q, but has no story", k, "Also from")
		}
	}
}
