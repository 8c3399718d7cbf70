package digestmail

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/matcornic/hermes/v2"
	"golang.org/x/net/html"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/letters"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// view is a Content checked and put into words once, for both parts. All
// of its text is plain: each part escapes it as it needs.
type view struct {
	kind     digest.Kind
	format   subscribers.Format
	subject  string
	sections []sectionView
}

type sectionView struct {
	name  string
	items []itemView
}

type itemView struct {
	title   string
	society string
	date    string // "" when the feed gave none
	topics  []string
	link    string // "" unless an absolute http(s) URL
	summary string
}

const (
	greeting  = "Hello,"
	signature = "Best wishes"
	// dateLayout matches the periods callers write, "16–22 November 2026".
	dateLayout = "2 January 2006"
	// maxSubjectTitle keeps an alert's subject short enough to read in an
	// inbox list; the full title is in the mail.
	maxSubjectTitle = 90
	// maxSubjectTopics is how many topic names a digest's subject lists.
	maxSubjectTopics = 3
)

func (r *Renderer) prepare(c Content) (*view, error) {
	if r.err != nil {
		return nil, r.err
	}
	v := &view{kind: c.Kind, format: c.Format}
	if v.kind != digest.KindDigest && v.kind != digest.KindAlert {
		return nil, fmt.Errorf("unknown kind %q", c.Kind)
	}
	switch v.format {
	case "":
		v.format = subscribers.FormatHTML
	case subscribers.FormatHTML, subscribers.FormatText:
	default:
		return nil, fmt.Errorf("unknown format %q", c.Format)
	}
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}

	topicNames := make(map[string]string, len(c.Sections)+len(c.TopicNames))
	for id, name := range c.TopicNames {
		topicNames[id] = oneLine(name)
	}
	for _, s := range c.Sections {
		topicNames[s.Topic.ID] = sectionName(s)
	}

	count := 0
	seen := make(map[string]bool)
	for _, s := range c.Sections {
		if len(s.Items) == 0 {
			continue
		}
		sv := sectionView{name: sectionName(s)}
		for _, it := range s.Items {
			// An item filed under two topics is still one new item.
			if it.Key == "" || !seen[it.Key] {
				count++
				seen[it.Key] = true
			}
			iv := itemView{
				title:   oneLine(it.Title),
				society: oneLine(c.SocietyNames[it.Society]),
				link:    it.Link,
				summary: oneLine(it.Summary),
			}
			if iv.title == "" {
				iv.title = "Untitled"
			}
			if iv.society == "" {
				iv.society = oneLine(strings.ToUpper(it.Society))
			}
			if !it.Published.IsZero() {
				iv.date = it.Published.In(loc).Format(dateLayout)
			}
			for _, id := range it.TopicIDs() {
				if name := topicNames[id]; name != "" {
					iv.topics = append(iv.topics, name)
				}
			}
			if letters.CheckLink(iv.link) != nil {
				iv.link = ""
			}
			sv.items = append(sv.items, iv)
		}
		v.sections = append(v.sections, sv)
	}
	if count == 0 {
		return nil, errors.New("no items")
	}
	v.subject = r.subject(v, count)
	return v, nil
}

func sectionName(s Section) string {
	if name := oneLine(s.Topic.Name); name != "" {
		return name
	}
	return oneLine(s.Topic.ID)
}

