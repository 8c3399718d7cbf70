// Package digestmail owns what digest and alert emails look like, and
// renders them fast: the content of one mail is rendered once with hermes,
// then filled in for each of its recipients. For delivery it renders each
// job (JobRenderer): sections grouped by the recipients' topics, societies
// and topics by name, and each recipient's period, why they get the mail
// and their signed links.
package digestmail

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/letters"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// Content is what is the same for every recipient of one distinct mail.
type Content struct {
	Kind     digest.Kind
	Format   subscribers.Format // "" means HTML
	Sections []Section          // already grouped and ordered by the caller
	// SocietyNames maps a society id to the name shown with its items;
	// an id missing from it is shown upper-cased.
	SocietyNames map[string]string
	// TopicNames names the topics of items' badges that have no section;
	// a topic known from neither is left out, since an id is not a name.
	TopicNames map[string]string
	// Location is the time zone of the items' dates; nil means UTC.
	Location *time.Location
	// Chosen are the recipients' topics: an item also filed under another
	// of them says so ("Also in your topic Screening.").
	Chosen []string
	// FollowedSocieties are the societies every recipient chose (a
	// delivery job groups by them): their items say "From a society you
	// follow." Empty when the recipients chose none.
	FollowedSocieties []string
	// Keywords are the recipients' keyword phrases (a delivery job groups
	// by them): an item matching one says "You follow: <phrase>", naming
	// the first in this order.
	Keywords []string
	// AlsoFrom lists, by the key of an item shown, the societies of the
	// other items that tell the same story and are not shown
	// (digest.CollapseStories): the item says "Also from RSNA, ACR".
	AlsoFrom map[string][]string
}

// Section is the items of one topic, under a heading with its name.
type Section struct {
	Topic topics.Topic
	Items []items.Item
	// Followed marks the section of items that only the recipients'
	// keywords brought in (FollowedSection): they rank first, as asked for
	// by name, and have no topic of the section to show "matched:" for.
	Followed bool
}

// FollowedSectionName heads the items only the recipients' keywords chose.
const FollowedSectionName = "Your keywords"

// FollowedSection returns the section of items that only keywords chose.
func FollowedSection(list []items.Item) Section {
	return Section{Topic: topics.Topic{Name: FollowedSectionName}, Items: list, Followed: true}
}

// Recipient is what differs per recipient. All of it is filled in after
// rendering.
type Recipient struct {
	Email string
	// Heading is the mail's first heading, saying what it is, e.g.
	// "Weekly digest · 23–30 Nov" (see Heading).
	Heading string
	// Why says why this mail comes, e.g. "You get this weekly digest
	// because you chose AI and Screening from all societies."
	Why string
	// Links' Preferences and Unsubscribe go in the footer; Unsubscribe
	// also goes in the List-Unsubscribe header.
	Links subscribers.Links
	// Archive is where the items a mail leaves out can be read; it is
	// needed only when there are more than the renderer's MaxItems.
	Archive string
}

// Renderer writes digest and alert mails for one product. It is safe for
// concurrent use.
type Renderer struct {
	product           letters.Product
	unsubscribeMailto string
	headers           []email.Header // the list headers of every mail
	theme             theme
	maxItems          int
	err               error // a setup problem, reported by every render
}

// Option changes a Renderer's defaults.
type Option func(*Renderer)

// MaxItems sets how many items a mail shows at most (DefaultMaxItems
// unless set); the rest are counted, with a link to the archive.
func MaxItems(n int) Option {
	return func(r *Renderer) { r.maxItems = n }
}

// NewRenderer returns a Renderer for p; an empty p.Name means "Radiogram".
// unsubscribeMailto, the inbound unsubscribe address (e.g.
// "unsubscribe@example.org"), is offered in List-Unsubscribe next to the
// https link, with the recipient's signed token in its subject; "" offers
// the link only. Set it only where mail to it is processed (the inbound
// function).
func NewRenderer(p letters.Product, unsubscribeMailto string, opts ...Option) *Renderer {
	if p.Name == "" {
		p.Name = "Radiogram"
	}
	r := &Renderer{product: p, unsubscribeMailto: unsubscribeMailto, headers: p.ListHeaders(), maxItems: DefaultMaxItems}
	for _, o := range opts {
		o(r)
	}
	var errs []error
	if r.maxItems < 1 {
		errs = append(errs, fmt.Errorf("max items %d: want at least 1", r.maxItems))
	}
	if unsubscribeMailto != "" && !isMailtoAddress(unsubscribeMailto) {
		errs = append(errs, fmt.Errorf("unsubscribe mailto %q: not a bare address", unsubscribeMailto))
	}
	r.err = errors.Join(errs...)
	return r
}

