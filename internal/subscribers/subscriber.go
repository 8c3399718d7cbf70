// Package subscribers owns the people Radiogram mails: sign-up with double
// opt-in, their preferences, leaving, export and erasure, and the rule that
// an address that left, bounced or complained is never mailed again unless
// it subscribes anew.
package subscribers

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // zones must resolve on Lambda, whose image has no zoneinfo
	"unicode"
	"unicode/utf8"
)

// Frequency is how often a subscriber hears from Radiogram.
type Frequency string

const (
	Instant Frequency = "instant" // an alert soon after matching items are ingested
	Daily   Frequency = "daily"
	Weekly  Frequency = "weekly"
)

// Format is how mail is sent.
type Format string

const (
	FormatHTML Format = "html" // HTML with a plain-text alternative
	FormatText Format = "text" // plain text only
)

// Status is where a subscriber stands.
type Status string

const (
	StatusPending      Status = "pending" // signed up, not yet confirmed
	StatusConfirmed    Status = "confirmed"
	StatusUnsubscribed Status = "unsubscribed"
)

// Preferences are what a subscriber chose.
type Preferences struct {
	Topics    []string  `json:"topics"`
	Societies []string  `json:"societies"` // empty means every society
	Frequency Frequency `json:"frequency"`
	Day       string    `json:"day,omitempty"` // monday..sunday, for weekly
	Hour      int       `json:"hour"`          // local delivery hour, 0-23
	TimeZone  string    `json:"timezone"`      // IANA name
	Format    Format    `json:"format"`
	// Keywords bring an item that matches one into the mail even outside
	// the chosen topics (the chosen societies still apply); an item that
	// matches a Mute phrase is never sent. Both are normalised phrases
	// (NormalizePhrases), at most MaxPhrases each.
	Keywords []string `json:"keywords,omitempty"`
	Mute     []string `json:"mute,omitempty"`
}

// Subscriber is one address and what it receives.
type Subscriber struct {
	ID             string      `json:"id"`
	Email          string      `json:"email"`
	Status         Status      `json:"status"`
	Preferences    Preferences `json:"preferences"`
	CreatedAt      time.Time   `json:"created_at"`
	ConfirmedAt    time.Time   `json:"confirmed_at,omitzero"`
	UpdatedAt      time.Time   `json:"updated_at"`
	UnsubscribedAt time.Time   `json:"unsubscribed_at,omitzero"`
	// ConsentIP is the client address of the sign-up and of the
	// confirmation: the record of consent a regulator may ask for.
	SignupIP  string `json:"signup_ip,omitempty"`
	ConfirmIP string `json:"confirm_ip,omitempty"`
	// NotifiedAt is the time of the last request the subscriber was mailed
	// for (a sign-up, manage or data-link request).
	NotifiedAt time.Time `json:"notified_at,omitzero"`
}

// Defaults for a new sign-up.
const (
	DefaultHour     = 7
	DefaultTimeZone = "UTC"
)

// Weekdays are the accepted values of Preferences.Day, in order.
var Weekdays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// Catalog says which topics and societies exist.
type Catalog interface {
	KnownTopic(id string) bool
	KnownSociety(id string) bool
}

