package digestmail

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/matcornic/hermes/v2"
	"golang.org/x/net/html"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/keywords"
	"github.com/radiogram/radiogram/internal/letters"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// view is a Content checked and put into words once, for both parts. All
// of its text is plain: each part escapes it as it needs.
type view struct {
	kind      digest.Kind
	format    subscribers.Format
	subject   string
	preheader string // the next few headlines after the subject's
	sections  []sectionView
	shown     int // items in the mail
	more      int // items left out of it, for the archive
}

type sectionView struct {
	name   string // "" for an alert's single list
	anchor string // the id the table of contents links to
	items  []itemView
}

type itemView struct {
	key     string
	title   string
	society string
	date    string // "" when the feed gave none
	badge   string // at most one topic, never the section's own
	reason  string // why it matched beyond its topic, "" when it did not
	also    string // "Also from …": the societies of the same story's other items
	link    string // "" unless an absolute http(s) URL
	site    string // the link's host, for "Read on <site> →"
	summary string // cut at a sentence or word boundary
	// rank orders items for the subject and the cap: the newest first for
	// an alert; for a digest the best score on its section's topic first.
	published time.Time
	score     float64
}

const (
	signature = "Best wishes"
	// dateLayout is an item's date, short: the heading names the period.
	dateLayout = "2 Jan 2006"
	// maxSubjectHeadline keeps the headline and its "+ N more" within
	// what an inbox list shows before the product name.
	maxSubjectHeadline = 70
	// maxSummary is where a summary is cut, in characters: a few lines,
	// enough to decide whether to read on.
	maxSummary = 280
	// preheaderHeadlines is how many headlines after the subject's the
	// hidden preheader names.
	preheaderHeadlines = 3
	// DefaultMaxItems is how many items a mail shows unless MaxItems
	// says otherwise: a mail of 25 stays far below the 102 KB at which
	// Gmail clips the HTML and hides the footer with the unsubscribe link.
	DefaultMaxItems = 25
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

	// The recipients' keywords, compiled once for the mail's items.
	follow := keywords.Compile(c.Keywords)

	// Every item once, under its first section.
	var all []itemView
	sectionOf := map[string]int{}
	var sections []sectionView
	for _, s := range c.Sections {
		if len(s.Items) == 0 {
			continue
		}
		sections = append(sections, sectionView{name: sectionName(s)})
		n := len(sections) - 1
		for i, it := range s.Items {
			key := it.Key
			if key == "" {
				key = "\x00" + strconv.Itoa(n) + "/" + strconv.Itoa(i)
			}
			if _, dup := sectionOf[key]; dup {
				continue
			}
			sectionOf[key] = n
			all = append(all, r.itemView(c, s, it, key, topicNames, loc, follow))
		}
	}
	if len(all) == 0 {
		return nil, errors.New("no items")
	}

	ranked := slices.Clone(all)
	slices.SortStableFunc(ranked, func(a, b itemView) int {
		if v.kind == digest.KindDigest {
			if c := cmp.Compare(b.score, a.score); c != 0 {
				return c
			}
		}
		return b.published.Compare(a.published)
	})
	v.subject = r.subject(ranked[0].title, len(ranked)-1)
	maxItems := r.maxItems
	v.shown = min(len(ranked), maxItems)
	v.more = len(ranked) - v.shown
	kept := map[string]bool{}
	for _, it := range ranked[:v.shown] {
		kept[it.key] = true
	}

	if v.kind == digest.KindAlert {
		// An alert is one list, newest first, led by the subject's item.
		v.sections = []sectionView{{items: ranked[:v.shown]}}
	} else {
		for _, it := range all {
			if kept[it.key] {
				n := sectionOf[it.key]
				sections[n].items = append(sections[n].items, it)
			}
		}
		for _, s := range sections {
			if len(s.items) > 0 {
				s.anchor = "section-" + strconv.Itoa(len(v.sections)+1)
				v.sections = append(v.sections, s)
			}
		}
	}

	// The preheader follows the order of the mail, after the subject's
	// headline.
	var next []string
	for _, s := range v.sections {
		for _, it := range s.items {
			if it.key != ranked[0].key && len(next) < preheaderHeadlines {
				next = append(next, it.title)
			}
		}
	}
	if len(next) > 0 {
		v.preheader = "Also: " + strings.Join(next, " · ")
	}
	return v, nil
}

