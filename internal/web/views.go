package web

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/radiogram/radiogram/internal/pagekit"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// frame is what the base layout needs of every page.
type frame struct {
	Title   string
	Assets  *pagekit.Assets
	Problem *fieldProblem // the form error to show, if any
	// NoScript leaves out the script: the archive's pages run none.
	NoScript bool
	// Feeds are the page's feed in each format, named FeedName.
	Feeds    []feedLink
	FeedName string
}

// ErrorFor returns the error to show next to a form field, if it is the
// field at fault.
func (f frame) ErrorFor(field string) string {
	if f.Problem == nil || f.Problem.Field != field {
		return ""
	}
	return f.Problem.Reason
}

// fieldProblem is a validation failure worded for the form.
type fieldProblem struct {
	Field  string // the form field, which is also the id its error links to
	Label  string
	Reason string
}

type signUpView struct {
	frame
	Email       string
	ManageEmail string
	Choices     choicesView
}

type preferencesView struct {
	frame
	Token        string
	MaskedEmail  string
	Unsubscribed bool
	Saved        bool
	Changes      []changeLine
	Links        subscribers.Links
	Choices      choicesView
}

// actionView is a page with one button that does what the page explains.
type actionView struct {
	frame
	Heading    string
	Paragraphs []string
	Action     string // where the form posts
	Token      string
	Button     string
	Danger     bool // the action cannot be undone
}

// messageView is a page that only tells something: a result or an error.
type messageView struct {
	frame
	Heading    string
	Paragraphs []string
	Links      []link
}

type link struct {
	URL  string
	Text string
}

func (s *site) frame(title string) frame {
	return frame{Title: title, Assets: s.assets}
}

// option is one checkbox, radio button or select option.
type option struct {
	Value   string
	Label   string
	Hint    string
	Checked bool
}

type topicGroup struct {
	Name   string
	Topics []option
}

// choicesView is the preferences part that the sign-up and preferences
// forms share.
type choicesView struct {
	Groups      []topicGroup
	Societies   []option
	Frequencies []option
	Days        []option
	Hours       []option
	Formats     []option
	TimeZone    string
	Zones       []string
	// GuessZone lets the script replace the default zone with the
	// browser's: only on a blank sign-up form, never over a choice.
	GuessZone bool
	// Keywords and Mute are the phrases, one a line, for their text areas.
	Keywords string
	Mute     string
	// MaxPhrases, MinPhraseChars, MaxPhraseChars and MaxPhraseWords are
	// the limits the page states.
	MaxPhrases, MinPhraseChars, MaxPhraseChars, MaxPhraseWords int
}

func newChoicesView(cat Catalog, p subscribers.Preferences) choicesView {
	v := choicesView{TimeZone: p.TimeZone, Zones: commonZones(),
		Keywords: strings.Join(p.Keywords, "\n"), Mute: strings.Join(p.Mute, "\n"),
		MaxPhrases: subscribers.MaxPhrases, MinPhraseChars: subscribers.MinPhraseChars,
		MaxPhraseChars: subscribers.MaxPhraseChars, MaxPhraseWords: subscribers.MaxPhraseWords}
	for _, t := range cat.Topics {
		i := slices.IndexFunc(v.Groups, func(g topicGroup) bool { return g.Name == t.Group })
		if i < 0 {
			v.Groups = append(v.Groups, topicGroup{Name: t.Group})
			i = len(v.Groups) - 1
		}
		v.Groups[i].Topics = append(v.Groups[i].Topics, option{Value: t.ID, Label: t.Name, Hint: t.Description, Checked: slices.Contains(p.Topics, t.ID)})
	}
	for _, soc := range cat.Societies {
		v.Societies = append(v.Societies, option{Value: soc.ID, Label: soc.Name, Checked: slices.Contains(p.Societies, soc.ID)})
	}
	for _, f := range []option{
		{Value: string(subscribers.Instant), Label: "Instant", Hint: "An email soon after news on your topics comes in"},
		{Value: string(subscribers.Daily), Label: "Daily digest"},
		{Value: string(subscribers.Weekly), Label: "Weekly digest"},
	} {
		f.Checked = string(p.Frequency) == f.Value
		v.Frequencies = append(v.Frequencies, f)
	}
	day := p.Day
	if day == "" {
		day = subscribers.Weekdays[0]
	}
	for _, d := range subscribers.Weekdays {
		v.Days = append(v.Days, option{Value: d, Label: upperFirst(d), Checked: d == day})
	}
	for h := range 24 {
		v.Hours = append(v.Hours, option{Value: fmt.Sprint(h), Label: fmt.Sprintf("%02d:00", h), Checked: h == p.Hour})
	}
	for _, f := range []option{
		{Value: string(subscribers.FormatHTML), Label: "HTML with a plain-text copy"},
		{Value: string(subscribers.FormatText), Label: "Plain text only"},
	} {
		f.Checked = string(p.Format) == f.Value
		v.Formats = append(v.Formats, f)
	}
	return v
}

// defaultPreferences are what a blank sign-up form shows.
func defaultPreferences() subscribers.Preferences {
	return subscribers.Preferences{
		Frequency: subscribers.Daily,
		Hour:      subscribers.DefaultHour,
		TimeZone:  subscribers.DefaultTimeZone,
		Format:    subscribers.FormatHTML,
	}
}

// changeLine is one saved change, in the words of the form.
type changeLine struct {
	Field, From, To string
}

// describeChanges turns the service's changes into lines a person reads:
// names for ids, labels for fields.
func describeChanges(cat Catalog, changes []subscribers.Change) []changeLine {
	topicNames := map[string]string{}
	for _, t := range cat.Topics {
		topicNames[t.ID] = t.Name
	}
	societyNames := map[string]string{}
	for _, s := range cat.Societies {
		societyNames[s.ID] = s.Name
	}
	value := func(field, v string) string {
		switch field {
		case "topics":
			return namesFor(v, topicNames)
		case "societies":
			return namesFor(v, societyNames)
		case "day":
			v = upperFirst(v)
		case "format":
			switch subscribers.Format(v) {
			case subscribers.FormatHTML:
				return "HTML with a plain-text copy"
			case subscribers.FormatText:
				return "plain text only"
			}
		}
		if v == "" {
			return "none"
		}
		return v
	}
	lines := make([]changeLine, 0, len(changes))
	for _, c := range changes {
		lines = append(lines, changeLine{Field: fieldLabel(c.Field), From: value(c.Field, c.From), To: value(c.Field, c.To)})
	}
	return lines
}

// namesFor maps a comma-separated list of ids to names; anything else, such
// as "all societies", stays as it is.
func namesFor(list string, names map[string]string) string {
	if list == "" {
		return "none"
	}
	parts := strings.Split(list, ", ")
	for i, id := range parts {
		if name, ok := names[id]; ok {
			parts[i] = name
		}
	}
	return strings.Join(parts, ", ")
}

func fieldLabel(field string) string {
	switch field {
	case "email", "manage_email":
		return "Email address"
	case "topics":
		return "Topics"
	case "societies":
		return "Societies"
	case "frequency":
		return "Frequency"
	case "day":
		return "Day"
	case "hour":
		return "Time of day"
	case "timezone":
		return "Time zone"
	case "format":
		return "Format"
	case "keywords":
		return "Keywords"
	case "mute":
		return "Mute words"
	}
	return upperFirst(field)
}

// maskEmail shows enough of an address to recognise it and not enough to
// learn it from a forwarded link: j***@example.org.
func maskEmail(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return "***"
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "***@" + domain
}

func upperFirst(s string) string {
	first, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(unicode.ToUpper(first)) + s[size:]
}