// FieldError is a validation failure a form can show next to its field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Normalize fills defaults, trims and de-duplicates, and validates against
// the catalog.
func (p Preferences) Normalize(c Catalog) (Preferences, error) {
	p.Topics = cleanIDs(p.Topics)
	p.Societies = cleanIDs(p.Societies)
	if len(p.Topics) == 0 {
		return p, fieldErr("topics", "choose at least one topic")
	}
	if len(p.Topics) > 50 || len(p.Societies) > 100 {
		return p, fieldErr("topics", "too many choices")
	}
	for _, t := range p.Topics {
		if !c.KnownTopic(t) {
			return p, fieldErr("topics", "unknown topic %q", t)
		}
	}
	for _, s := range p.Societies {
		if !c.KnownSociety(s) {
			return p, fieldErr("societies", "unknown society %q", s)
		}
	}
	p.Frequency = Frequency(strings.ToLower(strings.TrimSpace(string(p.Frequency))))
	switch p.Frequency {
	case "":
		p.Frequency = Daily
	case Instant, Daily, Weekly:
	default:
		return p, fieldErr("frequency", "must be instant, daily or weekly, not %q", p.Frequency)
	}
	p.Day = strings.ToLower(strings.TrimSpace(p.Day))
	if p.Frequency == Weekly {
		if p.Day == "" {
			p.Day = "monday"
		}
		if !slices.Contains(Weekdays, p.Day) {
			return p, fieldErr("day", "must be a day of the week (monday to sunday), not %q", p.Day)
		}
	} else {
		p.Day = ""
	}
	if p.Hour < 0 || p.Hour > 23 {
		return p, fieldErr("hour", "must be from 0 to 23, not %d", p.Hour)
	}
	p.TimeZone = strings.TrimSpace(p.TimeZone)
	if p.TimeZone == "" {
		p.TimeZone = DefaultTimeZone
	}
	if _, err := LoadLocation(p.TimeZone); err != nil {
		return p, fieldErr("timezone", "unknown time zone %q", p.TimeZone)
	}
	p.Format = Format(strings.ToLower(strings.TrimSpace(string(p.Format))))
	switch p.Format {
	case "":
		p.Format = FormatHTML
	case FormatHTML, FormatText:
	default:
		return p, fieldErr("format", "must be html or text, not %q", p.Format)
	}
	var err error
	if p.Keywords, err = NormalizePhrases("keywords", p.Keywords); err != nil {
		return p, err
	}
	if p.Mute, err = NormalizePhrases("mute", p.Mute); err != nil {
		return p, err
	}
	for _, m := range p.Mute {
		if i := slices.IndexFunc(p.Keywords, func(k string) bool { return strings.EqualFold(k, m) }); i >= 0 {
			return p, fieldErr("mute", "%q is also one of your keywords: a phrase cannot be both followed and muted", m)
		}
	}
	return p, nil
}

// Limits on keyword and mute phrases: enough to steer a digest, few and
// short enough that matching them stays cheap for every subscriber.
const (
	MaxPhrases          = 20
	MinPhraseChars      = 2
	MaxPhraseChars      = 60
	MaxPhraseWords      = 6
	maxPhrasesSubmitted = 100 // blank and repeated ones included
)

// NormalizePhrases validates the keyword or mute phrases of field: each is
// trimmed and its spaces collapsed; blank ones are dropped and repeats
// (ignoring case) kept once, in the order given. A phrase must be 2 to 60
// characters and at most 6 words, hold a letter or digit, and hold no
// control characters, no markup (< or >) and no web address; at most 20
// phrases remain. The error names the phrase and the rule it breaks.
func NormalizePhrases(field string, phrases []string) ([]string, error) {
	if len(phrases) > maxPhrasesSubmitted {
		return nil, fieldErr(field, "at most %d phrases", MaxPhrases)
	}
	var out []string
	for _, raw := range phrases {
		if strings.ContainsFunc(raw, unicode.IsControl) {
			return nil, fieldErr(field, "%q must not contain line breaks, tabs or other control characters", strings.TrimSpace(raw))
		}
		phrase := strings.Join(strings.Fields(raw), " ")
		if phrase == "" {
			continue
		}
		if slices.ContainsFunc(out, func(p string) bool { return strings.EqualFold(p, phrase) }) {
			continue
		}
		if err := checkPhrase(phrase); err != "" {
			return nil, fieldErr(field, "%q %s", phrase, err)
		}
		out = append(out, phrase)
	}
	if len(out) > MaxPhrases {
		return nil, fieldErr(field, "at most %d phrases, not %d", MaxPhrases, len(out))
	}
	return out, nil
}

// checkPhrase says which rule a trimmed phrase breaks, or "".
func checkPhrase(phrase string) string {
	lower := strings.ToLower(phrase)
	switch n := utf8.RuneCountInString(phrase); {
	case n < MinPhraseChars:
		return fmt.Sprintf("is too short: at least %d characters", MinPhraseChars)
	case n > MaxPhraseChars:
		return fmt.Sprintf("is too long: at most %d characters, not %d", MaxPhraseChars, n)
	case len(strings.Fields(phrase)) > MaxPhraseWords:
		return fmt.Sprintf("has too many words: at most %d", MaxPhraseWords)
	case strings.ContainsAny(phrase, "<>"):
		return "must not contain < or >: phrases are plain words, not markup"
	case strings.Contains(lower, "://") || strings.HasPrefix(lower, "www.") || strings.Contains(lower, " www."):
		return "must not be a web address: phrases match words in titles and summaries"
	case !strings.ContainsFunc(phrase, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }):
		return "must contain a letter or a digit"
	}
	return ""
}

