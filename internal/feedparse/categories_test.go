package feedparse

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/radiogram/radiogram/internal/items"
)

func scanOne(t *testing.T, body, contentType string) Entry {
	t.Helper()
	feed, err := NewParser().Scan([]byte(body), contentType, testFeedURL, testNow)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(feed.Entries) != 1 {
		t.Fatalf("%d entries, want 1", len(feed.Entries))
	}
	return feed.Entries[0]
}

func TestEntryCategoriesInEveryFormat(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    []string
	}{
		{"rss", "application/rss+xml", string(rssWithItems("",
			`<guid>a</guid><title>T</title><category>Ultrasound</category><category domain="x">Congress &amp; events</category>`)),
			[]string{"Ultrasound", "Congress & events"}},
		{"atom", "application/atom+xml", `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
			<entry><id>a</id><title>T</title><category term="Safety"/><category term="Radiation protection"/></entry></feed>`,
			[]string{"Safety", "Radiation protection"}},
		{"json feed", "application/feed+json", `{"version":"https://jsonfeed.org/version/1.1","title":"T",
			"items":[{"id":"a","title":"T","content_text":"x","tags":["AI","Informatics"]}]}`,
			[]string{"AI", "Informatics"}},
		{"none", "application/rss+xml", string(rssWithItems("", `<guid>a</guid><title>T</title>`)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scanOne(t, tt.body, tt.contentType).Categories(); !slices.Equal(got, tt.want) {
				t.Errorf("Categories() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEntryCategoriesCappedAndSanitised(t *testing.T) {
	var many strings.Builder
	for i := range 15 {
		fmt.Fprintf(&many, "<category>topic %d</category>", i)
	}
	long := strings.Repeat("word ", 30)
	tests := []struct {
		name, categories string
		want             []string
	}{
		{"markup becomes plain text", `<category><![CDATA[<b>Lung</b> <script>alert(1)</script>cancer]]></category>`, []string{"Lung cancer"}},
		{"blanks and repeats dropped", `<category> </category><category>AI</category><category>ai</category><category>  AI  </category>`, []string{"AI"}},
		{"at most ten", many.String(), []string{"topic 0", "topic 1", "topic 2", "topic 3", "topic 4", "topic 5", "topic 6", "topic 7", "topic 8", "topic 9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := scanOne(t, string(rssWithItems("", "<guid>a</guid><title>T</title>"+tt.categories)), "application/rss+xml")
			if got := e.Categories(); !slices.Equal(got, tt.want) {
				t.Errorf("Categories() = %q, want %q", got, tt.want)
			}
		})
	}

	e := scanOne(t, string(rssWithItems("", "<guid>a</guid><title>T</title><category>"+long+"</category>")), "application/rss+xml")
	got := e.Categories()
	if len(got) != 1 || utf8.RuneCountInString(got[0]) > MaxCategoryRunes || !strings.HasPrefix(got[0], "word word") {
		t.Errorf("a long category: %q, want one of at most %d runes", got, MaxCategoryRunes)
	}
}

func TestNormalisedEntryHasNoCategories(t *testing.T) {
	if got := NormalisedEntry(items.Item{GUID: "g", Title: "T"}).Categories(); got != nil {
		t.Errorf("Categories() = %q, want none", got)
	}
}
