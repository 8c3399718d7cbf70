package letters

import (
	"strings"
)

// Colours is one colour scheme of the mails. Every text colour is paired
// with each background it is drawn on in Pairs, and a test holds every
// pair to WCAG AA (a contrast ratio of at least 4.5:1), in light and in
// dark mode.
type Colours struct {
	Page      string // around the card, and behind the footer
	Card      string // behind the content
	Text      string
	Muted     string // dates, societies, the footer
	Link      string
	BadgeBg   string
	BadgeText string
	Button    string // a primary button's background
	OnButton  string // its label
	Quiet     string // a secondary button's background (unsubscribe, erase)
	OnQuiet   string
	Rule      string // lines between sections; not text
}

// Light and Dark are the two schemes: Light is inlined into every element,
// Dark overrides it under prefers-color-scheme: dark for the clients that
// honour it; the others show Light, or invert it themselves.
var (
	Light = Colours{
		Page: "#F2F4F6", Card: "#FFFFFF", Text: "#1F2329", Muted: "#51565F", Link: "#1A56C4",
		BadgeBg: "#E6EAF0", BadgeText: "#2F3540", Button: "#1A56C4", OnButton: "#FFFFFF",
		Quiet: "#51565F", OnQuiet: "#FFFFFF", Rule: "#DDE1E6",
	}
	Dark = Colours{
		Page: "#0F1115", Card: "#1A1D23", Text: "#E6E8EB", Muted: "#A9AFB8", Link: "#8AB4F8",
		BadgeBg: "#2A2F37", BadgeText: "#D5D9DF", Button: "#8AB4F8", OnButton: "#0F1115",
		Quiet: "#A9AFB8", OnQuiet: "#0F1115", Rule: "#30353D",
	}
)

// Pair is a text colour on a background, as the theme draws it.
type Pair struct {
	Name       string
	Text, Back string
}

// Pairs lists every text colour of c on every background it is drawn on.
func (c Colours) Pairs() []Pair {
	return []Pair{
		{"body text on card", c.Text, c.Card},
		{"muted text on card", c.Muted, c.Card},
		{"link on card", c.Link, c.Card},
		{"badge", c.BadgeText, c.BadgeBg},
		{"button label", c.OnButton, c.Button},
		{"quiet button label", c.OnQuiet, c.Quiet},
		{"footer text on page", c.Muted, c.Page},
		{"footer link on page", c.Link, c.Page},
		{"heading on page", c.Text, c.Page},
	}
}

// MailHead is the <head> of every HTML mail: language, title, both colour
// schemes, and the styles. The first <style> is inlined into the elements
// by hermes' CSS inliner (clients that drop <style> still show the light
// scheme); the second is kept as is (data-premailer="ignore"): media
// queries cannot be inlined. The document title is the body's Name, which
// no theme here shows otherwise.
var MailHead = strings.NewReplacer(
	"PAGE", Light.Page, "CARD", Light.Card, "TEXT", Light.Text, "MUTED", Light.Muted,
	"LINK", Light.Link, "BADGEBG", Light.BadgeBg, "BADGETEXT", Light.BadgeText,
	"BUTTONBG", Light.Button, "ONBUTTON", Light.OnButton, "QUIETBG", Light.Quiet,
	"ONQUIET", Light.OnQuiet, "RULE", Light.Rule,
	"DPAGE", Dark.Page, "DCARD", Dark.Card, "DTEXT", Dark.Text, "DMUTED", Dark.Muted,
	"DLINK", Dark.Link, "DBADGEBG", Dark.BadgeBg, "DBADGETEXT", Dark.BadgeText,
	"DBUTTONBG", Dark.Button, "DONBUTTON", Dark.OnButton, "DQUIETBG", Dark.Quiet,
	"DONQUIET", Dark.OnQuiet, "DRULE", Dark.Rule,
).Replace(mailHead)

