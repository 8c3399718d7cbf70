package digestmail

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/golden"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/letters"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

var testProduct = letters.Product{
	Name:          "Radiogram",
	Link:          "https://radiogram.example",
	PostalAddress: "Musterstraße 1, 1010 Wien, Austria",
	From:          "Radiogram <news@radiogram.example>",
	ReplyTo:       "help@radiogram.example",
}

const testMailto = "unsubscribe@radiogram.example"

var (
	topicAI        = topics.Topic{ID: "ai", Name: "AI"}
	topicScreening = topics.Topic{ID: "screening", Name: "Screening"}
	topicNeuro     = topics.Topic{ID: "neuro", Name: "Neuroradiology"}
)

var societyNames = map[string]string{
	"esr":  "European Society of Radiology",
	"rsna": "RSNA",
	"acr":  "American College of Radiology",
}

// loadItems reads the eight items of testdata/items.json: a week of news
// from four societies.
func loadItems(t testing.TB) []items.Item {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "items.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list []items.Item
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 8 {
		t.Fatalf("testdata/items.json has %d items, want 8", len(list))
	}
	return list
}

// weeklyDigest is the 8-item, 3-section digest of the golden files and
// the benchmark.
func weeklyDigest(t testing.TB, format subscribers.Format) Content {
	it := loadItems(t)
	return Content{
		Kind:   digest.KindDigest,
		Format: format,
		Sections: []Section{
			{Topic: topicAI, Items: it[0:3]},
			{Topic: topicScreening, Items: it[3:6]},
			{Topic: topicNeuro, Items: it[6:8]},
		},
		SocietyNames: societyNames,
		TopicNames:   map[string]string{"thoracic": "Chest", "safety": "Safety"},
		Location:     mustLoadLocation(t, "Europe/Vienna"),
		// The ESR's statement was also posted by RSNA and ACR (twice: one
		// name each), and by the ESR's other feed (never named).
		AlsoFrom: map[string][]string{"esr-1a2b3c": {"rsna", "acr", "acr", "esr"}},
	}
}

// steeredDigest is a digest for recipients who chose AI and
// Neuroradiology from the ESR, and follow "lung cancer screening" and
// "gadolinium": the lung cancer item, of no chosen topic, comes under
// their keywords; the gadolinium item stays in its topic's section, saying
// it is followed; the ESR's AI item names the terms that decided its topic.
func steeredDigest(t testing.TB, format subscribers.Format) Content {
	it := loadItems(t)
	it[0].Topics[0].Source = items.SourceRules
	it[0].Topics[0].Matched = []items.Match{
		{Term: "second reader", Field: "title"}, {Term: "Second reader", Field: "summary"},
		{Term: "artificial intelligence", Field: "summary"}, {Term: "screen*", Field: "title"},
	}
	it[1].Topics[0].Source = items.SourceFeed // a feed's topic: no terms to show
	it[1].Topics[0].Matched = []items.Match{{Term: "never shown", Field: "title"}}
	return Content{
		Kind:   digest.KindDigest,
		Format: format,
		Sections: []Section{
			FollowedSection(it[3:4]),
			{Topic: topicAI, Items: it[0:3]},
			{Topic: topicNeuro, Items: it[6:8]},
		},
		SocietyNames:      societyNames,
		TopicNames:        map[string]string{"thoracic": "Chest", "safety": "Safety", "screening": "Screening"},
		Location:          mustLoadLocation(t, "Europe/Vienna"),
		Chosen:            []string{"ai", "neuro"},
		FollowedSocieties: []string{"esr"},
		Keywords:          []string{"lung cancer screening", "Gadolinium"},
	}
}

func textDigest(t testing.TB) Content {
	it := loadItems(t)
	return Content{
		Kind:   digest.KindDigest,
		Format: subscribers.FormatText,
		Sections: []Section{
			{Topic: topicScreening, Items: it[3:5]},
			{Topic: topicNeuro, Items: it[6:7]},
		},
		SocietyNames: societyNames,
		AlsoFrom:     map[string][]string{"esr-0d1e2f": {"ers"}}, // a society without a name
	}
}

