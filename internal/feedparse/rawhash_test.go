package feedparse

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/items"
)

func mustScan(t *testing.T, body []byte) *Feed {
	t.Helper()
	feed, err := NewParser().Scan(body, "", testFeedURL, testNow)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return feed
}

// The raw hash tells ingest whether an entry changed before it is
// normalised: it must follow everything the item is made of, and nothing
// else.
func TestRawHashTracksWhatTheItemIsMadeOf(t *testing.T) {
	const base = `<guid>1</guid><title>Title</title><link>https://example.org/a</link>` +
		`<pubDate>Mon, 01 Apr 2024 10:00:00 +0000</pubDate><description>&lt;p&gt;Body&lt;/p&gt;</description>`
	hash := func(channelLink, item string) string {
		t.Helper()
		return mustScan(t, rssWithItems(channelLink, item)).Entries[0].RawHash
	}
	want := hash("https://example.org/", base)
	if !strings.HasPrefix(want, RawHashVersion) {
		t.Fatalf("raw hash %q lacks the version %q", want, RawHashVersion)
	}
	if again := hash("https://example.org/", base); again != want {
		t.Fatalf("same entry hashed differently: %s, %s", want, again)
	}
	tests := []struct {
		name, channelLink, item string
		changed                 bool
	}{
		{"title edited", "https://example.org/", strings.Replace(base, "<title>Title", "<title>Title, corrected", 1), true},
		{"description edited", "https://example.org/", strings.Replace(base, "Body", "Body, corrected", 1), true},
		{"content added", "https://example.org/", base + `<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">&lt;p&gt;Full&lt;/p&gt;</content:encoded>`, true},
		{"link moved", "https://example.org/", strings.Replace(base, "/a<", "/b<", 1), true},
		{"site moved (relative URLs resolve elsewhere)", "https://example.com/", base, true},
		{"markup the sanitiser removes", "https://example.org/", strings.Replace(base, "Body", "Body&lt;script&gt;x()&lt;/script&gt;", 1), true},
		{"re-dated only", "https://example.org/", strings.Replace(base, "10:00:00", "11:00:00", 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hash(tt.channelLink, tt.item); (got != want) != tt.changed {
				t.Errorf("raw hash changed = %v, want %v", got != want, tt.changed)
			}
		})
	}
}

// Scan's entries, once normalised, are exactly Parse's items, on every
// fixture: Parse is Scan followed by Entry.Item.
func TestScanEntriesNormaliseToParseItems(t *testing.T) {
	for _, fixture := range []string{"rss20.xml", "atom.xml", "jsonfeed.json", "media_rss.xml", "rss10.rdf", "bench_rss.xml"} {
		t.Run(fixture, func(t *testing.T) {
			body := readFixture(t, fixture)
			doc := mustParse(t, body, "")
			feed := mustScan(t, body)
			if feed.Title != doc.Title || feed.Link != doc.Link || feed.TTL != doc.TTL || len(feed.Entries) != len(doc.Items) {
				t.Fatalf("Scan %q %q %v %d entries; Parse %q %q %v %d items",
					feed.Title, feed.Link, feed.TTL, len(feed.Entries), doc.Title, doc.Link, doc.TTL, len(doc.Items))
			}
			for i, e := range feed.Entries {
				it := e.Item()
				if !reflect.DeepEqual(it, doc.Items[i]) {
					t.Errorf("entry %d normalised to %+v, Parse gave %+v", i, it, doc.Items[i])
				}
				if e.GUID != it.GUID || !e.Published.Equal(it.Published) || e.RawHash != it.RawHash || it.RawHash == "" {
					t.Errorf("entry %d: GUID %q, published %v, raw hash %q; item %q, %v, %q",
						i, e.GUID, e.Published, e.RawHash, it.GUID, it.Published, it.RawHash)
				}
			}
		})
	}
}

func TestNormalisedEntry(t *testing.T) {
	it := items.Item{GUID: "g", Title: "T", Published: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), RawHash: RawHashVersion + "x"}
	e := NormalisedEntry(it)
	if e.GUID != it.GUID || !e.Published.Equal(it.Published) || e.RawHash != it.RawHash || !reflect.DeepEqual(e.Item(), it) {
		t.Errorf("NormalisedEntry(%+v) = %+v, item %+v", it, e, e.Item())
	}
}
