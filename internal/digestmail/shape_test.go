package digestmail

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/config"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/mailcheck"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// manyItems makes n items spread over the sections' topics, one a
// minute back from until, each with a long summary.
func manyItems(n int, until time.Time, topicIDs ...string) []items.Item {
	list := make([]items.Item, n)
	for i := range list {
		at := until.Add(-time.Duration(i+1) * time.Minute)
		list[i] = items.Item{
			Key:       fmt.Sprintf("k%04d", i),
			Society:   []string{"esr", "rsna", "acr"}[i%3],
			Title:     fmt.Sprintf("Item %d: a headline of a realistic length about imaging practice", i),
			Link:      fmt.Sprintf("https://www.rsna.org/news/2026/november/item-%d", i),
			Summary:   strings.Repeat("A sentence of a summary that goes on for a while. ", 12),
			Published: at,
			FirstSeen: at,
			Topics:    []items.TopicScore{{ID: topicIDs[i%len(topicIDs)], Score: float64(i % 7)}, {ID: "safety", Score: 1}},
		}
	}
	return list
}

func sectionsOf(list []items.Item, ts ...topics.Topic) []Section {
	secs := make([]Section, len(ts))
	for i, t := range ts {
		secs[i].Topic = t
	}
	for i, it := range list {
		secs[i%len(ts)].Items = append(secs[i%len(ts)].Items, it)
	}
	return secs
}

// TestCapAndSize: a mail shows at most MaxItems items, links the rest to
// the archive, and its HTML stays under 90 KB (Gmail clips at 102 KB and
// would hide the footer with the unsubscribe link), even for 1,500 items.
func TestCapAndSize(t *testing.T) {
	until := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	rc := alice
	rc.Archive = "https://radiogram.example/news"
	for _, tt := range []struct {
		name     string
		kind     digest.Kind
		n, max   int
		wantMore int
	}{
		{"digest of 25", digest.KindDigest, 25, 0, 0},
		{"digest of 1,500", digest.KindDigest, 1500, 0, 1475},
		{"alert of 1,500", digest.KindAlert, 1500, 0, 1475},
		{"digest of 30, cap 10", digest.KindDigest, 30, 10, 20},
		{"digest of 1,500, the largest cap configuration allows", digest.KindDigest, 1500, config.MaxMailItems, 1500 - config.MaxMailItems},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.max > 0 {
				opts = append(opts, MaxItems(tt.max))
			}
			r := NewRenderer(testProduct, testMailto, opts...)
			c := Content{
				Kind:         tt.kind,
				Sections:     sectionsOf(manyItems(tt.n, until, "ai", "screening", "neuro"), topicAI, topicScreening, topicNeuro),
				SocietyNames: societyNames,
				TopicNames:   map[string]string{"safety": "Safety"},
			}
			tmpl, err := r.Compile(c)
			if err != nil {
				t.Fatal(err)
			}
			m, err := tmpl.Fill(rc)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: HTML %d bytes, text %d bytes, subject %q", tt.name, len(m.HTML), len(m.Text), m.Subject)
			if len(m.HTML) > 90*1024 {
				t.Errorf("HTML is %d bytes, want at most 90 KB", len(m.HTML))
			}
			shown := strings.Count(m.Text, "\nRead on ")
			if want := tt.n - tt.wantMore; shown != want {
				t.Errorf("%d items shown, want %d", shown, want)
			}
			more := fmt.Sprintf("%d more items in the archive", tt.wantMore)
			if tt.wantMore > 0 {
				if !strings.Contains(m.HTML, more) || !strings.Contains(m.Text, more+":\n"+rc.Archive+"\n") {
					t.Errorf("no %q linked to the archive", more)
				}
				if !hrefsOf(t, m.HTML)[rc.Archive] {
					t.Errorf("HTML does not link the archive")
				}
			} else if strings.Contains(m.Text, "in the archive") {
				t.Errorf("a mail showing every item mentions the archive")
			}
			// The footer survives: the unsubscribe link is in the HTML.
			if !hrefsOf(t, m.HTML)[rc.Links.Unsubscribe] || !strings.Contains(m.HTML, ">Unsubscribe</a>") {
				t.Errorf("the footer's unsubscribe link is missing")
			}
			checkSameMessage(t, r, tmpl, c, rc)
		})
	}
}