// The colours' names in mailHead are upper case, and no light name starts
// with D, so a dark name (DPAGE) is never read as D + a light name.
const mailHead = `<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="supported-color-schemes" content="light dark">
<title>{{ .Email.Body.Name }}</title>
<style type="text/css">
body { margin: 0; padding: 0; width: 100%; background-color: PAGE; color: TEXT; font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 16px; line-height: 1.5; }
.wrapper { width: 100%; background-color: PAGE; }
.card { width: 100%; max-width: 600px; background-color: CARD; }
.card-cell { padding: 28px 32px; color: TEXT; }
.masthead { padding: 20px 32px 12px; text-align: center; font-size: 15px; font-weight: bold; }
.masthead-link { color: TEXT; text-decoration: none; }
h1 { margin: 0 0 16px; font-size: 24px; line-height: 1.3; color: TEXT; }
h2 { margin: 28px 0 12px; padding-bottom: 6px; border-bottom: 1px solid RULE; font-size: 19px; line-height: 1.3; color: TEXT; }
h3 { margin: 0 0 6px; font-size: 17px; line-height: 1.35; color: TEXT; }
p { margin: 0 0 16px; color: TEXT; }
a { color: LINK; }
.muted { color: MUTED; }
.meta { margin: 0 0 4px; font-size: 14px; color: MUTED; }
.badge { display: inline-block; margin-left: 4px; padding: 0 6px; border-radius: 3px; background-color: BADGEBG; color: BADGETEXT; font-size: 13px; }
.item-title { margin: 0 0 6px; padding-bottom: 0; border-bottom: 0; font-size: 17px; line-height: 1.35; }
.title-link { color: LINK; text-decoration: none; }
.more { margin: 8px 0 24px; font-weight: bold; }
.summary { margin: 0 0 6px; font-size: 16px; }
.read-on { margin: 0 0 24px; font-size: 15px; }
.reason { margin: 0 0 4px; font-size: 14px; color: MUTED; font-style: italic; }
.toc { margin: 0 0 8px; padding-left: 20px; }
.toc-entry { margin: 0 0 4px; color: TEXT; }
.facts { margin: 0 0 16px; }
.fact-key { padding: 2px 12px 2px 0; font-weight: bold; color: TEXT; vertical-align: top; }
.fact-value { padding: 2px 0; color: TEXT; }
.button { display: inline-block; padding: 10px 18px; border-radius: 4px; background-color: BUTTONBG; color: ONBUTTON; font-weight: bold; text-decoration: none; }
.button-quiet { display: inline-block; padding: 10px 18px; border-radius: 4px; background-color: QUIETBG; color: ONQUIET; font-weight: bold; text-decoration: none; }
.footer { width: 100%; max-width: 600px; }
.footer-cell { padding: 20px 32px 32px; text-align: center; font-size: 14px; color: MUTED; }
.footer-text { margin: 0 0 10px; font-size: 14px; color: MUTED; }
</style>
<style type="text/css" data-premailer="ignore">
@media only screen and (max-width: 600px) {
  .card-cell { padding: 20px 16px !important; }
  .footer-cell { padding: 16px 16px 24px !important; }
}
@media (prefers-color-scheme: dark) {
  body, .wrapper, .footer, .footer-cell { background-color: DPAGE !important; color: DMUTED !important; }
  .card, .card-cell { background-color: DCARD !important; color: DTEXT !important; }
  h1, h2, h3, p, .masthead-link, .toc-entry, .fact-key, .fact-value { color: DTEXT !important; }
  h2 { border-color: DRULE !important; }
  a, .title-link { color: DLINK !important; }
  .muted, .meta, .reason, .footer-text { color: DMUTED !important; }
  .badge { background-color: DBADGEBG !important; color: DBADGETEXT !important; }
  .button { background-color: DBUTTONBG !important; color: DONBUTTON !important; }
  .button-quiet { background-color: DQUIETBG !important; color: DONQUIET !important; }
}
</style>
</head>`

// Theme is the hermes theme of the confirmation and manage mails: the
// page head above, one card with the title, intros, facts, buttons (each
// with its address written out, for clients that break buttons) and
// outros, and a footer. Layout tables are marked role="presentation" so
// that screen readers read them as text.
type Theme struct{}

func (Theme) Name() string { return "radiogram" }

func (Theme) HTMLTemplate() string { return letterTemplate }

// PlainTextTemplate is unused: the text parts are written by hand.
func (Theme) PlainTextTemplate() string { return "" }

var letterTemplate = `<!DOCTYPE html>
<html lang="en">
` + MailHead + `
<body>
<table class="wrapper" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td align="center">
<table class="card" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td class="masthead"><a class="masthead-link" href="{{ .Hermes.Product.Link }}">{{ .Hermes.Product.Name }}</a></td></tr>
<tr><td class="card-cell">
<h1>{{ .Email.Body.Title }}</h1>
{{ range .Email.Body.Intros }}<p>{{ . }}</p>
{{ end }}{{ with .Email.Body.Dictionary }}<table class="facts" role="presentation" cellpadding="0" cellspacing="0" border="0">
{{ range . }}<tr><td class="fact-key">{{ .Key }}</td><td class="fact-value">{{ .Value }}</td></tr>
{{ end }}</table>
{{ end }}{{ range .Email.Body.Actions }}{{ with .Instructions }}<p>{{ . }}</p>
{{ end }}<p><a class="{{ if .Button.Color }}button-quiet{{ else }}button{{ end }}" href="{{ .Button.Link }}">{{ .Button.Text }}</a></p>
<p class="muted">{{ $.Hermes.Product.TroubleText | replace "{ACTION}" .Button.Text }}<br><a href="{{ .Button.Link }}">{{ .Button.Link }}</a></p>
{{ end }}{{ range .Email.Body.Outros }}<p>{{ . }}</p>
{{ end }}<p>{{ .Email.Body.Signature }},<br>{{ .Hermes.Product.Name }}</p>
</td></tr>
</table>
<table class="footer" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td class="footer-cell"><p class="footer-text">{{ .Hermes.Product.Copyright }}</p></td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`
