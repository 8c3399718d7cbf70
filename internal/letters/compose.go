// Package letters owns what Radiogram's transactional mails say — the
// double opt-in confirmation and the link to manage a subscription — and
// sends them for the subscriber flows (Notifier).
package letters

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/matcornic/hermes/v2"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// Product is the brand and the sender every transactional mail carries.
type Product struct {
	Name string // "Radiogram"
	Link string // base URL of the site
	// PostalAddress goes in every footer: anti-spam laws (CAN-SPAM, the
	// EU e-commerce directive) require a physical address.
	PostalAddress string
	From          string // "Radiogram <news@radiogram.example>"
	ReplyTo       string // optional; every mail carries it
	// ListID is the list identifier of the List-Id header, e.g.
	// "news.example.org"; "" makes one of Name and From's domain
	// ("radiogram.list-id.example.org").
	ListID string
}

// ListHeaders are the header fields every mail of p carries: List-Id
// (RFC 2919), so that readers can filter and providers recognise the list,
// and Auto-Submitted (RFC 3834), so that auto-responders stay quiet. A
// list identifier that CheckListID refuses leaves List-Id out.
func (p Product) ListHeaders() []email.Header {
	id, err := email.ListID(p.Name, p.ListID, p.From)
	if err != nil {
		id = ""
	}
	return email.ListHeaders(id)
}

// CheckListID reports a List-Id that p cannot carry: the configuration is
// checked with it at start-up.
func (p Product) CheckListID() error {
	if p.Name == "" {
		p.Name = "Radiogram"
	}
	_, err := email.ListID(p.Name, p.ListID, p.From)
	return err
}

// Composer writes the transactional mails: the double opt-in confirmation
// and the link to manage a subscription. It is safe for concurrent use.
type Composer struct {
	product Product
	headers []email.Header // the list headers of every mail
}

// NewComposer returns a Composer for p; an empty p.Name means "Radiogram".
func NewComposer(p Product) *Composer {
	if p.Name == "" {
		p.Name = "Radiogram"
	}
	return &Composer{product: p, headers: p.ListHeaders()}
}

// Tag values of the "kind" message tag.
const (
	KindConfirmation = "confirmation"
	KindManage       = "manage"
)

const (
	signature = "Best wishes"
	// quiet marks a secondary button, which the theme draws grey: leaving
	// is offered, not promoted. Theme reads only whether a colour is set.
	quiet = "quiet"
)

// Confirmation is the double opt-in mail: it says what s signed up for and
// carries the one link that confirms it.
func (c *Composer) Confirmation(s subscribers.Subscriber, topicNames []string, links subscribers.Links) (email.Message, error) {
	delivery, err := deliveryInWords(s.Preferences)
	if err != nil {
		return email.Message{}, fmt.Errorf("compose confirmation: %w", err)
	}
	l := letter{
		kind:    KindConfirmation,
		subject: "Confirm your " + c.product.Name + " subscription",
		title:   "Please confirm your subscription",
		intros: []string{
			"Someone, hopefully you, asked " + c.product.Name + " to send news to " + s.Email + ". This is what was chosen:",
		},
		facts: []hermes.Entry{
			{Key: "Topics", Value: strings.Join(topicNames, ", ")},
			{Key: "Delivery", Value: delivery},
		},
		actions: []action{{
			instructions: "Nothing will be sent until you confirm:",
			label:        "Confirm my subscription",
			link:         links.Confirm,
		}},
		outros: []string{
			"The link expires in 7 days.",
			"If you did not ask for this, ignore this email: you will not hear from us again.",
		},
	}
	if len(topicNames) == 0 {
		l.facts = l.facts[1:]
	}
	m, err := c.compose(s, l)
	if err != nil {
		return email.Message{}, fmt.Errorf("compose confirmation: %w", err)
	}
	return m, nil
}