// Render writes one mail with hermes. It is the slow path, kept as the
// reference that Compile and Fill must match byte for byte.
func (r *Renderer) Render(c Content, rc Recipient) (email.Message, error) {
	v, err := r.prepare(c)
	if err != nil {
		return email.Message{}, fmt.Errorf("render %s: %w", c.Kind, err)
	}
	if err := checkRecipient(rc, v); err != nil {
		return email.Message{}, fmt.Errorf("render %s: %w", c.Kind, err)
	}
	f := recipientFields(rc)
	var html string
	if v.format == subscribers.FormatHTML {
		if html, err = r.html(v, f); err != nil {
			return email.Message{}, fmt.Errorf("render %s: %w", c.Kind, err)
		}
	}
	return r.message(v, rc, html, r.plainText(v, f)), nil
}

// Compile renders c once with hermes, with placeholders where each
// recipient's values go, and splits the output there, ready to be filled
// for many recipients.
func (r *Renderer) Compile(c Content) (*Template, error) {
	v, err := r.prepare(c)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", c.Kind, err)
	}
	ph := newPlaceholders()
	t := &Template{renderer: r, view: v}
	if v.format == subscribers.FormatHTML {
		html, err := r.html(v, ph)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", c.Kind, err)
		}
		if t.html, err = split(html, ph, v.needsArchive(), htmlEscaper); err != nil {
			return nil, fmt.Errorf("compile %s: HTML part: %w", c.Kind, err)
		}
	}
	if t.text, err = split(r.plainText(v, ph), ph, v.needsArchive(), textEscaper); err != nil {
		return nil, fmt.Errorf("compile %s: text part: %w", c.Kind, err)
	}
	return t, nil
}

// message puts the parts into a Message for rc, with the headers of a
// mail to a subscriber.
func (r *Renderer) message(v *view, rc Recipient, html, text string) email.Message {
	return email.Message{
		From:    r.product.From,
		ReplyTo: r.product.ReplyTo,
		To:      rc.Email,
		Subject: v.subject,
		HTML:    html,
		Text:    text,
		Headers: slices.Concat(r.headers, email.UnsubscribeHeaders(rc.Links.Unsubscribe, r.unsubscribeMailto)),
		Tags:    map[string]string{"kind": string(v.kind)},
	}
}

// field is one per-recipient value of a mail.
type field int

const (
	fieldEmail field = iota
	fieldHeading
	fieldWhy
	fieldPreferences
	fieldUnsubscribe
	fieldArchive // only in a mail with more items than it shows
	numFields
)

var fieldNames = [numFields]string{"email", "heading", "why", "preferences link", "unsubscribe link", "archive link"}

func (f field) String() string { return fieldNames[f] }

func (f field) isLink() bool {
	return f == fieldPreferences || f == fieldUnsubscribe || f == fieldArchive
}

// needsArchive reports whether the mail links to the archive.
func (v *view) needsArchive() bool { return v.more > 0 }

// fieldValues holds a value for each field: a recipient's, or the placeholders.
type fieldValues [numFields]string

func recipientFields(rc Recipient) fieldValues {
	return fieldValues{rc.Email, rc.Heading, rc.Why, rc.Links.Preferences, rc.Links.Unsubscribe, rc.Archive}
}

// checkRecipient refuses values that could not be filled in the same way
// they render: control characters (a line break would also break the
// text part's layout) and invalid UTF-8 are changed by HTML parsing.
func checkRecipient(rc Recipient, v *view) error {
	if rc.Email == "" {
		return errors.New("recipient has no email address")
	}
	if rc.Heading == "" {
		return errors.New("recipient has no heading")
	}
	for f, value := range recipientFields(rc) {
		if !utf8.ValidString(value) || strings.ContainsFunc(value, unicode.IsControl) {
			return fmt.Errorf("recipient's %s: control character or invalid UTF-8", field(f))
		}
	}
	if err := letters.CheckLink(rc.Links.Preferences); err != nil {
		return fmt.Errorf("recipient's preferences link: %w", err)
	}
	if err := letters.CheckLink(rc.Links.Unsubscribe); err != nil {
		return fmt.Errorf("recipient's unsubscribe link: %w", err)
	}
	if v.needsArchive() {
		if err := letters.CheckLink(rc.Archive); err != nil {
			return fmt.Errorf("recipient's archive link: %w", err)
		}
	}
	return nil
}

func isMailtoAddress(addr string) bool {
	local, domain, ok := strings.Cut(addr, "@")
	return ok && local != "" && domain != "" &&
		!strings.ContainsFunc(addr, func(r rune) bool {
			return r <= ' ' || r > '~' || strings.ContainsRune("<>,?\"", r)
		})
}
