package feedparse

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/radiogram/radiogram/internal/items"
)

const testFeedURL = "https://feeds.example.org/news/feed.xml"

// testNow is after every date in the fixtures, so none is clamped as future.
var testNow = time.Date(2024, 12, 1, 12, 0, 0, 0, time.UTC)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func mustParse(t *testing.T, body []byte, contentType string) *Document {
	t.Helper()
	doc, err := NewParser().Parse(body, contentType, testFeedURL, testNow)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return doc
}

// rssWithItems wraps item elements in a minimal RSS 2.0 document.
func rssWithItems(channelLink string, itemsXML ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Test</title>`)
	if channelLink != "" {
		b.WriteString("<link>" + channelLink + "</link>")
	}
	for _, item := range itemsXML {
		b.WriteString("<item>" + item + "</item>")
	}
	b.WriteString("</channel></rss>")
	return []byte(b.String())
}

type wantItem struct {
	guid, title, link string
	published         time.Time
	summary           string
	content           string   // exact, when set
	contentHas        []string // substrings the content must contain
	contentLacks      []string // substrings it must not contain
}

func checkItem(t *testing.T, got items.Item, want wantItem) {
	t.Helper()
	if got.GUID != want.guid {
		t.Errorf("GUID = %q, want %q", got.GUID, want.guid)
	}
	if got.Title != want.title {
		t.Errorf("Title = %q, want %q", got.Title, want.title)
	}
	if got.Link != want.link {
		t.Errorf("Link = %q, want %q", got.Link, want.link)
	}
	if !got.Published.Equal(want.published) || got.Published.Location() != time.UTC {
		t.Errorf("Published = %v, want %v in UTC", got.Published, want.published)
	}
	if got.Summary != want.summary {
		t.Errorf("Summary = %q, want %q", got.Summary, want.summary)
	}
	if want.content != "" && got.Content != want.content {
		t.Errorf("Content = %q, want %q", got.Content, want.content)
	}
	for _, s := range want.contentHas {
		if !strings.Contains(got.Content, s) {
			t.Errorf("Content %q lacks %q", got.Content, s)
		}
	}
	for _, s := range want.contentLacks {
		if strings.Contains(got.Content, s) {
			t.Errorf("Content %q contains %q", got.Content, s)
		}
	}
	if wantHash := sha256Hex(got.Title + "\n" + got.Link + "\n" + got.Content); got.ContentHash != wantHash {
		t.Errorf("ContentHash = %q, want sha256 of title, link and content %q", got.ContentHash, wantHash)
	}
	if got.Key != "" || got.Society != "" || got.FeedID != "" || !got.FirstSeen.IsZero() || !got.UpdatedAt.IsZero() || got.Topics != nil {
		t.Errorf("ingest-owned fields are set: %+v", got)
	}
}

func TestParseFormats(t *testing.T) {
	tests := []struct {
		fixture   string
		title     string
		link      string
		ttl       time.Duration
		wantItems []wantItem
	}{
		{
			fixture: "rss20.xml",
			title:   "RSNA News & Updates",
			link:    "https://www.rsna.org/news",
			ttl:     time.Hour,
			wantItems: []wantItem{
				{
					guid:      "rsna-2024-0007",
					title:     "AI improves mammography screening & recall rates",
					link:      "https://www.rsna.org/news/2024/ai-mammography?id=7",
					published: time.Date(2024, 3, 5, 19, 30, 0, 0, time.UTC),
					summary:   "A large Swedish trial shows AI-supported screening finds more cancers.",
					contentHas: []string{
						`<p>A large <b>Swedish</b> trial`,
						`<img src="https://www.rsna.org/images/mammo.jpg" alt="Mammogram" width="640" height="480"/>`,
						`<a href="https://www.rsna.org/journals/radiology?issue=3" rel="noopener noreferrer">full study</a>`,
					},
					contentLacks: []string{"script", "alert", "onerror", "onclick", "feedburner", "utm_"},
				},
				{
					guid:      "https://www.rsna.org/annual-meeting",
					title:     "Annual meeting registration opens",
					link:      "https://www.rsna.org/annual-meeting",
					published: time.Date(2024, 4, 1, 9, 0, 0, 0, time.UTC),
					summary:   "Registration for the annual meeting in Chicago is now open.",
					content:   "Registration for the annual meeting in Chicago is now open.",
				},
				{
					guid:      "https://www.rsna.org/news/2024/residents-survey",
					title:     "Radiology residents survey",
					link:      "https://www.rsna.org/news/2024/residents-survey",
					published: time.Date(2024, 4, 2, 6, 15, 0, 0, time.UTC),
					summary:   "Residents report higher workloads.",
					content:   "Residents report <i>higher</i> workloads.",
				},
			},
		},
		{
			fixture: "rss091.xml",
			title:   "BIR Bulletin",
			link:    "https://www.bir.org.uk/",
			wantItems: []wantItem{
				{
					guid:      "https://www.bir.org.uk/events/cpd-webinars/",
					title:     "New CPD webinars announced",
					link:      "https://www.bir.org.uk/events/cpd-webinars/",
					published: testNow,
					summary:   "Six new CPD webinars on cardiac imaging start in May.",
					content:   "Six new CPD webinars on <b>cardiac imaging</b> start in May.",
				},
				{
					guid:      "https://www.bir.org.uk/news/impact-factor.html",
					title:     "Journal impact factor rises",
					link:      "https://www.bir.org.uk/news/impact-factor.html",
					published: testNow,
					summary:   "The BJR impact factor has risen for the third year running.",
					content:   "The BJR impact factor has risen for the third year running.",
				},
			},
		},
		{
			fixture: "rss10.rdf",
			title:   "SFR Actualités",
			link:    "https://www.sfr-radiologie.fr/",
			wantItems: []wantItem{
				{
					guid:      "https://www.sfr-radiologie.fr/actu/jfr-2024",
					title:     "Journées Francophones de Radiologie 2024",
					link:      "https://www.sfr-radiologie.fr/actu/jfr-2024",
					published: time.Date(2024, 9, 1, 8, 0, 0, 0, time.UTC),
					summary:   "Les JFR se tiendront à Paris du 11 au 14 octobre.",
					content:   "Les JFR se tiendront à Paris du 11 au 14 octobre.",
				},
			},
		},
		{
			fixture: "atom.xml",
			title:   "ESR Blog",
			link:    "https://www.myesr.org/",
			wantItems: []wantItem{
				{
					guid:      "tag:myesr.org,2024:ecr-2024",
					title:     "ECR 2024: Next generation radiology",
					link:      "https://www.myesr.org/blog/posts/ecr-2024",
					published: time.Date(2024, 2, 28, 8, 0, 0, 0, time.UTC),
					summary:   "Highlights from the European Congress of Radiology in Vienna.",
					content: `<p>The congress opened with <a href="https://www.myesr.org/blog/programme" rel="noopener noreferrer">the programme</a>.</p>` +
						`<p><img src="https://www.myesr.org/blog/img/opening.jpg" alt="Opening ceremony"/></p>`,
				},
				{
					guid:      "tag:myesr.org,2024:president",
					title:     "Press release: new president",
					link:      "https://news.myesr.org/press/2024/president",
					published: time.Date(2024, 3, 5, 16, 45, 0, 0, time.UTC),
					summary:   "The ESR welcomes its new president. Biography",
					content:   `<p>The ESR welcomes its new president. <a href="https://news.myesr.org/press/bio" rel="noopener noreferrer">Biography</a></p>`,
				},
			},
		},
		{
			fixture: "jsonfeed.json",
			title:   "ACR Bulletin",
			link:    "https://www.acr.org/bulletin/",
			wantItems: []wantItem{
				{
					guid:      "acr-2024-031",
					title:     "Lung cancer screening uptake",
					link:      "https://www.acr.org/bulletin/articles/lung-screening?ref=home",
					published: time.Date(2024, 3, 12, 13, 0, 0, 0, time.UTC),
					summary:   "Uptake of lung cancer screening remains below 20%.",
					content:   `<p>Uptake remains low. <a href="https://www.acr.org/data/uptake.csv" rel="noopener noreferrer">Download the data</a>.</p>`,
				},
				{
					guid:      "42",
					title:     "Advocacy update",
					link:      "https://www.acr.org/bulletin/articles/advocacy",
					published: time.Date(2024, 3, 13, 10, 30, 0, 0, time.UTC),
					summary:   "Congress passed the bill. Radiologists <welcome> the change & more.",
					content:   "<p>Congress passed the bill.</p><p>Radiologists &lt;welcome&gt; the change &amp; more.</p>",
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			doc := mustParse(t, readFixture(t, tt.fixture), "")
			if doc.Title != tt.title || doc.Link != tt.link || doc.TTL != tt.ttl {
				t.Errorf("document = %q %q %v, want %q %q %v", doc.Title, doc.Link, doc.TTL, tt.title, tt.link, tt.ttl)
			}
			if len(doc.Items) != len(tt.wantItems) {
				t.Fatalf("got %d items, want %d", len(doc.Items), len(tt.wantItems))
			}
			for i, want := range tt.wantItems {
				checkItem(t, doc.Items[i], want)
			}
		})
	}
}

func TestParseRejectsNonFeeds(t *testing.T) {
	tests := []struct {
		name        string
		body        []byte
		contentType string
	}{
		{"html page", readFixture(t, "not_a_feed.html"), "text/html; charset=utf-8"},
		{"json that is not a feed", readFixture(t, "not_a_feed.json"), "application/json"},
		{"empty body", readFixture(t, "empty.txt"), ""},
		{"whitespace only", []byte(" \n\t "), ""},
		{"json array", []byte(`[{"title": "x"}]`), "application/json"},
		{"plain text", []byte("Service unavailable"), "text/plain"},
		{"other xml", []byte(`<?xml version="1.0"?><sitemap><url>https://example.org/</url></sitemap>`), "text/xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := NewParser().Parse(tt.body, tt.contentType, testFeedURL, testNow)
			if !errors.Is(err, ErrNotAFeed) {
				t.Fatalf("Parse = %+v, %v; want ErrNotAFeed", doc, err)
			}
			if !strings.Contains(err.Error(), testFeedURL) {
				t.Errorf("error %q does not name the feed", err)
			}
		})
	}
}