// subject depends on the content only, so that all recipients of one mail
// share it: "Radiogram · 5 new items: AI, Screening" for a digest,
// "Radiogram alert · New: <first title> and 2 more" for an alert.
func (r *Renderer) subject(v *view, count int) string {
	name := r.product.Name
	if v.kind == digest.KindAlert {
		s := name + " alert · New: " + truncate(v.sections[0].items[0].title, maxSubjectTitle)
		if count > 1 {
			s += " and " + strconv.Itoa(count-1) + " more"
		}
		return s
	}
	var topicNames []string
	for _, s := range v.sections[:min(len(v.sections), maxSubjectTopics)] {
		topicNames = append(topicNames, s.name)
	}
	list := strings.Join(topicNames, ", ")
	if more := len(v.sections) - len(topicNames); more > 0 {
		list += " and " + strconv.Itoa(more) + " more"
	}
	return fmt.Sprintf("%s · %d new %s: %s", name, count, plural(count, "item", "items"), list)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func intro(k digest.Kind, period string) string {
	if k == digest.KindAlert {
		return "New from radiology societies, " + period + "."
	}
	return "Here is the news from radiology societies for " + period + "."
}

// footerNote is the reason for the mail and where it went, as one
// paragraph of the footer.
func footerNote(why, email string) string {
	return why + " This email was sent to " + email + "."
}

// html renders the HTML part with hermes. Feed text is attacker-controlled
// and only the digest's own HTML block can lay it out, so every piece of it
// is escaped there; per-recipient values only reach hermes' html/template
// fields, which escape them.
func (r *Renderer) html(v *view, f fieldValues) (string, error) {
	// Generate* fills its defaults into the receiver, so every mail gets a
	// fresh value and the Renderer stays safe for concurrent use.
	h := hermes.Hermes{
		Theme: r.theme,
		Product: hermes.Product{
			Name:      r.product.Name,
			Link:      r.product.Link,
			Copyright: r.product.FooterLine(),
		},
	}
	body := hermes.Body{
		Title:        greeting, // not per recipient: every recipient shares it
		Intros:       []string{intro(v.kind, f[fieldPeriod])},
		FreeMarkdown: hermes.Markdown(itemsHTML(v)),
		Signature:    signature,
		// The theme shows the actions in the footer.
		Actions: []hermes.Action{
			{
				Instructions: footerNote(f[fieldWhy], f[fieldEmail]),
				Button:       hermes.Button{Text: "Manage your preferences", Link: f[fieldPreferences]},
			},
			{Button: hermes.Button{Text: "Unsubscribe", Link: f[fieldUnsubscribe]}},
		},
	}
	out, err := h.GenerateHTML(hermes.Email{Body: body})
	if err != nil {
		return "", fmt.Errorf("render HTML: %w", err)
	}
	return out, nil
}

// Inline styles of the items block, in the colours of hermes' default
// theme; the CSS inliner keeps them over the theme's rules.
const (
	headingStyle = "margin:28px 0 12px;padding-bottom:6px;border-bottom:1px solid #EDEFF2;font-size:17px"
	metaStyle    = "margin:0 0 4px;font-size:13px;line-height:1.6em;color:#9BA2AB"
	badgeStyle   = "display:inline-block;margin-left:4px;padding:0 6px;border-radius:3px;background-color:#F2F4F6;color:#51545E;font-size:12px;line-height:1.6em"
	titleStyle   = "margin:0 0 6px;font-size:16px;line-height:1.4em"
	linkStyle    = "color:#3869D4;text-decoration:none"
	summaryStyle = "margin:0 0 24px;font-size:15px"
)

// itemsHTML lays out the sections as one raw HTML block for hermes'
// FreeMarkdown. Markdown copies a block that opens with <div> and closes
// with </div> on its own line verbatim, so no markdown syntax in feed text
// (links, emphasis) is ever interpreted; and since every piece of feed
// text is HTML-escaped, none of it can close the block early either.
func itemsHTML(v *view) string {
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString("<div class=\"digest\">\n")
	for _, s := range v.sections {
		fmt.Fprintf(&b, "<h2 style=\"%s\">%s</h2>\n", headingStyle, esc(s.name))
		for _, it := range s.items {
			fmt.Fprintf(&b, "<p style=\"%s\">%s", metaStyle, esc(joinNonEmpty(" · ", it.society, it.date)))
			for _, t := range it.topics {
				fmt.Fprintf(&b, " <span style=\"%s\">%s</span>", badgeStyle, esc(t))
			}
			b.WriteString("</p>\n")
			if it.link != "" {
				fmt.Fprintf(&b, "<h3 style=\"%s\"><a href=\"%s\" target=\"_blank\" style=\"%s\">%s</a></h3>\n",
					titleStyle, esc(it.link), linkStyle, esc(it.title))
			} else {
				fmt.Fprintf(&b, "<h3 style=\"%s\">%s</h3>\n", titleStyle, esc(it.title))
			}
			if it.summary != "" {
				fmt.Fprintf(&b, "<p style=\"%s\">%s</p>\n", summaryStyle, esc(it.summary))
			}
		}
	}
	b.WriteString("</div>\n")
	return b.String()
}

// plainText writes the mail to be read as text, not as HTML with the tags
// stripped. The per-recipient values sit where their length changes no
// other line: the why alone in its paragraph (wrapped by itself), the
// others on lines that are never wrapped.
func (r *Renderer) plainText(v *view, f fieldValues) string {
	var b strings.Builder
	b.WriteString(greeting + "\n\n")
	b.WriteString(intro(v.kind, f[fieldPeriod]) + "\n\n")
	for _, s := range v.sections {
		b.WriteString(s.name + "\n" + strings.Repeat("=", utf8.RuneCountInString(s.name)) + "\n\n")
		for _, it := range s.items {
			b.WriteString(letters.Wrap(it.title) + "\n")
			meta := joinNonEmpty(" · ", it.society, it.date, strings.Join(it.topics, ", "))
			b.WriteString(letters.Wrap(meta) + "\n")
			if it.link != "" {
				b.WriteString(it.link + "\n")
			}
			if it.summary != "" {
				b.WriteString("\n" + letters.Wrap(it.summary) + "\n")
			}
			b.WriteString("\n")
		}
	}
	b.WriteString(signature + ",\n" + r.product.Name + "\n\n")
	// "-- " starts a signature block that mail clients fold away.
	b.WriteString("-- \n")
	b.WriteString(letters.Wrap(f[fieldWhy]) + "\n")
	b.WriteString("This email was sent to " + f[fieldEmail] + ".\n\n")
	b.WriteString("Manage your preferences:\n" + f[fieldPreferences] + "\n\n")
	b.WriteString("Unsubscribe:\n" + f[fieldUnsubscribe] + "\n\n")
	b.WriteString(r.product.FooterLine() + "\n")
	if r.product.Link != "" {
		b.WriteString(r.product.Link + "\n")
	}
	return b.String()
}

func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

// oneLine turns feed text into a single line: line breaks in a title
// would break the text part's layout and a subject header.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}

// truncate shortens s to at most maxRunes, cutting between words unless a
// word takes up most of the room.
func truncate(s string, maxRunes int) string {
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	cut := string([]rune(s)[:maxRunes-1])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(cut, unicode.IsSpace) + "…"
}

// theme is hermes' default theme with a footer that also carries the
// reason for the mail and the links to manage or end the subscription:
// the body's actions, which the default theme leaves out of a body made of
// free markdown. Recipients expect these under the sign-off, next to the
// postal address, as in any newsletter.
type theme struct {
	hermes.Default
	htmlTemplate string
}

func (t *theme) HTMLTemplate() string { return t.htmlTemplate }

// defaultFooter is the paragraph of hermes' default theme that theme
// replaces.
var defaultFooter = regexp.MustCompile(`<p class="sub center">\s*\{\{\s*\.Hermes\.Product\.Copyright\s*\}\}\s*</p>`)

const footerTemplate = `{{ range .Email.Body.Actions }}{{ with .Instructions }}<p class="sub center">{{ . }}</p>
                    {{ end }}{{ end }}<p class="sub center">{{ range $i, $a := .Email.Body.Actions }}{{ if $i }} · {{ end }}<a href="{{ $a.Button.Link }}">{{ $a.Button.Text }}</a>{{ end }}</p>
                    <p class="sub center">{{ .Hermes.Product.Copyright }}</p>`

func newTheme() (*theme, error) {
	base := new(hermes.Default).HTMLTemplate()
	if n := len(defaultFooter.FindAllStringIndex(base, -1)); n != 1 {
		// A hermes upgrade changed its footer: better no mail than one
		// without an unsubscribe link.
		return nil, fmt.Errorf("hermes default theme: found its footer %d times, want once", n)
	}
	return &theme{htmlTemplate: defaultFooter.ReplaceAllLiteralString(base, footerTemplate)}, nil
}