// Manage is the mail that answers "send me my link": the links to change
// preferences and to unsubscribe, and the links to download or erase the
// subscriber's data, which no page or other mail carries and which expire
// after an hour. Being a mail to a subscriber, it carries the RFC 8058
// one-click unsubscribe headers.
func (c *Composer) Manage(s subscribers.Subscriber, links subscribers.Links) (email.Message, error) {
	l := letter{
		kind:    KindManage,
		subject: "Your link to manage your " + c.product.Name + " subscription",
		title:   "Manage your subscription",
		intros: []string{
			"Here is your link to manage your subscription to " + c.product.Name + " news at " + s.Email + ".",
		},
		actions: []action{
			{
				instructions: "Change your topics, societies, how often you hear from us, or the format of the emails:",
				label:        "Change my preferences",
				link:         links.Preferences,
			},
			{
				instructions: "Or stop receiving " + c.product.Name + " news:",
				label:        "Unsubscribe",
				link:         links.Unsubscribe,
				color:        quiet,
			},
			{
				instructions: "Download everything " + c.product.Name + " holds about you, as a JSON file. This link and the next work for an hour:",
				label:        "Download my data",
				link:         links.Export,
				color:        quiet,
			},
			{
				instructions: "Or erase your data, which also stops all email:",
				label:        "Erase my data",
				link:         links.Erase,
				color:        quiet,
			},
		},
		outros: []string{
			"These links work without a password, so please do not forward this email.",
			"If you did not ask for this email, you can ignore it: nothing has changed.",
		},
		headers: email.UnsubscribeHeaders(links.Unsubscribe, ""),
	}
	m, err := c.compose(s, l)
	if err != nil {
		return email.Message{}, fmt.Errorf("compose manage mail: %w", err)
	}
	return m, nil
}

// letter is what one mail says, written once so that its HTML and its
// plain text cannot drift apart. Every string is plain text: the HTML
// template escapes it.
type letter struct {
	kind    string
	subject string
	title   string
	intros  []string
	facts   []hermes.Entry
	actions []action
	outros  []string
	headers []email.Header
}

type action struct {
	instructions string
	label        string
	link         string
	color        string // "" for a primary button, quiet for a secondary one
}

func (c *Composer) compose(s subscribers.Subscriber, l letter) (email.Message, error) {
	if s.Email == "" {
		return email.Message{}, errors.New("subscriber has no email address")
	}
	for _, a := range l.actions {
		if err := CheckLink(a.link); err != nil {
			return email.Message{}, fmt.Errorf("%s link: %w", a.label, err)
		}
	}
	m := email.Message{
		From:    c.product.From,
		ReplyTo: c.product.ReplyTo,
		To:      s.Email,
		Subject: l.subject,
		Text:    c.plainText(l),
		Headers: slices.Concat(c.headers, l.headers),
		Tags:    map[string]string{"kind": l.kind},
	}
	if s.Preferences.Format != subscribers.FormatText {
		html, err := c.html(l)
		if err != nil {
			return email.Message{}, err
		}
		m.HTML = html
	}
	return m, nil
}

// CheckLink accepts only absolute http(s) URLs, for the links of every
// mail: anything else is a mistake at best and a javascript: link at worst.
func CheckLink(link string) error {
	if link == "" {
		return errors.New("missing")
	}
	if u, err := url.Parse(link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", link)
	}
	return nil
}

// FooterLine is the last line of every mail's footer: the product's name
// and, when it has one, its postal address.
func (p Product) FooterLine() string {
	if p.PostalAddress == "" {
		return p.Name
	}
	return p.Name + " · " + p.PostalAddress
}

// html renders l with hermes' default theme. The letter's text only ever
// reaches hermes' html/template fields, never its FreeMarkdown, which
// would pass <script> and javascript: links through.
func (c *Composer) html(l letter) (string, error) {
	// Generate* fills its defaults into the receiver, so every mail gets a
	// fresh value and the Composer stays safe for concurrent use.
	h := hermes.Hermes{
		Theme: Theme{},
		Product: hermes.Product{
			Name:        c.product.Name,
			Link:        c.product.Link,
			Copyright:   c.product.FooterLine(),
			TroubleText: "If the “{ACTION}” button does not work, copy this address into your browser:",
		},
	}
	body := hermes.Body{
		Name:       l.subject, // the document's <title> in Theme
		Title:      l.title,
		Intros:     l.intros,
		Dictionary: l.facts,
		Outros:     l.outros,
		Signature:  signature,
	}
	for _, a := range l.actions {
		body.Actions = append(body.Actions, hermes.Action{
			Instructions: a.instructions,
			Button:       hermes.Button{Text: a.label, Link: a.link, Color: a.color},
		})
	}
	html, err := h.GenerateHTML(hermes.Email{Body: body})
	if err != nil {
		return "", fmt.Errorf("render HTML: %w", err)
	}
	return html, nil
}