// A feed cut off mid-transfer must fail as a whole: returning the entries
// before the cut would make a half-written feed look complete.
func TestParseTruncatedFeedFails(t *testing.T) {
	for _, name := range []string{"truncated.xml", "truncated_after_item.xml"} {
		t.Run(name, func(t *testing.T) {
			doc, err := NewParser().Parse(readFixture(t, name), "", testFeedURL, testNow)
			if err == nil {
				t.Fatalf("Parse succeeded with %d items, want an error", len(doc.Items))
			}
			if errors.Is(err, ErrNotAFeed) {
				t.Errorf("error %v wraps ErrNotAFeed; a broken feed is still a feed", err)
			}
		})
	}
}

func TestParseJSONFeedWithNullItemFails(t *testing.T) {
	// gofeed v1.4.2 dereferences null items; Parse must turn that into an error.
	body := []byte(`{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": [null]}`)
	if doc, err := NewParser().Parse(body, "", testFeedURL, testNow); err == nil {
		t.Fatalf("Parse = %+v, want an error", doc)
	}
}

// encoding/xml neither expands internal entities declared in a DTD nor
// fetches external ones, so an entity bomb stays a few bytes of inert text.
func TestParseEntityBombIsInert(t *testing.T) {
	doc := mustParse(t, readFixture(t, "billion_laughs.xml"), "")
	if len(doc.Items) != 1 {
		t.Fatalf("got %d items, want 1", len(doc.Items))
	}
	it := doc.Items[0]
	if it.Title != "Laughs &lol9;" {
		t.Errorf("Title = %q, want the entity reference left as text", it.Title)
	}
	for _, field := range []string{doc.Title, it.Title, it.Summary, it.Content} {
		if strings.Contains(field, "lollol") || len(field) > 100 {
			t.Errorf("entity was expanded: %q", field)
		}
	}
}

