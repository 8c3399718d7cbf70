package feedback

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind is what an SES event says became of a message.
type Kind string

const (
	KindPermanentBounce Kind = "bounce-permanent"
	KindTransientBounce Kind = "bounce-transient" // also SES's "Undetermined"
	KindComplaint       Kind = "complaint"
	KindDelivery        Kind = "delivery"
	KindSend            Kind = "send"
	KindReject          Kind = "reject"
	KindOther           Kind = "other" // opens, clicks, delays, SES's test notification...
)

// isBounceOrComplaint reports whether k speaks of its recipients' addresses
// themselves, which is what Processor acts on.
func (k Kind) isBounceOrComplaint() bool {
	return k == KindPermanentBounce || k == KindTransientBounce || k == KindComplaint
}

// Event is the part of an SES event Radiogram acts on.
type Event struct {
	Kind      Kind
	MessageID string // SES's message id
	// Recipients are bare addresses, lower-cased: the bounced or
	// complaining ones for a bounce or complaint, else those the message
	// was for.
	Recipients []string
	At         time.Time
	// Detail is short and safe to log: bounce type and diagnostic,
	// complaint feedback type, SMTP response, reject reason. Addresses in
	// it are reduced to their domain.
	Detail string
	Tags   map[string][]string
}

// sesRecord covers both shapes SES publishes: event publishing from a
// configuration set ("eventType") and identity notifications
// ("notificationType"). Their objects are alike.
type sesRecord struct {
	EventType        string `json:"eventType"`
	NotificationType string `json:"notificationType"`
	Mail             struct {
		Timestamp   string              `json:"timestamp"`
		MessageID   string              `json:"messageId"`
		Destination []string            `json:"destination"`
		Tags        map[string][]string `json:"tags"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string `json:"bounceType"`
		BounceSubType     string `json:"bounceSubType"`
		Timestamp         string `json:"timestamp"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		Timestamp             string `json:"timestamp"`
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
		ComplaintSubType      string `json:"complaintSubType"`
		ComplainedRecipients  []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Delivery *struct {
		Timestamp    string   `json:"timestamp"`
		Recipients   []string `json:"recipients"`
		SMTPResponse string   `json:"smtpResponse"`
	} `json:"delivery"`
	Reject *struct {
		Reason string `json:"reason"`
	} `json:"reject"`
}

// ParseSESEvent reads the JSON SES publishes to SNS, in either of its
// formats. An event type Radiogram does not act on is KindOther, not an
// error; a bounce or complaint that names no recipient is an error.
func ParseSESEvent(body string) (Event, error) {
	var r sesRecord
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return Event{}, fmt.Errorf("parse SES event: %w", err)
	}
	typ := cmp.Or(r.EventType, r.NotificationType)
	if typ == "" {
		return Event{}, errors.New("parse SES event: neither eventType nor notificationType")
	}
	e := Event{
		MessageID: r.Mail.MessageID,
		At:        parseTime(r.Mail.Timestamp),
		Tags:      r.Mail.Tags,
	}
	destination := addresses(r.Mail.Destination)
	switch {
	case typ == "Bounce" && r.Bounce != nil:
		b := r.Bounce
		e.Kind = KindTransientBounce
		if b.BounceType == "Permanent" {
			e.Kind = KindPermanentBounce
		}
		var raw []string
		for _, rcpt := range b.BouncedRecipients {
			raw = append(raw, rcpt.EmailAddress)
		}
		e.Recipients = addresses(raw)
		e.At = knownOr(parseTime(b.Timestamp), e.At)
		detail := strings.Trim(b.BounceType+"/"+b.BounceSubType, "/")
		if len(b.BouncedRecipients) > 0 {
			first := b.BouncedRecipients[0]
			detail = strings.Join(nonEmpty(detail, first.Status, first.DiagnosticCode), " ")
		}
		e.Detail = safeDetail(detail)
	case typ == "Complaint" && r.Complaint != nil:
		c := r.Complaint
		e.Kind = KindComplaint
		var raw []string
		for _, rcpt := range c.ComplainedRecipients {
			raw = append(raw, rcpt.EmailAddress)
		}
		e.Recipients = addresses(raw)
		e.At = knownOr(parseTime(c.Timestamp), e.At)
		e.Detail = safeDetail(strings.Join(nonEmpty(c.ComplaintFeedbackType, c.ComplaintSubType), "/"))
	case typ == "Delivery" && r.Delivery != nil:
		d := r.Delivery
		e.Kind = KindDelivery
		e.Recipients = orElse(addresses(d.Recipients), destination)
		e.At = knownOr(parseTime(d.Timestamp), e.At)
		e.Detail = safeDetail(d.SMTPResponse)
	case typ == "Bounce" || typ == "Complaint" || typ == "Delivery":
		return Event{}, fmt.Errorf("parse SES event: %s without its %s object", typ, strings.ToLower(typ))
	case typ == "Send":
		e.Kind = KindSend
		e.Recipients = destination
	case typ == "Reject":
		e.Kind = KindReject
		e.Recipients = destination
		if r.Reject != nil {
			e.Detail = safeDetail(r.Reject.Reason)
		}
	default:
		e.Kind = KindOther
		e.Recipients = destination
		e.Detail = safeDetail(typ)
	}
	if e.Kind.isBounceOrComplaint() && len(e.Recipients) == 0 {
		return Event{}, fmt.Errorf("parse SES event: %s of message %s names no recipient", e.Kind, e.MessageID)
	}
	return e, nil
}

// addresses reduces each entry to a bare lower-case address, dropping
// blanks and repeats; SES sometimes keeps a display name.
func addresses(raw []string) []string {
	var out []string
	for _, s := range raw {
		s = strings.TrimSpace(s)
		if a, err := mail.ParseAddress(s); err == nil {
			s = a.Address
		}
		if s = strings.ToLower(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// knownOr returns t, or fallback when t is unknown.
func knownOr(t, fallback time.Time) time.Time {
	if t.IsZero() {
		return fallback
	}
	return t
}

func orElse(a, fallback []string) []string {
	if len(a) > 0 {
		return a
	}
	return fallback
}

func nonEmpty(parts ...string) []string {
	return slices.DeleteFunc(parts, func(s string) bool { return strings.TrimSpace(s) == "" })
}

// maxDetail keeps a diagnostic to what a log line can carry.
const maxDetail = 200

// localPart matches the part of an address before "@": remote servers
// often quote the rejected address in their diagnostic.
var localPart = regexp.MustCompile(`[^\s<>()\[\],;:"'@]+@`)

// safeDetail removes local parts of addresses, folds whitespace and line
// breaks, and shortens s so that it can be logged and stored.
func safeDetail(s string) string {
	s = localPart.ReplaceAllString(s, "*@")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxDetail {
		return s
	}
	cut := maxDetail
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