// TestArchiveLinkRequired: a mail with more items than it shows is not
// sent without somewhere to read them.
func TestArchiveLinkRequired(t *testing.T) {
	until := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	r := NewRenderer(testProduct, "", MaxItems(2))
	c := Content{Kind: digest.KindDigest, Sections: sectionsOf(manyItems(3, until, "ai"), topicAI)}
	if _, err := r.Render(c, alice); err == nil || !strings.Contains(err.Error(), "archive link") {
		t.Errorf("Render without an archive link: error %v", err)
	}
	if _, err := NewRenderer(testProduct, "", MaxItems(0)).Render(c, alice); err == nil {
		t.Errorf("MaxItems(0) rendered")
	}
}

func TestAlertNewestFirst(t *testing.T) {
	until := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	list := manyItems(6, until, "ai", "neuro")
	// Sections in taxonomy order put older items first; the alert does not.
	c := Content{Kind: digest.KindAlert, Sections: []Section{
		{Topic: topicAI, Items: []items.Item{list[4], list[2], list[0]}},
		{Topic: topicNeuro, Items: []items.Item{list[5], list[3], list[1]}},
	}}
	m, err := NewRenderer(testProduct, "").Render(c, alice)
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	for i := range 6 {
		at := strings.Index(m.Text, fmt.Sprintf("Item %d:", i))
		if at < last {
			t.Errorf("item %d comes before a newer one:\n%s", i, m.Text)
		}
		last = at
	}
	if !strings.HasPrefix(m.Subject, "Item 0:") {
		t.Errorf("subject %q does not lead with the newest item", m.Subject)
	}
}

func TestItemShape(t *testing.T) {
	it := loadItems(t)
	c := Content{
		Kind:              digest.KindDigest,
		Sections:          []Section{{Topic: topicAI, Items: it[0:2]}},
		SocietyNames:      societyNames,
		TopicNames:        map[string]string{"thoracic": "Chest", "screening": "Screening"},
		Chosen:            []string{"ai", "screening"},
		FollowedSocieties: []string{"esr"},
	}
	m, err := NewRenderer(testProduct, "").Render(c, alice)
	if err != nil {
		t.Fatal(err)
	}
	text := visibleText(t, m.HTML)
	for _, want := range []string{
		"From a society you follow; also in your topic Screening.", // ESR, and screening was chosen
		"Read on myesr.org →", "Read on rsna.org →",
		"Chest", // the badge of a topic not chosen
		"Also: Deep learning model flags chest X-ray findings", // the preheader
	} {
		if !strings.Contains(text, want) {
			t.Errorf("HTML does not show %q", want)
		}
	}
	if strings.Count(m.HTML, `class="badge"`) != 1 {
		t.Errorf("want one badge (Chest): the section's own topic and chosen ones get none")
	}
	if strings.Contains(text, "In this digest") {
		t.Errorf("a digest of one section has a table of contents")
	}
	// Summaries end at a sentence, or at a word with an ellipsis.
	for _, s := range []string{"a b c. " + strings.Repeat("word ", 80), strings.Repeat("word ", 80)} {
		got := cutSummary(oneLine(s), maxSummary)
		if len([]rune(got)) > maxSummary || !(strings.HasSuffix(got, ".") || strings.HasSuffix(got, "word…")) {
			t.Errorf("cutSummary = %q", got)
		}
	}
}

// TestAccessible: the digest and the alert carry what readers with screen
// readers and dark mode rely on, and a table of contents to the sections.
func TestAccessible(t *testing.T) {
	r := NewRenderer(testProduct, testMailto)
	for name, c := range map[string]Content{
		"digest":          weeklyDigest(t, subscribers.FormatHTML),
		"alert":           oneItemAlert(t, subscribers.FormatHTML),
		"digest-keywords": steeredDigest(t, subscribers.FormatHTML),
	} {
		m, err := r.Render(c, alice)
		if err != nil {
			t.Fatal(err)
		}
		if err := mailcheck.Accessible(m.HTML); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(m.HTML, "<title>"+strings.ReplaceAll(m.Subject, "&", "&amp;")+"</title>") {
			t.Errorf("%s: the title is not the subject", name)
		}
		if !strings.Contains(m.HTML, `<h1`) || !strings.Contains(visibleText(t, m.HTML), alice.Heading) {
			t.Errorf("%s: the first heading is not the recipient's", name)
		}
	}
	m, err := r.Render(weeklyDigest(t, subscribers.FormatHTML), alice)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"AI</a> (3)", "Screening</a> (3)", "Neuroradiology</a> (2)"} {
		anchor := fmt.Sprintf("section-%d", i+1)
		if !strings.Contains(m.HTML, `href="#`+anchor+`"`) || !strings.Contains(m.HTML, `id="`+anchor+`"`) || !strings.Contains(m.HTML, want) {
			t.Errorf("table of contents lacks %q linked to #%s", want, anchor)
		}
	}
}

