package letters

import (
	"bytes"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/golden"
	"github.com/radiogram/radiogram/internal/subscribers"
)

var testProduct = Product{
	Name:          "Radiogram",
	Link:          "https://radiogram.example",
	PostalAddress: "Musterstraße 1, 1010 Wien, Austria",
	From:          "Radiogram <news@radiogram.example>",
	ReplyTo:       "help@radiogram.example",
}

var testListID = email.Header{Name: "List-Id", Value: "Radiogram <radiogram.list-id.radiogram.example>"}

var testLinks = subscribers.Links{
	Confirm:     "https://radiogram.example/confirm?token=c0nf1rm&s=1",
	Preferences: "https://radiogram.example/preferences?token=pr3fs",
	Unsubscribe: "https://radiogram.example/unsubscribe?token=unsub",
	Export:      "https://radiogram.example/export?token=exp",
	Erase:       "https://radiogram.example/erase?token=era",
}

// testSubscriber is a pending sign-up; the clock is fixed so that the mails
// are the same on every run.
func testSubscriber(format subscribers.Format) subscribers.Subscriber {
	at := time.Date(2025, time.March, 3, 6, 30, 0, 0, time.UTC)
	return subscribers.Subscriber{
		ID:     "sub-1",
		Email:  "alice@example.org",
		Status: subscribers.StatusPending,
		Preferences: subscribers.Preferences{
			Topics:    []string{"breast", "neuro"},
			Frequency: subscribers.Daily,
			Hour:      7,
			TimeZone:  "Europe/Vienna",
			Format:    format,
		},
		CreatedAt: at,
		UpdatedAt: at,
	}
}

var testTopicNames = []string{"Breast imaging", "Neuroradiology"}

func TestGolden(t *testing.T) {
	c := NewComposer(testProduct)
	confirmation, err := c.Confirmation(testSubscriber(subscribers.FormatHTML), testTopicNames, testLinks)
	if err != nil {
		t.Fatalf("Confirmation: %v", err)
	}
	manage, err := c.Manage(testSubscriber(subscribers.FormatHTML), testLinks)
	if err != nil {
		t.Fatalf("Manage: %v", err)
	}
	golden.Check(t, "testdata/confirmation.html.golden", []byte(confirmation.HTML))
	golden.Check(t, "testdata/confirmation.txt.golden", []byte(confirmation.Text))
	golden.Check(t, "testdata/manage.html.golden", []byte(manage.HTML))
	golden.Check(t, "testdata/manage.txt.golden", []byte(manage.Text))
}

func TestConfirmation(t *testing.T) {
	c := NewComposer(testProduct)
	for _, format := range []subscribers.Format{subscribers.FormatHTML, subscribers.FormatText} {
		t.Run(string(format), func(t *testing.T) {
			m, err := c.Confirmation(testSubscriber(format), testTopicNames, testLinks)
			if err != nil {
				t.Fatalf("Confirmation: %v", err)
			}
			if m.To != "alice@example.org" || m.From != testProduct.From || m.ReplyTo != testProduct.ReplyTo {
				t.Errorf("To/From/ReplyTo = %q/%q/%q", m.To, m.From, m.ReplyTo)
			}
			if m.Subject != "Confirm your Radiogram subscription" {
				t.Errorf("Subject = %q", m.Subject)
			}
			if m.Tags["kind"] != KindConfirmation {
				t.Errorf("Tags = %v, want kind=confirmation", m.Tags)
			}
			// A pending sign-up is not on a list to unsubscribe from, but
			// the mail is as automatic as any.
			if want := []email.Header{testListID, email.AutoSubmitted}; !slices.Equal(m.Headers, want) {
				t.Errorf("Headers = %v, want %v", m.Headers, want)
			}
			if (format == subscribers.FormatText) != (m.HTML == "") {
				t.Errorf("format %s: HTML of %d bytes", format, len(m.HTML))
			}
			bodies := []string{m.Text}
			if m.HTML != "" {
				bodies = append(bodies, m.HTML)
			}
			for _, body := range bodies {
				for _, want := range []string{
					"Breast imaging, Neuroradiology",
					"a daily digest at 07:00 (Europe/Vienna)",
					"Confirm my subscription",
					"The link expires in 7 days.",
					"If you did not ask for this, ignore this email: you will not hear from us again.",
					"Musterstraße 1, 1010 Wien, Austria",
				} {
					if !strings.Contains(strings.Join(strings.Fields(body), " "), want) {
						t.Errorf("body lacks %q:\n%s", want, body)
					}
				}
			}
			if !strings.Contains(m.Text, "\n"+testLinks.Confirm+"\n") {
				t.Errorf("text lacks the confirmation link on a line of its own:\n%s", m.Text)
			}
			if _, err := m.MIME(time.Date(2025, time.March, 3, 7, 0, 0, 0, time.UTC)); err != nil {
				t.Errorf("MIME: %v", err)
			}
		})
	}
}