// LoadLocation resolves an IANA zone name; "Local" and relative names are
// refused because they mean nothing to a subscriber.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") || len(name) > 64 {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// locations caches the zones LoadLocation found: time.LoadLocation reads
// the zone database on every call, and every recipient of a digest needs
// theirs. Only real IANA names get in, so the cache stays small.
var locations sync.Map

func cleanIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		for part := range strings.SplitSeq(id, ",") {
			if part = strings.ToLower(strings.TrimSpace(part)); part != "" && !slices.Contains(out, part) {
				out = append(out, part)
			}
		}
	}
	slices.Sort(out)
	return out
}

// ErrInvalidEmail is wrapped by NormalizeEmail's errors.
var ErrInvalidEmail = errors.New("invalid email address")

// NormalizeEmail validates an address typed into a form and returns the
// canonical form Radiogram keys it by: a bare addr-spec, lower-cased. It
// refuses display names, comments, control characters (header injection),
// and anything longer than SMTP allows.
func NormalizeEmail(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("%w: an email address is required", ErrInvalidEmail)
	}
	if len(s) > 254 {
		return "", fmt.Errorf("%w: at most 254 characters", ErrInvalidEmail)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return "", fmt.Errorf("%w: it must not contain spaces or line breaks", ErrInvalidEmail)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", fmt.Errorf("%w: %q is not of the form name@example.org", ErrInvalidEmail, s)
	}
	local, domain, _ := strings.Cut(addr.Address, "@")
	// SES has no SMTPUTF8: a non-ASCII local part could never be delivered.
	if len(local) > 64 || strings.HasPrefix(local, "\"") || strings.IndexFunc(local, func(r rune) bool { return r > unicode.MaxASCII }) >= 0 {
		return "", fmt.Errorf("%w: the part before @ is not accepted", ErrInvalidEmail)
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, "[") {
		return "", fmt.Errorf("%w: %q is not a mail domain", ErrInvalidEmail, domain)
	}
	return strings.ToLower(addr.Address), nil
}

// Links are the signed links a subscriber's mail and pages carry; no link
// needs a login, the token in it is the credential.
type Links struct {
	Confirm     string `json:"confirm,omitempty"` // only while pending; expires after 7 days
	Preferences string `json:"preferences"`
	// Unsubscribe opens a page with one button; the same URL takes the
	// RFC 8058 one-click POST that mail clients send.
	Unsubscribe string `json:"unsubscribe"`
	// Export and Erase are set only in the manage mail's links, and expire
	// after an hour: no page or other mail offers them.
	Export string `json:"export,omitempty"`
	Erase  string `json:"erase,omitempty"`
}

// Change is one difference a save made, worded for the person who made it.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Export is everything Radiogram holds about a subscriber.
type Export struct {
	Subscriber  Subscriber   `json:"subscriber"`
	Suppression *Suppression `json:"suppression,omitempty"`
	// Sends is the send log: every digest or alert sent, or tried, to the
	// subscriber, newest first.
	Sends      []Send    `json:"sends"`
	ExportedAt time.Time `json:"exported_at"`
}

// Send is one entry of a subscriber's send log.
type Send struct {
	Period string `json:"period"` // the period the mail covered, and its kind
	Kind   string `json:"kind"`   // digest or alert
	Status string `json:"status"` // sent, failed, skipped, or sending
	// SentAt is when the send was last recorded: when it was sent, or
	// found failed or skipped.
	SentAt    time.Time `json:"sent_at,omitzero"`
	MessageID string    `json:"message_id,omitempty"` // SES's id of the mail
}

// Reason says why an address is suppressed.
type Reason string

const (
	ReasonUnsubscribed Reason = "unsubscribed"
	ReasonErased       Reason = "erased"
	ReasonBounced      Reason = "bounced"
	ReasonComplained   Reason = "complained"
)

// Suppression records that an address must not be mailed. It is keyed by a
// hash of the address so that an erased subscriber leaves no address behind.
type Suppression struct {
	EmailHash string    `json:"email_hash"`
	Reason    Reason    `json:"reason"`
	At        time.Time `json:"at"`
}

// Lifted reports whether subscribing anew (and confirming) lifts the
// suppression: leaving does; a bounce or a complaint does not.
func (s Suppression) Lifted() bool {
	return s.Reason == ReasonUnsubscribed || s.Reason == ReasonErased
}