// plainText writes l as a mail meant to be read as text, not as HTML with
// the tags stripped.
func (c *Composer) plainText(l letter) string {
	var b strings.Builder
	b.WriteString(l.title + "\n\n")
	for _, p := range l.intros {
		b.WriteString(Wrap(p) + "\n\n")
	}
	if len(l.facts) > 0 {
		width := 0
		for _, f := range l.facts {
			width = max(width, len(f.Key))
		}
		for _, f := range l.facts {
			// A long list of topics wraps under itself, not under the key.
			indent := strings.Repeat(" ", 2+width+1+2)
			value := strings.ReplaceAll(wrapWidth(f.Value, textWidth-len(indent)), "\n", "\n"+indent)
			fmt.Fprintf(&b, "  %-*s  %s\n", width+1, f.Key+":", value)
		}
		b.WriteString("\n")
	}
	for _, a := range l.actions {
		b.WriteString(Wrap(a.instructions) + "\n\n")
		b.WriteString(a.label + ":\n" + a.link + "\n\n")
	}
	for _, p := range l.outros {
		b.WriteString(Wrap(p) + "\n\n")
	}
	b.WriteString(signature + ",\n" + c.product.Name + "\n\n")
	// "-- " starts a signature block that mail clients fold away.
	b.WriteString("-- \n" + c.product.FooterLine() + "\n")
	if c.product.Link != "" {
		b.WriteString(c.product.Link + "\n")
	}
	return b.String()
}

// textWidth is where plain-text paragraphs wrap, short of the 78
// characters RFC 5322 recommends.
const textWidth = 72

// Wrap breaks a paragraph between words so that lines stay within
// textWidth; a word longer than that (a URL) keeps its own line.
func Wrap(paragraph string) string { return wrapWidth(paragraph, textWidth) }

func wrapWidth(paragraph string, textWidth int) string {
	var b strings.Builder
	lineLen := 0
	for _, word := range strings.Fields(paragraph) {
		switch {
		case lineLen == 0:
		case lineLen+1+utf8.RuneCountInString(word) > textWidth:
			b.WriteString("\n")
			lineLen = 0
		default:
			b.WriteString(" ")
			lineLen++
		}
		b.WriteString(word)
		lineLen += utf8.RuneCountInString(word)
	}
	return b.String()
}

// deliveryInWords says how often and when mail arrives, e.g. "a daily
// digest at 07:00 (Europe/Vienna)".
func deliveryInWords(p subscribers.Preferences) (string, error) {
	if p.Hour < 0 || p.Hour > 23 {
		return "", fmt.Errorf("hour %d is not from 0 to 23", p.Hour)
	}
	zone := p.TimeZone
	if zone == "" {
		zone = subscribers.DefaultTimeZone
	}
	at := fmt.Sprintf("at %02d:00 (%s)", p.Hour, zone)
	switch p.Frequency {
	case subscribers.Instant:
		return "alerts as news arrives", nil
	case subscribers.Daily:
		return "a daily digest " + at, nil
	case subscribers.Weekly:
		day := p.Day
		if day == "" {
			day = subscribers.Weekdays[0]
		}
		if !slices.Contains(subscribers.Weekdays, day) {
			return "", fmt.Errorf("unknown day %q", p.Day)
		}
		return "a weekly digest on " + strings.ToUpper(day[:1]) + day[1:] + "s " + at, nil
	default:
		return "", fmt.Errorf("unknown frequency %q", p.Frequency)
	}
}