func TestManage(t *testing.T) {
	c := NewComposer(testProduct)
	for _, format := range []subscribers.Format{subscribers.FormatHTML, subscribers.FormatText} {
		t.Run(string(format), func(t *testing.T) {
			m, err := c.Manage(testSubscriber(format), testLinks)
			if err != nil {
				t.Fatalf("Manage: %v", err)
			}
			if m.To != "alice@example.org" || m.From != testProduct.From || m.ReplyTo != testProduct.ReplyTo {
				t.Errorf("To/From/ReplyTo = %q/%q/%q", m.To, m.From, m.ReplyTo)
			}
			if m.Tags["kind"] != KindManage {
				t.Errorf("Tags = %v, want kind=manage", m.Tags)
			}
			wantHeaders := []email.Header{
				testListID, email.AutoSubmitted,
				{Name: "List-Unsubscribe", Value: "<" + testLinks.Unsubscribe + ">"},
				{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
			}
			if !slices.Equal(m.Headers, wantHeaders) {
				t.Errorf("Headers = %v, want %v", m.Headers, wantHeaders)
			}
			if (format == subscribers.FormatText) != (m.HTML == "") {
				t.Errorf("format %s: HTML of %d bytes", format, len(m.HTML))
			}
			for _, link := range []string{testLinks.Preferences, testLinks.Unsubscribe, testLinks.Export, testLinks.Erase} {
				if !strings.Contains(m.Text, "\n"+link+"\n") {
					t.Errorf("text lacks %s on a line of its own:\n%s", link, m.Text)
				}
				if format == subscribers.FormatHTML && !hasHref(t, m.HTML, link) {
					t.Errorf("HTML has no link to %s", link)
				}
			}
			if strings.Contains(m.Text, testLinks.Confirm) || strings.Contains(m.HTML, "confirm?") {
				t.Error("the manage mail carries the confirmation link")
			}
		})
	}
}

func TestComposerRefusesBadInput(t *testing.T) {
	c := NewComposer(testProduct)
	tests := []struct {
		name string
		run  func() error
	}{
		{"javascript confirmation link", func() error {
			links := testLinks
			links.Confirm = "javascript:alert(1)"
			_, err := c.Confirmation(testSubscriber(subscribers.FormatHTML), testTopicNames, links)
			return err
		}},
		{"relative confirmation link", func() error {
			links := testLinks
			links.Confirm = "/confirm?token=x"
			_, err := c.Confirmation(testSubscriber(subscribers.FormatHTML), testTopicNames, links)
			return err
		}},
		{"missing unsubscribe link", func() error {
			links := testLinks
			links.Unsubscribe = ""
			_, err := c.Manage(testSubscriber(subscribers.FormatHTML), links)
			return err
		}},
		{"missing export link", func() error {
			links := testLinks
			links.Export = ""
			_, err := c.Manage(testSubscriber(subscribers.FormatHTML), links)
			return err
		}},
		{"missing erase link", func() error {
			links := testLinks
			links.Erase = ""
			_, err := c.Manage(testSubscriber(subscribers.FormatHTML), links)
			return err
		}},
		{"no email address", func() error {
			s := testSubscriber(subscribers.FormatHTML)
			s.Email = ""
			_, err := c.Manage(s, testLinks)
			return err
		}},
		{"unknown frequency", func() error {
			s := testSubscriber(subscribers.FormatHTML)
			s.Preferences.Frequency = "hourly"
			_, err := c.Confirmation(s, testTopicNames, testLinks)
			return err
		}},
	}
	for _, tt := range tests {
		if err := tt.run(); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

func TestDeliveryInWords(t *testing.T) {
	tests := []struct {
		prefs subscribers.Preferences
		want  string
	}{
		{subscribers.Preferences{Frequency: subscribers.Daily, Hour: 7, TimeZone: "Europe/Vienna"}, "a daily digest at 07:00 (Europe/Vienna)"},
		{subscribers.Preferences{Frequency: subscribers.Daily, Hour: 18}, "a daily digest at 18:00 (UTC)"},
		{subscribers.Preferences{Frequency: subscribers.Weekly, Day: "monday", Hour: 7, TimeZone: "UTC"}, "a weekly digest on Mondays at 07:00 (UTC)"},
		{subscribers.Preferences{Frequency: subscribers.Weekly, Day: "friday", Hour: 0, TimeZone: "America/New_York"}, "a weekly digest on Fridays at 00:00 (America/New_York)"},
		{subscribers.Preferences{Frequency: subscribers.Instant, Hour: 7, TimeZone: "UTC"}, "alerts as news arrives"},
	}
	for _, tt := range tests {
		got, err := deliveryInWords(tt.prefs)
		if err != nil || got != tt.want {
			t.Errorf("deliveryInWords(%+v) = %q, %v; want %q", tt.prefs, got, err, tt.want)
		}
	}
	for _, bad := range []subscribers.Preferences{
		{Frequency: "hourly"},
		{Frequency: subscribers.Weekly, Day: "caturday"},
		{Frequency: subscribers.Daily, Hour: 24},
	} {
		if got, err := deliveryInWords(bad); err == nil {
			t.Errorf("deliveryInWords(%+v) = %q, want an error", bad, got)
		}
	}
}

func TestWrap(t *testing.T) {
	in := "If you did not ask for this, ignore this email: you will not hear from us again. " +
		"https://radiogram.example/a/very/long/link/that/is/longer/than/seventy/two/characters/on/its/own"
	got := Wrap(in)
	for line := range strings.SplitSeq(got, "\n") {
		if len(line) > textWidth && strings.Contains(line, " ") {
			t.Errorf("line of %d characters: %q", len(line), line)
		}
	}
	if strings.Join(strings.Fields(got), " ") != in {
		t.Errorf("wrap changed the words:\n%s", got)
	}
}

// hostile is feed-like text an attacker could get into a topic name or an
// address: none of it may reach the HTML as markup.
var hostile = []string{
	`<script>alert(1)</script>`,
	`[click me](javascript:alert(1))`,
	`<img src=x onerror=alert(1)>`,
	`"><a href="javascript:alert(1)">x</a>`,
}

func TestHostileTextIsEscaped(t *testing.T) {
	c := NewComposer(Product{
		Name:          `Radio<script>alert(1)</script>gram`,
		Link:          "https://radiogram.example",
		PostalAddress: `<b onmouseover=alert(1)>1 Street</b>`,
		From:          testProduct.From,
	})
	s := testSubscriber(subscribers.FormatHTML)
	s.Email = `x<script>alert(1)</script>@example.org`
	confirmation, err := c.Confirmation(s, hostile, testLinks)
	if err != nil {
		t.Fatalf("Confirmation: %v", err)
	}
	manage, err := c.Manage(s, testLinks)
	if err != nil {
		t.Fatalf("Manage: %v", err)
	}
	for name, m := range map[string]email.Message{"confirmation": confirmation, "manage": manage} {
		doc, err := html.Parse(strings.NewReader(m.HTML))
		if err != nil {
			t.Fatalf("%s: parse HTML: %v", name, err)
		}
		var text strings.Builder
		for n := range doc.Descendants() {
			switch n.Type {
			case html.TextNode:
				text.WriteString(n.Data)
			case html.ElementNode:
				if n.Data == "script" || n.Data == "img" {
					t.Errorf("%s: a <%s> element reached the HTML", name, n.Data)
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(a.Key, "on") {
						t.Errorf("%s: <%s %s=%q>", name, n.Data, a.Key, a.Val)
					}
					if (a.Key == "href" || a.Key == "src") && !strings.HasPrefix(a.Val, "https://radiogram.example") {
						t.Errorf("%s: <%s %s=%q> points elsewhere", name, n.Data, a.Key, a.Val)
					}
				}
			}
		}
		// The hostile strings are shown as the text they are.
		shown := text.String()
		wantShown := []string{s.Email, `1 Street</b>`}
		if name == "confirmation" {
			wantShown = append(wantShown, hostile...)
		}
		for _, want := range wantShown {
			if !strings.Contains(shown, want) {
				t.Errorf("%s: the text %q is not shown as text", name, want)
			}
		}
	}
}

func hasHref(t *testing.T, page, link string) bool {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	for n := range doc.Descendants() {
		for _, a := range n.Attr {
			if a.Key == "href" && a.Val == link {
				return true
			}
		}
	}
	return false
}

// The Composer renders with hermes, whose Generate mutates its receiver;
// under -race this shows that concurrent mails do not share one.
func TestComposerConcurrentUse(t *testing.T) {
	c := NewComposer(testProduct)
	want, err := c.Confirmation(testSubscriber(subscribers.FormatHTML), testTopicNames, testLinks)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := c.Confirmation(testSubscriber(subscribers.FormatHTML), testTopicNames, testLinks)
			if err != nil || got.HTML != want.HTML || got.Text != want.Text {
				t.Errorf("concurrent Confirmation differs (err %v)", err)
			}
		})
	}
	wg.Wait()
}