func TestParseExternalEntityIsNotRead(t *testing.T) {
	doc := mustParse(t, readFixture(t, "xxe.xml"), "")
	if len(doc.Items) != 1 {
		t.Fatalf("got %d items, want 1", len(doc.Items))
	}
	it := doc.Items[0]
	if it.Title != "Secrets &xxe;" {
		t.Errorf("Title = %q, want the entity reference left as text", it.Title)
	}
	for _, field := range []string{doc.Title, it.Title, it.Summary, it.Content} {
		if strings.Contains(field, "root:") || strings.Contains(field, "/bin/") {
			t.Errorf("external entity was read: %q", field)
		}
	}
}

func TestParseGUIDFallbacks(t *testing.T) {
	tests := []struct {
		name string
		item string
		want string
	}{
		{"guid trimmed", `<guid>  abc-123 </guid><link>https://example.org/a</link>`, "abc-123"},
		{"link when no guid", `<title>T</title><link>https://example.org/a?utm_source=x&amp;p=1</link>`, "https://example.org/a?p=1"},
		{"relative link when no guid", `<title>T</title><link>/a</link>`, "https://example.org/a"},
		{"hash of title and content", `<title>Untitled news</title><description>&lt;p&gt;Body&lt;/p&gt;</description>`, sha256Hex("Untitled news" + "<p>Body</p>")},
		{"hash when link is not a web link", `<title>T</title><link>javascript:alert(1)</link><description>D</description>`, sha256Hex("T" + "D")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustParse(t, rssWithItems("https://example.org/", tt.item), "")
			if got := doc.Items[0].GUID; got != tt.want {
				t.Errorf("GUID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseLinks(t *testing.T) {
	tests := []struct {
		name        string
		channelLink string
		item        string
		want        string
	}{
		{"relative to the feed's link", "https://example.org/news/", `<link>2024/a</link>`, "https://example.org/news/2024/a"},
		{"relative to the feed URL without a feed link", "", `<link>/a</link>`, "https://feeds.example.org/a"},
		{"javascript link dropped", "https://example.org/", `<link>javascript:alert(1)</link>`, ""},
		{"ftp link dropped", "https://example.org/", `<link>ftp://example.org/file</link>`, ""},
		{"tracking params stripped, order kept", "https://example.org/", `<link>https://example.org/a?b=2&amp;utm_source=x&amp;a=1&amp;gclid=3</link>`, "https://example.org/a?b=2&a=1"},
		{"empty query dropped", "https://example.org/", `<link>https://example.org/a?utm_source=x&amp;fbclid=y</link>`, "https://example.org/a"},
		{"permalink guid used as link", "https://example.org/", `<guid>https://example.org/p/1</guid>`, "https://example.org/p/1"},
		{"xml:base on the item", "https://example.org/", `<link xml:base="https://other.example.net/dir/">page</link>`, "https://other.example.net/dir/page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustParse(t, rssWithItems(tt.channelLink, tt.item), "")
			if got := doc.Items[0].Link; got != tt.want {
				t.Errorf("Link = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTitles(t *testing.T) {
	longDescription := "The society has published new guidance on contrast media shortages, covering prioritisation, alternative agents and communication with referrers."
	tests := []struct {
		name string
		item string
		want string
	}{
		{"markup and entities", `<title>Tom &amp;amp; Jerry &lt;b&gt;scan&lt;/b&gt;  
		   report</title>`, "Tom & Jerry scan report"},
		{"from summary when empty", `<title></title><description>` + longDescription + `</description>`,
			"The society has published new guidance on contrast media shortages, covering…"},
		{"untitled", `<title> </title><link>https://example.org/x</link>`, "(untitled)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustParse(t, rssWithItems("https://example.org/", tt.item), "")
			if got := doc.Items[0].Title; got != tt.want {
				t.Errorf("Title = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParsePublished(t *testing.T) {
	tests := []struct {
		name string
		item string
		want time.Time
	}{
		{"pubDate converted to UTC", `<pubDate>Wed, 10 Jul 2024 08:00:00 +0200</pubDate>`, time.Date(2024, 7, 10, 6, 0, 0, 0, time.UTC)},
		{"missing falls back to now", `<title>No date</title>`, testNow},
		{"unparseable falls back to now", `<pubDate>sometime soon</pubDate>`, testNow},
		{"far future clamped to now", `<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate>`, testNow},
		{"two days ahead clamped to now", `<pubDate>Tue, 03 Dec 2024 12:00:00 GMT</pubDate>`, testNow},
		{"within a day ahead kept", `<pubDate>Sun, 01 Dec 2024 20:00:00 GMT</pubDate>`, time.Date(2024, 12, 1, 20, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustParse(t, rssWithItems("https://example.org/", tt.item), "")
			got := doc.Items[0].Published
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("Published = %v, want %v UTC", got, tt.want)
			}
		})
	}

	t.Run("updated when not published", func(t *testing.T) {
		body := `<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><id>1</id><title>E</title>` +
			`<updated>2024-06-01T10:00:00-04:00</updated></entry></feed>`
		doc := mustParse(t, []byte(body), "")
		if want := time.Date(2024, 6, 1, 14, 0, 0, 0, time.UTC); !doc.Items[0].Published.Equal(want) {
			t.Errorf("Published = %v, want %v", doc.Items[0].Published, want)
		}
	})

	t.Run("now is returned in UTC", func(t *testing.T) {
		paris := time.FixedZone("CET", 3600)
		doc, err := NewParser().Parse(rssWithItems("", "<title>x</title>"), "", testFeedURL, testNow.In(paris))
		if err != nil {
			t.Fatal(err)
		}
		if got := doc.Items[0].Published; !got.Equal(testNow) || got.Location() != time.UTC {
			t.Errorf("Published = %v, want %v UTC", got, testNow)
		}
	})
}

func TestParseSummary(t *testing.T) {
	sentence := "Radiologists across the region reported longer waiting times for magnetic resonance imaging this winter. "
	description := "<p>" + strings.Repeat(sentence, 5) + "</p>"
	doc := mustParse(t, rssWithItems("https://example.org/", "<title>x</title><description><![CDATA["+description+"]]></description>"), "")
	summary := doc.Items[0].Summary

	if !strings.HasSuffix(summary, "…") {
		t.Fatalf("Summary %q was not marked as cut", summary)
	}
	if n := utf8.RuneCountInString(summary); n > summaryLength+1 || n < summaryLength-40 {
		t.Errorf("Summary has %d runes, want about %d and at most %d", n, summaryLength, summaryLength+1)
	}
	kept := strings.TrimSuffix(summary, "…")
	full := strings.TrimSpace(strings.Repeat(sentence, 5))
	if !strings.HasPrefix(full, kept) {
		t.Fatalf("Summary %q is not a prefix of the text", summary)
	}
	if next := full[len(kept)]; next != ' ' {
		t.Errorf("Summary cut mid-word: next character is %q", next)
	}
}

func TestParseContentHashTracksTitleAndContent(t *testing.T) {
	hash := func(item string) string {
		return mustParse(t, rssWithItems("https://example.org/", item), "").Items[0].ContentHash
	}
	base := hash(`<guid>1</guid><title>Title</title><description>Body</description>`)
	if again := hash(`<guid>1</guid><title>Title</title><description>Body</description>`); again != base {
		t.Errorf("same item hashed differently: %s, %s", base, again)
	}
	if changed := hash(`<guid>1</guid><title>New title</title><description>Body</description>`); changed == base {
		t.Error("changing the title did not change the hash")
	}
	if changed := hash(`<guid>1</guid><title>Title</title><description>New body</description>`); changed == base {
		t.Error("changing the content did not change the hash")
	}
	if same := hash(`<guid>1</guid><title>Title</title><description>Body<script>x()</script></description>`); same != base {
		t.Error("markup the sanitiser removes changed the hash")
	}
}

func TestParseTTL(t *testing.T) {
	tests := []struct {
		ttl  string
		want time.Duration
	}{
		{"<ttl>30</ttl>", 30 * time.Minute},
		{"<ttl> 1440 </ttl>", 24 * time.Hour},
		{"<ttl>-5</ttl>", 0},
		{"<ttl>soon</ttl>", 0},
		{"", 0},
	}
	for _, tt := range tests {
		body := `<rss version="2.0"><channel><title>T</title>` + tt.ttl + `</channel></rss>`
		if got := mustParse(t, []byte(body), "").TTL; got != tt.want {
			t.Errorf("%q: TTL = %v, want %v", tt.ttl, got, tt.want)
		}
	}
}

func TestParseIsSafeForConcurrentUse(t *testing.T) {
	p := NewParser()
	fixtures := []string{"rss20.xml", "atom.xml", "jsonfeed.json", "charset_windows1252.xml"}
	want := make(map[string]*Document)
	for _, name := range fixtures {
		doc, err := p.Parse(readFixture(t, name), "", testFeedURL, testNow)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = doc
	}
	var wg sync.WaitGroup
	for range 4 {
		for _, name := range fixtures {
			body := readFixture(t, name)
			wg.Go(func() {
				doc, err := p.Parse(body, "", testFeedURL, testNow)
				if err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(doc, want[name]) {
					t.Errorf("%s parsed differently when concurrent", name)
				}
			})
		}
	}
	wg.Wait()
}