func oneItemAlert(t testing.TB, format subscribers.Format) Content {
	return Content{
		Kind:     digest.KindAlert,
		Format:   format,
		Sections: []Section{{Topic: topicNeuro, Items: loadItems(t)[6:7]}},
	}
}

func mustLoadLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

var alice = Recipient{
	Email:   "alice@example.org",
	Heading: "Weekly digest · 16–22 Nov",
	Why:     "You get this weekly digest because you chose AI and Screening from all societies.",
	Links: subscribers.Links{
		Preferences: "https://radiogram.example/preferences?token=pr3fs&s=1",
		Unsubscribe: "https://radiogram.example/unsubscribe?token=unsub&s=1",
	},
}

// trickyRecipients have values that every escaping step treats
// differently: markup characters, quotes, entities, percent signs that do
// and do not start an escape, non-ASCII, and lengths that wrap.
var trickyRecipients = []Recipient{
	alice,
	{
		Email:   "o'brien+digest&co@example.org",
		Heading: `16–22 "November" <2026> & más`,
		Why:     `You chose "AI" & <Screening> from Société Française de Radiologie — ça va? &amp; &#39; {{.}}`,
		Links: subscribers.Links{
			Preferences: `https://radiogram.example/preferences?token=a'b(c)&x=<y>&z="q"&é=ü`,
			Unsubscribe: "https://radiogram.example/unsub scribe?t=%41%zz%4&amp;w=☃#frag",
		},
	},
	{
		Email:   strings.Repeat("x", 64) + "@" + strings.Repeat("sub.", 40) + "radiology-department.example.org",
		Heading: "Monday 16 November 2026 to Sunday 22 November 2026 (Europe/Vienna, UTC+01:00) 🩻",
		Why:     strings.Repeat("You get this daily digest because you chose Neuroradiology, Musculoskeletal imaging & Paediatric radiology from RSNA and ESR. ", 4),
		Links: subscribers.Links{
			Preferences: "http://127.0.0.1:8080/preferences?token=" + strings.Repeat("A1b2-_", 40),
			Unsubscribe: "http://127.0.0.1:8080/unsubscribe?token=" + strings.Repeat("Z9y8-_", 40),
		},
	},
	{
		Email:   "ÜNICODE@bücher.example",
		Heading: "22 November 2026, 07:00",
		Why:     "",
		Links:   alice.Links,
	},
}

func TestGolden(t *testing.T) {
	r := NewRenderer(testProduct, testMailto)
	alertRecipient := alice
	alertRecipient.Heading = "Alert · 21 Nov"
	alertRecipient.Why = "You get alerts as news arrives because you chose Neuroradiology from all societies."
	tests := []struct {
		name      string
		content   Content
		recipient Recipient
	}{
		{"alert", oneItemAlert(t, subscribers.FormatHTML), alertRecipient},
		{"digest", weeklyDigest(t, subscribers.FormatHTML), alice},
		{"digest-text", textDigest(t), alice},
		{"digest-keywords", steeredDigest(t, subscribers.FormatHTML), alice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := r.Render(tt.content, tt.recipient)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if tt.content.Format == subscribers.FormatText {
				if m.HTML != "" {
					t.Errorf("text-only mail has an HTML part")
				}
			} else {
				golden.Check(t, "testdata/"+tt.name+".html.golden", []byte(m.HTML))
			}
			golden.Check(t, "testdata/"+tt.name+".txt.golden", []byte(m.Text))
		})
	}
}

// TestFillMatchesRender is the contract of Compile and Fill: for every
// recipient, the same message as Render, byte for byte.
func TestFillMatchesRender(t *testing.T) {
	r := NewRenderer(testProduct, testMailto)
	contents := map[string]Content{
		"digest html":   weeklyDigest(t, subscribers.FormatHTML),
		"digest text":   weeklyDigest(t, subscribers.FormatText),
		"alert html":    oneItemAlert(t, subscribers.FormatHTML),
		"alert text":    oneItemAlert(t, subscribers.FormatText),
		"short text":    textDigest(t),
		"keywords html": steeredDigest(t, subscribers.FormatHTML),
		"keywords text": steeredDigest(t, subscribers.FormatText),
	}
	for name, c := range contents {
		t.Run(name, func(t *testing.T) {
			tmpl, err := r.Compile(c)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			for _, rc := range trickyRecipients {
				checkSameMessage(t, r, tmpl, c, rc)
			}
		})
	}
}