func TestTextLinksAboveSignature(t *testing.T) {
	m, err := NewRenderer(testProduct, "").Render(weeklyDigest(t, subscribers.FormatText), alice)
	if err != nil {
		t.Fatal(err)
	}
	sig := strings.Index(m.Text, "\n-- \n")
	for _, link := range []string{alice.Links.Preferences, alice.Links.Unsubscribe} {
		if i := strings.Index(m.Text, link); i < 0 || i > sig {
			t.Errorf("link %s at %d, signature at %d: want it above", link, i, sig)
		}
	}
}

func TestHeading(t *testing.T) {
	vienna := mustLoadLocation(t, "Europe/Vienna")
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }
	tests := []struct {
		kind         digest.Kind
		f            subscribers.Frequency
		since, until time.Time
		want         string
	}{
		{digest.KindDigest, subscribers.Daily, at(11, 29, 6), at(11, 30, 6), "Daily digest · 29–30 Nov"},
		{digest.KindDigest, subscribers.Weekly, at(11, 23, 6), at(11, 30, 6), "Weekly digest · 23–30 Nov"},
		{digest.KindDigest, subscribers.Weekly, at(11, 28, 6), at(12, 5, 6), "Weekly digest · 28 Nov – 5 Dec"},
		{digest.KindDigest, subscribers.Weekly, at(12, 28, 6), time.Date(2027, 1, 4, 6, 0, 0, 0, time.UTC), "Weekly digest · 28 Dec 2026 – 4 Jan 2027"},
		{digest.KindAlert, subscribers.Instant, at(11, 30, 6), at(11, 30, 9), "Alert · 30 Nov"},
		{digest.KindAlert, subscribers.Instant, time.Time{}, at(11, 30, 23), "Alert · 1 Dec"}, // midnight in Vienna
	}
	for _, tt := range tests {
		if got := Heading(tt.kind, tt.f, tt.since, tt.until, vienna); got != tt.want {
			t.Errorf("Heading(%s, %s, %s, %s) = %q, want %q", tt.kind, tt.f, tt.since, tt.until, got, tt.want)
		}
	}
}

// fakeArchive records what it was asked for.
type fakeArchive struct{ asked []string }

func (f *fakeArchive) ArchiveURL(_ context.Context, sub subscribers.Subscriber, since, until time.Time) string {
	f.asked = append(f.asked, sub.ID+" "+since.Format(time.RFC3339)+" "+until.Format(time.RFC3339))
	return "https://radiogram.example/news?for=" + sub.ID
}

func TestJobRendererArchive(t *testing.T) {
	until := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	since := until.Add(-24 * time.Hour)
	list := manyItems(40, until, "ai")
	sub := subscribers.Subscriber{ID: "sub-1", Email: "ada@example.org", Preferences: subscribers.Preferences{
		Topics: []string{"ai"}, Frequency: subscribers.Daily, TimeZone: "UTC", Format: subscribers.FormatText,
	}}
	job := delivery.Job{Kind: digest.KindDigest, Until: until, Format: subscribers.FormatText, Topics: sub.Preferences.Topics}
	archive := &fakeArchive{}
	r := newJobRenderer(t, societyList{}).WithArchive(archive)
	tmpl, err := r.Compile(context.Background(), job, list)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tmpl.Fill(context.Background(), sub, since, until)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "15 more items in the archive:\nhttps://radiogram.example/news?for=sub-1\n") {
		t.Errorf("text lacks the archive link:\n%s", m.Text)
	}
	if want := "sub-1 2026-11-29T07:00:00Z 2026-11-30T07:00:00Z"; len(archive.asked) != 1 || archive.asked[0] != want {
		t.Errorf("archive asked %q, want [%q]", archive.asked, want)
	}
	if !strings.HasPrefix(m.Text, "Daily digest · 29–30 Nov\n") {
		t.Errorf("text starts %q", m.Text[:40])
	}
	// Without an archive, the site's /news.
	tmpl, err = newJobRenderer(t, societyList{}).Compile(context.Background(), job, list)
	if err != nil {
		t.Fatal(err)
	}
	if m, err = tmpl.Fill(context.Background(), sub, since, until); err != nil || !strings.Contains(m.Text, "archive:\nhttps://radiogram.example/news\n") {
		t.Errorf("fill without an archive linker: %v\n%s", err, m.Text)
	}
}