func BenchmarkConfirmation(b *testing.B) {
	c := NewComposer(testProduct)
	s := testSubscriber(subscribers.FormatHTML)
	for b.Loop() {
		if _, err := c.Confirmation(s, testTopicNames, testLinks); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConfirmationText(b *testing.B) {
	c := NewComposer(testProduct)
	s := testSubscriber(subscribers.FormatText)
	for b.Loop() {
		if _, err := c.Confirmation(s, testTopicNames, testLinks); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMIME(b *testing.B) {
	m, err := NewComposer(testProduct).Confirmation(testSubscriber(subscribers.FormatHTML), testTopicNames, testLinks)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := m.MIME(time.Date(2025, time.March, 3, 7, 0, 0, 0, time.UTC)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestListHeadersInMIME: every transactional mail, encoded, carries the
// configured List-Id, Auto-Submitted and Reply-To.
func TestListHeadersInMIME(t *testing.T) {
	p := testProduct
	p.ListID = "news.esr.example"
	c := NewComposer(p)
	alice := testSubscriber(subscribers.FormatHTML)
	confirmation, err := c.Confirmation(alice, nil, testLinks)
	if err != nil {
		t.Fatal(err)
	}
	manage, err := c.Manage(alice, testLinks)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []email.Message{confirmation, manage} {
		raw, err := m.MIME(time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]string{
			"List-Id":        "Radiogram <news.esr.example>",
			"Auto-Submitted": "auto-generated",
			"Reply-To":       "<help@radiogram.example>",
		} {
			if got := parsed.Header.Get(name); got != want {
				t.Errorf("%s: %s = %q, want %q", m.Tags["kind"], name, got, want)
			}
		}
	}
}

func TestCheckListID(t *testing.T) {
	for _, tt := range []struct {
		p    Product
		good bool
	}{
		{testProduct, true},
		{Product{From: "news@esr.example", ListID: "news.esr.example"}, true},
		{Product{From: "news@esr.example", ListID: "not an id"}, false},
		{Product{From: "news@esr.example", ListID: "nodots"}, false},
		{Product{Name: "News <x>", From: "news@esr.example"}, false},
		{Product{From: "no address"}, false},
	} {
		if err := tt.p.CheckListID(); (err == nil) != tt.good {
			t.Errorf("%+v: CheckListID = %v, want good %v", tt.p, err, tt.good)
		}
	}
}