// itemView puts one item of section s into words.
func (r *Renderer) itemView(c Content, s Section, it items.Item, key string, topicNames map[string]string, loc *time.Location, follow []keywords.Phrase) itemView {
	iv := itemView{
		key:       key,
		title:     oneLine(it.Title),
		society:   oneLine(c.SocietyNames[it.Society]),
		link:      it.Link,
		summary:   cutSummary(oneLine(it.Summary), maxSummary),
		published: it.Published,
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
	// Why the item is here beyond its section: the keyword that chose
	// it, the terms that decided its topic, the society, other topics.
	var reasons, also []string
	if len(follow) > 0 {
		if p, ok := keywords.First(follow, keywords.Tokenize(it.Title, it.Summary)); ok {
			reasons = append(reasons, "you follow: "+oneLine(p.Text))
		}
	}
	if s.Followed {
		iv.score = 1 // asked for by name: above any topic's score
	}
	fromSociety := slices.Contains(c.FollowedSocieties, it.Society)
	for _, t := range it.Topics {
		if t.ID == s.Topic.ID && !s.Followed {
			iv.score = t.Score
			if terms := matchedTerms(t); terms != "" {
				reasons = append(reasons, "matched: "+terms)
			}
			continue
		}
		name := topicNames[t.ID]
		if name == "" {
			continue
		}
		if slices.Contains(c.Chosen, t.ID) {
			also = append(also, name)
		} else if iv.badge == "" {
			iv.badge = name
		}
	}
	if fromSociety {
		reasons = append(reasons, "from a society you follow")
	}
	if len(also) > 0 {
		reasons = append(reasons, "also in your topic "+joinWords(also))
	}
	if len(reasons) > 0 {
		iv.reason = strings.ToUpper(reasons[0][:1]) + strings.Join(reasons, "; ")[1:] + "."
	}
	iv.also = alsoFrom(c, it)
	if iv.badge == "" && c.Kind == digest.KindAlert && !s.Followed {
		// An alert has no sections: its badge says the item's topic.
		iv.badge = topicNames[s.Topic.ID]
	}
	if letters.CheckLink(iv.link) != nil {
		iv.link = ""
	} else if u, err := url.Parse(iv.link); err == nil {
		iv.site = strings.TrimPrefix(u.Hostname(), "www.")
	}
	return iv
}

// maxMatchedTerms bounds the "matched:" reason: enough to say why, short
// enough for one line.
const maxMatchedTerms = 2

// matchedTerms names the terms the tagger's rules matched for a topic, at
// most maxMatchedTerms, each once: "lung cancer screening, low-dose CT".
// Topics given by a feed, the fallback or an admin have none to show.
func matchedTerms(t items.TopicScore) string {
	if t.Source != items.SourceRules {
		return ""
	}
	var terms []string
	for _, m := range t.Matched {
		term := oneLine(strings.ReplaceAll(m.Term, "*", "…"))
		if term == "" || slices.ContainsFunc(terms, func(s string) bool { return strings.EqualFold(s, term) }) {
			continue
		}
		if terms = append(terms, term); len(terms) == maxMatchedTerms {
			break
		}
	}
	return strings.Join(terms, ", ")
}

// alsoFrom names the societies of the other items of its story by name
// (digest.AlsoFrom): "Also from Radiological Society of
// North America, American College of Radiology".
func alsoFrom(c Content, it items.Item) string {
	return digest.AlsoFrom(it.Society, c.AlsoFrom[it.Key], func(id string) string {
		if name := oneLine(c.SocietyNames[id]); name != "" {
			return name
		}
		return oneLine(strings.ToUpper(id))
	})
}

func sectionName(s Section) string {
	if name := oneLine(s.Topic.Name); name != "" {
		return name
	}
	return oneLine(s.Topic.ID)
}

// subject depends on the content only, so that all recipients of one mail
// share it: the top headline and how many more, then the product:
// "ESR statement on AI in screening + 7 more · Radiogram".
func (r *Renderer) subject(headline string, more int) string {
	tail := ""
	if more > 0 {
		tail = " + " + strconv.Itoa(more) + " more"
	}
	return truncate(headline, maxSubjectHeadline-utf8.RuneCountInString(tail)) + tail + " · " + r.product.Name
}

// cutSummary shortens s to at most max characters, at the end of a
// sentence when one ends in the latter two thirds, else between words
// with an ellipsis.
func cutSummary(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	cut := string([]rune(s)[:max])
	end := -1
	for _, stop := range []string{". ", "! ", "? "} {
		if i := strings.LastIndex(cut, stop); i > end {
			end = i
		}
	}
	if end >= len(cut)/3 {
		return cut[:end+1]
	}
	return truncate(s, max)
}

// footerNote is the reason for the mail and where it went, as one
// paragraph of the footer.
func footerNote(why, email string) string {
	return why + " This email was sent to " + email + "."
}

func moreLine(n int) string {
	return strconv.Itoa(n) + " more " + plural(n, "item", "items") + " in the archive"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
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
		Name:         v.subject,             // the document's <title>
		Title:        f[fieldHeading],       // the first heading
		Intros:       []string{v.preheader}, // hidden, for the inbox preview
		FreeMarkdown: hermes.Markdown(itemsHTML(v, f[fieldArchive])),
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

// itemsHTML lays out the table of contents, the sections and the archive
// link as one raw HTML block for hermes' FreeMarkdown. Markdown copies a
// block that opens with <div> and closes with </div> on its own line
// verbatim, so no markdown syntax in feed text (links, emphasis) is ever
// interpreted; and since every piece of feed text is HTML-escaped, none of
// it can close the block early either. The classes are styled by the
// theme's head (inlined by hermes, and overridden in dark mode).
func itemsHTML(v *view, archive string) string {
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString("<div class=\"digest\">\n")
	titleTag := "h3"
	if v.kind == digest.KindAlert {
		titleTag = "h2" // no section headings above them
	} else if len(v.sections) > 1 {
		b.WriteString("<h2>In this digest</h2>\n<ul class=\"toc\">\n")
		for _, s := range v.sections {
			fmt.Fprintf(&b, "<li class=\"toc-entry\"><a href=\"#%s\">%s</a> (%d)</li>\n", s.anchor, esc(s.name), len(s.items))
		}
		b.WriteString("</ul>\n")
	}
	for _, s := range v.sections {
		if s.name != "" {
			fmt.Fprintf(&b, "<h2 id=\"%s\">%s</h2>\n", s.anchor, esc(s.name))
		}
		for _, it := range s.items {
			fmt.Fprintf(&b, "<p class=\"meta\">%s", esc(joinNonEmpty(" · ", it.society, it.date)))
			if it.badge != "" {
				fmt.Fprintf(&b, " <span class=\"badge\">%s</span>", esc(it.badge))
			}
			b.WriteString("</p>\n")
			if it.link != "" {
				fmt.Fprintf(&b, "<%s class=\"item-title\"><a class=\"title-link\" href=\"%s\">%s</a></%s>\n", titleTag, esc(it.link), esc(it.title), titleTag)
			} else {
				fmt.Fprintf(&b, "<%s class=\"item-title\">%s</%s>\n", titleTag, esc(it.title), titleTag)
			}
			if it.reason != "" {
				fmt.Fprintf(&b, "<p class=\"reason\">%s</p>\n", esc(it.reason))
			}
			if it.also != "" {
				fmt.Fprintf(&b, "<p class=\"meta\">%s</p>\n", esc(it.also))
			}
			if it.summary != "" {
				fmt.Fprintf(&b, "<p class=\"summary\">%s</p>\n", esc(it.summary))
			}
			if it.link != "" {
				fmt.Fprintf(&b, "<p class=\"read-on\"><a href=\"%s\">Read on %s →</a></p>\n", esc(it.link), esc(it.site))
			} else {
				b.WriteString("<p class=\"read-on\"></p>\n")
			}
		}
	}
	if v.more > 0 {
		// The archive link is the recipient's: escaped as hermes' inliner
		// escapes the other links, so that Fill matches Render.
		fmt.Fprintf(&b, "<p class=\"more\"><a href=\"%s\">%s →</a></p>\n", esc(normalizeURL(archive)), esc(moreLine(v.more)))
	}
	b.WriteString("</div>\n")
	return b.String()
}

// plainText writes the mail to be read as text, not as HTML with the tags
// stripped. The per-recipient values sit where their length changes no
// other line: the why alone in its paragraph (wrapped by itself), the
// others on lines that are never wrapped. The links to manage and end the
// subscription come before the "-- " that starts a signature, which mail
// clients fold away.
func (r *Renderer) plainText(v *view, f fieldValues) string {
	var b strings.Builder
	b.WriteString(f[fieldHeading] + "\n\n")
	if len(v.sections) > 1 {
		b.WriteString("In this digest:\n")
		for _, s := range v.sections {
			fmt.Fprintf(&b, "  %s (%d)\n", s.name, len(s.items))
		}
		b.WriteString("\n")
	}
	for _, s := range v.sections {
		if s.name != "" {
			b.WriteString(s.name + "\n" + strings.Repeat("=", utf8.RuneCountInString(s.name)) + "\n\n")
		}
		for _, it := range s.items {
			b.WriteString(letters.Wrap(it.title) + "\n")
			b.WriteString(letters.Wrap(joinNonEmpty(" · ", it.society, it.date, it.badge)) + "\n")
			if it.reason != "" {
				b.WriteString(letters.Wrap(it.reason) + "\n")
			}
			if it.also != "" {
				b.WriteString(letters.Wrap(it.also) + "\n")
			}
			if it.summary != "" {
				b.WriteString("\n" + letters.Wrap(it.summary) + "\n")
			}
			if it.link != "" {
				b.WriteString("Read on " + it.site + ":\n" + it.link + "\n")
			}
			b.WriteString("\n")
		}
	}
	if v.more > 0 {
		b.WriteString(moreLine(v.more) + ":\n" + f[fieldArchive] + "\n\n")
	}
	b.WriteString(signature + ",\n" + r.product.Name + "\n\n")
	b.WriteString("Manage your preferences:\n" + f[fieldPreferences] + "\n\n")
	b.WriteString("Unsubscribe:\n" + f[fieldUnsubscribe] + "\n\n")
	b.WriteString("-- \n")
	b.WriteString(letters.Wrap(f[fieldWhy]) + "\n")
	b.WriteString("This email was sent to " + f[fieldEmail] + ".\n\n")
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

// theme lays out digests and alerts for hermes, on the page head and
// colours of letters.MailHead: the hidden preheader (the body's intro),
// the product's name, the heading (the body's title), the items (its free
// markdown), the sign-off, and a footer with the reason for the mail and
// the links to manage or end the subscription (its actions), next to the
// postal address, as in any newsletter. Layout tables are marked
// role="presentation" so that screen readers read them as text.
type theme struct{}

func (theme) Name() string { return "radiogram-digest" }

func (theme) HTMLTemplate() string { return digestTemplate }

// PlainTextTemplate is unused: the text part is written by hand.
func (theme) PlainTextTemplate() string { return "" }

// preheaderPad follows the preheader so that inbox previews stop there
// rather than go on with the mail's first words.
var preheaderPad = strings.Repeat("&#847;&zwnj;&nbsp;", 20)

var digestTemplate = `<!DOCTYPE html>
<html lang="en">
` + letters.MailHead + `
<body>
{{ range .Email.Body.Intros }}{{ if . }}<div class="preheader" style="display:none;max-height:0;max-width:0;overflow:hidden;opacity:0;font-size:1px;line-height:1px;mso-hide:all">{{ . }}` + preheaderPad + `</div>
{{ end }}{{ end }}<table class="wrapper" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td align="center">
<table class="card" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td class="masthead"><a class="masthead-link" href="{{ .Hermes.Product.Link }}">{{ .Hermes.Product.Name }}</a></td></tr>
<tr><td class="card-cell">
<h1>{{ .Email.Body.Title }}</h1>
{{ .Email.Body.FreeMarkdown.ToHTML }}
<p>{{ .Email.Body.Signature }},<br>{{ .Hermes.Product.Name }}</p>
</td></tr>
</table>
<table class="footer" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td class="footer-cell">
{{ range .Email.Body.Actions }}{{ with .Instructions }}<p class="footer-text">{{ . }}</p>
{{ end }}{{ end }}<p class="footer-text">{{ range $i, $a := .Email.Body.Actions }}{{ if $i }} · {{ end }}<a href="{{ $a.Button.Link }}">{{ $a.Button.Text }}</a>{{ end }}</p>
<p class="footer-text">{{ .Hermes.Product.Copyright }}</p>
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`