func checkSameMessage(t *testing.T, r *Renderer, tmpl *Template, c Content, rc Recipient) {
	t.Helper()
	want, err := r.Render(c, rc)
	if err != nil {
		t.Fatalf("Render(%s): %v", rc.Email, err)
	}
	got, err := tmpl.Fill(rc)
	if err != nil {
		t.Fatalf("Fill(%s): %v", rc.Email, err)
	}
	if got.HTML != want.HTML {
		t.Errorf("Fill(%s): HTML differs from Render's %s", rc.Email, firstDifference(got.HTML, want.HTML))
	}
	if got.Text != want.Text {
		t.Errorf("Fill(%s): text differs from Render's %s", rc.Email, firstDifference(got.Text, want.Text))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fill(%s) = %+v\nRender = %+v", rc.Email, got, want)
	}
	if (c.Format == subscribers.FormatText) != (got.HTML == "") {
		t.Errorf("Fill(%s): format %q but HTML part %q", rc.Email, c.Format, got.HTML)
	}
}

func firstDifference(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-60)
	return "at byte " + strconv.Itoa(i) + ":\n got: …" + got[from:min(len(got), i+60)] + "…\nwant: …" + want[from:min(len(want), i+60)] + "…"
}

// TestFillValuesLandEscaped checks where recipient values end up, past
// byte-identity with Render: a hostile why stays text.
func TestFillValuesLandEscaped(t *testing.T) {
	r := NewRenderer(testProduct, testMailto)
	tmpl, err := r.Compile(weeklyDigest(t, subscribers.FormatHTML))
	if err != nil {
		t.Fatal(err)
	}
	rc := alice
	rc.Why = `<script>alert(1)</script> "><img src=x onerror=alert(1)>`
	rc.Heading = "<b>now</b>"
	m, err := tmpl.Fill(rc)
	if err != nil {
		t.Fatal(err)
	}
	checkNoActiveContent(t, m.HTML)
	text := visibleText(t, m.HTML)
	for _, want := range []string{rc.Why, rc.Heading, rc.Email, "Manage your preferences", "Unsubscribe"} {
		if !strings.Contains(text, want) {
			t.Errorf("HTML text does not show %q", want)
		}
	}
	hrefs := hrefsOf(t, m.HTML)
	for _, want := range []string{rc.Links.Preferences, rc.Links.Unsubscribe} {
		if !hrefs[want] {
			t.Errorf("HTML has no link to %q; links: %v", want, hrefs)
		}
	}
	if !strings.Contains(m.Text, "\n-- \n<script>alert(1)</script>") {
		t.Errorf("text part does not carry the why after the signature separator:\n%s", m.Text)
	}
}

// TestHostileFeedText feeds markup, markdown links and script URLs
// through every piece of feed text: none of it may become active HTML.
func TestHostileFeedText(t *testing.T) {
	hostile := []string{
		`<script>alert(1)</script>`,
		`"><img src=x onerror=alert(1)>`,
		`[click](javascript:alert(1))`,
		`](javascript:alert(1))`,
		`<a href="javascript:alert(1)">x</a>`,
		"</div>\n\n<script>alert(2)</script>\n\n<div>",
		`<iframe src="https://evil.example"></iframe>`,
		`*bold* _em_ ` + "`code`" + ` <!-- comment --> &lt;script&gt;`,
	}
	links := []string{
		"javascript:alert(1)",
		"JaVaScRiPt:alert(1)",
		" javascript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"vbscript:msgbox(1)",
		`https://ok.example/"><script>alert(1)</script>`,
	}
	r := NewRenderer(testProduct, testMailto)
	for i, text := range hostile {
		it := items.Item{
			Key:       "k" + strconv.Itoa(i),
			Society:   text,
			Title:     text,
			Link:      links[i%len(links)],
			Summary:   text + " " + text,
			Published: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
			Topics:    []items.TopicScore{{ID: "evil", Score: 1}, {ID: "other", Score: 1}},
		}
		c := Content{
			Kind:         digest.KindDigest,
			Sections:     []Section{{Topic: topics.Topic{ID: "evil", Name: text}, Items: []items.Item{it}}},
			SocietyNames: map[string]string{text: text},
			TopicNames:   map[string]string{"other": text},
		}
		for _, kind := range []digest.Kind{digest.KindDigest, digest.KindAlert} {
			c.Kind = kind
			m, err := r.Render(c, alice)
			if err != nil {
				t.Fatalf("Render(%q): %v", text, err)
			}
			checkNoActiveContent(t, m.HTML)
			if !strings.Contains(visibleText(t, m.HTML), strings.Join(strings.Fields(text), " ")) {
				t.Errorf("feed text %q is not shown as text", text)
			}
			tmpl, err := r.Compile(c)
			if err != nil {
				t.Fatalf("Compile(%q): %v", text, err)
			}
			checkSameMessage(t, r, tmpl, c, alice)
		}
	}
}

// checkNoActiveContent parses page as a mail client would and fails on
// anything that could run: script elements, event handler attributes,
// images, frames, and links that are not http(s) or mailto.
func checkNoActiveContent(t *testing.T, page string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "script", "img", "iframe", "object", "embed":
			t.Errorf("HTML has a <%s> element", n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("<%s> has an event handler %s=%q", n.Data, a.Key, a.Val)
			}
			if a.Key == "href" && strings.HasPrefix(a.Val, "#section-") {
				continue // the table of contents
			}
			if a.Key == "href" || a.Key == "src" {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "mailto:") {
					t.Errorf("<%s %s=%q> is not a web link", n.Data, a.Key, a.Val)
				}
			}
		}
	}
}

// visibleText is the text of page's body as one line per text node.
func visibleText(t *testing.T, page string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for n := range doc.Descendants() {
		if n.Type == html.TextNode && (n.Parent == nil || n.Parent.Data != "style") {
			b.WriteString(n.Data)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func hrefsOf(t *testing.T, page string) map[string]bool {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	hrefs := make(map[string]bool)
	for n := range doc.Descendants() {
		for _, a := range n.Attr {
			if a.Key == "href" {
				hrefs[a.Val] = true
			}
		}
	}
	return hrefs
}

func TestFillConcurrentUse(t *testing.T) {
	r := NewRenderer(testProduct, testMailto)
	c := weeklyDigest(t, subscribers.FormatHTML)
	tmpl, err := r.Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]email.Message, len(trickyRecipients))
	for i, rc := range trickyRecipients {
		if want[i], err = r.Render(c, rc); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i, rc := range trickyRecipients {
				got, err := tmpl.Fill(rc)
				if err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(got, want[i]) {
					t.Errorf("concurrent Fill(%s) differs from Render", rc.Email)
				}
			}
		})
	}
	wg.Wait()
}

func TestSubject(t *testing.T) {
	it := loadItems(t)
	longTitle := items.Item{Key: "long", Title: "A very\nlong title " + strings.Repeat("about radiology ", 10)}
	many := make([]Section, 5)
	for i := range many {
		many[i] = Section{Topic: topics.Topic{ID: "t" + strconv.Itoa(i), Name: "Topic " + strconv.Itoa(i)}, Items: it[i : i+1]}
	}
	tests := []struct {
		name    string
		product letters.Product
		content Content
		want    string
	}{
		{"digest: the best-scored item leads", testProduct, weeklyDigest(t, subscribers.FormatHTML),
			"ESR publishes statement on AI as second reader in breast… + 7 more · Radiogram"},
		{"digest of equal scores: the newest leads", testProduct, Content{Kind: digest.KindDigest, Sections: many},
			"Breast density notification rule takes effect: what… + 4 more · Radiogram"},
		{"an item under two topics is one item", testProduct, Content{Kind: digest.KindDigest, Sections: []Section{
			{Topic: topicAI, Items: it[0:1]}, {Topic: topicScreening, Items: it[0:1]},
		}}, "ESR publishes statement on AI as second reader in breast screening · Radiogram"},
		{"alert of one item", testProduct, oneItemAlert(t, subscribers.FormatHTML),
			"Stroke imaging: perfusion CT or MRI before thrombectomy in the late… · Radiogram"},
		{"alert of three items: the newest leads", testProduct, Content{Kind: digest.KindAlert, Sections: []Section{
			{Topic: topicAI, Items: it[1:3]}, {Topic: topicNeuro, Items: it[6:7]},
		}}, "Stroke imaging: perfusion CT or MRI before thrombectomy in… + 2 more · Radiogram"},
		{"long title is cut, line break is a space", testProduct, Content{Kind: digest.KindAlert, Sections: []Section{
			{Topic: topicAI, Items: []items.Item{longTitle}},
		}}, "A very long title about radiology about radiology about radiology… · Radiogram"},
		{"unnamed product", letters.Product{}, oneItemAlert(t, subscribers.FormatText),
			"Stroke imaging: perfusion CT or MRI before thrombectomy in the late… · Radiogram"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewRenderer(tt.product, "").Render(tt.content, alice)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d characters", m.Subject, len([]rune(m.Subject)))
			if n := utf8.RuneCountInString(strings.TrimSuffix(m.Subject, " · "+cmp.Or(tt.product.Name, "Radiogram"))); n > maxSubjectHeadline {
				t.Errorf("subject's headline has %d characters, want at most %d", n, maxSubjectHeadline)
			}
			if m.Subject != tt.want {
				t.Errorf("subject = %q, want %q", m.Subject, tt.want)
			}
		})
	}
}

func TestMessageEnvelope(t *testing.T) {
	listID := email.Header{Name: "List-Id", Value: "Radiogram <radiogram.list-id.radiogram.example>"}
	httpLinks := subscribers.Links{
		Preferences: "http://127.0.0.1:8080/preferences?token=p",
		Unsubscribe: "http://127.0.0.1:8080/unsubscribe?token=u",
	}
	tests := []struct {
		name    string
		mailto  string
		content Content
		links   subscribers.Links
		headers []email.Header
	}{
		{"digest with mailto", testMailto, weeklyDigest(t, subscribers.FormatHTML), alice.Links, []email.Header{
			listID, email.AutoSubmitted,
			{Name: "List-Unsubscribe", Value: "<https://radiogram.example/unsubscribe?token=unsub&s=1>, <mailto:unsubscribe@radiogram.example?subject=unsubscribe%20unsub>"},
			{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
		}},
		{"alert without mailto", "", oneItemAlert(t, subscribers.FormatText), alice.Links, []email.Header{
			listID, email.AutoSubmitted,
			{Name: "List-Unsubscribe", Value: "<https://radiogram.example/unsubscribe?token=unsub&s=1>"},
			{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
		}},
		{"plain http link: no one-click", testMailto, textDigest(t), httpLinks, []email.Header{
			listID, email.AutoSubmitted,
			{Name: "List-Unsubscribe", Value: "<http://127.0.0.1:8080/unsubscribe?token=u>, <mailto:unsubscribe@radiogram.example?subject=unsubscribe%20u>"},
		}},
		// A preview's inert link has no token: a mailto would unsubscribe nobody.
		{"link without a token: no mailto", testMailto, textDigest(t), subscribers.PreviewLinksAt("https://radiogram.example"), []email.Header{
			listID, email.AutoSubmitted,
			{Name: "List-Unsubscribe", Value: "<https://radiogram.example/preview-link?what=unsubscribe>"},
			{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := alice
			rc.Links = tt.links
			tmpl, err := NewRenderer(testProduct, tt.mailto).Compile(tt.content)
			if err != nil {
				t.Fatal(err)
			}
			m, err := tmpl.Fill(rc)
			if err != nil {
				t.Fatal(err)
			}
			if m.To != rc.Email || m.From != testProduct.From || m.ReplyTo != testProduct.ReplyTo {
				t.Errorf("To, From, Reply-To = %q, %q, %q", m.To, m.From, m.ReplyTo)
			}
			if want := map[string]string{"kind": string(tt.content.Kind)}; !reflect.DeepEqual(m.Tags, want) {
				t.Errorf("tags = %v, want %v", m.Tags, want)
			}
			if !reflect.DeepEqual(m.Headers, tt.headers) {
				t.Errorf("headers = %q\nwant %q", m.Headers, tt.headers)
			}
			if got, want := m.HTML == "", tt.content.Format == subscribers.FormatText; got != want {
				t.Errorf("format %q, HTML part present = %v", tt.content.Format, !got)
			}
			raw, err := m.MIME(time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatalf("MIME: %v", err)
			}
			if !strings.Contains(string(raw), "List-Unsubscribe: <"+rc.Links.Unsubscribe+">") {
				t.Errorf("encoded message lacks List-Unsubscribe:\n%s", raw)
			}
			parsed, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("parse MIME: %v", err)
			}
			for name, want := range map[string]string{
				"List-Id":        "Radiogram <radiogram.list-id.radiogram.example>",
				"Auto-Submitted": "auto-generated",
				"Reply-To":       "<help@radiogram.example>",
			} {
				if got := parsed.Header.Get(name); got != want {
					t.Errorf("MIME %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestItemLinks(t *testing.T) {
	tests := []struct {
		link   string
		linked bool
	}{
		{"https://www.rsna.org/news/1", true},
		{"http://www.acr.org/news/2", true},
		{"javascript:alert(1)", false},
		{"/news/relative", false},
		{"mailto:press@esr.example", false},
		{"", false},
	}
	r := NewRenderer(testProduct, "")
	for _, tt := range tests {
		it := items.Item{Key: "k", Society: "esr", Title: "Title", Link: tt.link}
		m, err := r.Render(Content{Kind: digest.KindAlert, Sections: []Section{{Topic: topicAI, Items: []items.Item{it}}}}, alice)
		if err != nil {
			t.Fatal(err)
		}
		if got := hrefsOf(t, m.HTML)[tt.link]; got != tt.linked {
			t.Errorf("link %q: in HTML = %v, want %v", tt.link, got, tt.linked)
		}
		if got := tt.link != "" && strings.Contains(m.Text, "\n"+tt.link+"\n"); got != tt.linked {
			t.Errorf("link %q: on a line of its own in text = %v, want %v", tt.link, got, tt.linked)
		}
	}
}

func TestRefusals(t *testing.T) {
	good := weeklyDigest(t, subscribers.FormatHTML)
	contents := []struct {
		name     string
		renderer *Renderer
		content  Content
	}{
		{"unknown kind", NewRenderer(testProduct, ""), Content{Kind: "newsletter", Sections: good.Sections}},
		{"unknown format", NewRenderer(testProduct, ""), Content{Kind: digest.KindDigest, Format: "pdf", Sections: good.Sections}},
		{"no sections", NewRenderer(testProduct, ""), Content{Kind: digest.KindDigest}},
		{"sections without items", NewRenderer(testProduct, ""), Content{Kind: digest.KindAlert, Sections: []Section{{Topic: topicAI}}}},
		{"mailto with a header in it", NewRenderer(testProduct, "a@b.example>\r\nBcc: c@d.example"), good},
		{"mailto that is no address", NewRenderer(testProduct, "unsubscribe"), good},
	}
	for _, tt := range contents {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.renderer.Compile(tt.content); err == nil {
				t.Error("Compile succeeded")
			}
			if _, err := tt.renderer.Render(tt.content, alice); err == nil {
				t.Error("Render succeeded")
			}
		})
	}

	r := NewRenderer(testProduct, testMailto)
	tmpl, err := r.Compile(good)
	if err != nil {
		t.Fatal(err)
	}
	recipients := []struct {
		name   string
		change func(*Recipient)
	}{
		{"no email", func(rc *Recipient) { rc.Email = "" }},
		{"no period", func(rc *Recipient) { rc.Heading = "" }},
		{"line break in why", func(rc *Recipient) { rc.Why = "Because.\r\nBcc: x@y.example" }},
		{"invalid UTF-8 in period", func(rc *Recipient) { rc.Heading = "16\xff22 November" }},
		{"script preferences link", func(rc *Recipient) { rc.Links.Preferences = "javascript:alert(1)" }},
		{"relative unsubscribe link", func(rc *Recipient) { rc.Links.Unsubscribe = "/unsubscribe?token=u" }},
		{"no unsubscribe link", func(rc *Recipient) { rc.Links.Unsubscribe = "" }},
	}
	for _, tt := range recipients {
		t.Run(tt.name, func(t *testing.T) {
			rc := alice
			tt.change(&rc)
			if _, err := tmpl.Fill(rc); err == nil {
				t.Error("Fill succeeded")
			}
			if _, err := r.Render(good, rc); err == nil {
				t.Error("Render succeeded")
			}
		})
	}
}

// TestSplitFailsLoudly covers what Compile does when a placeholder is not
// where the layout put it, as after a hermes upgrade that rewrote one.
func TestSplitFailsLoudly(t *testing.T) {
	ph := newPlaceholders()
	para := func(f field) string { return "<p>" + ph[f] + "</p>" }
	href := func(f field) string { return `<a href="` + ph[f] + `">x</a>` }
	whole := para(fieldEmail) + para(fieldHeading) + para(fieldWhy) + href(fieldPreferences) + href(fieldUnsubscribe)
	if _, err := split(whole, ph, false, htmlEscaper); err != nil {
		t.Fatalf("split of a well-formed page: %v", err)
	}
	tests := []struct {
		name     string
		out      string
		escaper  escaper
		mentions string
	}{
		{"missing", strings.Replace(whole, para(fieldWhy), "", 1), htmlEscaper, "why found 0 times"},
		{"twice", whole + para(fieldEmail), htmlEscaper, "email found 2 times"},
		{"URL-escaped", strings.Replace(whole, ph[fieldPreferences], strings.ReplaceAll(ph[fieldPreferences], "/", "%2F"), 1), htmlEscaper, "preferences link found 0 times"},
		{"link outside an href", strings.Replace(whole, href(fieldUnsubscribe), para(fieldUnsubscribe), 1), htmlEscaper, "not a whole href value"},
		{"link as part of an href", strings.Replace(whole, `href="`+ph[fieldUnsubscribe], `href="/r?u=`+ph[fieldUnsubscribe], 1), htmlEscaper, "not a whole href value"},
		{"text in an attribute", strings.Replace(whole, para(fieldHeading), `<p title="`+ph[fieldHeading]+`"></p>`, 1), htmlEscaper, "inside a tag"},
		{"why wrapped with other words", "a " + ph[fieldWhy] + " b\n" + ph[fieldEmail] + ph[fieldHeading] + ph[fieldPreferences] + ph[fieldUnsubscribe], textEscaper, "not a paragraph of its own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := split(tt.out, ph, false, tt.escaper)
			if err == nil || !strings.Contains(err.Error(), tt.mentions) {
				t.Errorf("split error = %v, want one mentioning %q", err, tt.mentions)
			}
		})
	}
}

// TestPlaceholdersDiffer makes sure feed text cannot predict the tokens.
func TestPlaceholdersDiffer(t *testing.T) {
	a, b := newPlaceholders(), newPlaceholders()
	for f := range numFields {
		if a[f] == b[f] {
			t.Errorf("two Compiles share the %s placeholder %q", f, a[f])
		}
		for g := range numFields {
			if f != g && strings.Contains(a[f], a[g]) {
				t.Errorf("placeholder %q contains %q", a[f], a[g])
			}
		}
	}
}
