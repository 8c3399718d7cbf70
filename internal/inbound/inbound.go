// Package inbound owns the mail Radiogram receives: a mail to the inbound
// unsubscribe address, the List-Unsubscribe mailto of every digest and
// alert, unsubscribes its sender when its subject carries the sender's own
// signed unsubscribe token ("unsubscribe <token>", as the mailto sets it).
// Anything else is logged and dropped: a mail is never worth a retry, and
// nothing answers it (an answer to a forged sender would be backscatter).
package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/mail"
	"slices"
	"strings"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// Mail is what SES tells of a received mail (its Lambda action's event):
// the headers SES parsed and its verdicts. The body never reaches us.
type Mail struct {
	MessageID string   // SES's id of the received mail, for the logs
	From      []string // the From header's addresses, as written
	Subject   string   // as written; RFC 2047 encoded-words are decoded here
	// Recipients are the envelope recipients the receipt rule matched.
	Recipients []string
	// Verdicts are SES's "PASS", "FAIL", "GRAY" or "PROCESSING_FAILED"
	// by check: "spam", "virus", "spf", "dkim", "dmarc".
	Verdicts map[string]string
}

// Unsubscriber unsubscribes the holder of an unsubscribe token when the
// mail comes from their address (*subscribers.Service).
type Unsubscriber interface {
	UnsubscribeByMail(ctx context.Context, sender, token string) error
}

// Outcome is what became of one mail.
type Outcome string

// The outcomes of Handle.
const (
	Unsubscribed Outcome = "unsubscribed"
	Ignored      Outcome = "ignored"
)

// Processor handles the mails SES received for the unsubscribe address.
type Processor struct {
	Unsubscriber Unsubscriber
	// Address is the inbound unsubscribe address; a mail to other
	// recipients only is ignored. "" accepts any recipient the receipt
	// rule matched.
	Address string
	Log     *slog.Logger
}

// Handle unsubscribes m's sender if m asks for it with the sender's own
// token. It returns Ignored, and no error, for every mail that does not
// qualify; an error is a failure to unsubscribe (a store error), which is
// worth a retry.
func (p *Processor) Handle(ctx context.Context, m Mail) (Outcome, error) {
	sender, token, reason := p.request(m)
	if reason != "" {
		p.Log.InfoContext(ctx, "inbound mail ignored", "message", m.MessageID, "reason", reason)
		return Ignored, nil
	}
	err := p.Unsubscriber.UnsubscribeByMail(ctx, sender, token)
	switch {
	case err == nil:
		p.Log.InfoContext(ctx, "unsubscribed by mail", "message", m.MessageID)
		return Unsubscribed, nil
	case errors.Is(err, subscribers.ErrInvalidToken), errors.Is(err, subscribers.ErrExpiredToken),
		errors.Is(err, subscribers.ErrNotFound), errors.Is(err, subscribers.ErrNotTheSubscriber):
		p.Log.InfoContext(ctx, "inbound mail ignored", "message", m.MessageID, "reason", err.Error())
		return Ignored, nil
	default:
		return "", fmt.Errorf("unsubscribe by mail %s: %w", m.MessageID, err)
	}
}

// request returns the sender and token of an unsubscribe request, or why
// m is none. The reasons name no address: logs keep none.
func (p *Processor) request(m Mail) (sender, token, reason string) {
	for _, check := range []string{"spam", "virus", "dmarc"} {
		if m.Verdicts[check] == "FAIL" {
			return "", "", "SES's " + check + " check failed"
		}
	}
	if p.Address != "" && !slices.ContainsFunc(m.Recipients, func(r string) bool { return strings.EqualFold(r, p.Address) }) {
		return "", "", "not addressed to the unsubscribe address"
	}
	if len(m.From) != 1 {
		return "", "", fmt.Sprintf("%d From addresses, want one", len(m.From))
	}
	from, err := mail.ParseAddress(m.From[0])
	if err != nil {
		return "", "", "the From address does not parse"
	}
	if token = Token(m.Subject); token == "" {
		return "", "", "no unsubscribe token in the subject"
	}
	return from.Address, token, ""
}

// maxToken bounds what is taken for a token; tokens.Verify refuses
// anything longer than it anyway.
const maxToken = 1024

// Token returns the token of an unsubscribe subject: the word after the
// first "unsubscribe" (in any case), as email.UnsubscribeMailto writes it.
// Mail clients may prefix "Re:" or "Fwd:", or encode the subject; ""
// means there is none.
func Token(subject string) string {
	if decoded, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = decoded
	}
	words := strings.Fields(subject)
	for i, w := range words {
		if strings.EqualFold(w, email.UnsubscribeSubject) && i+1 < len(words) {
			if t := words[i+1]; len(t) <= maxToken && isTokenText(t) {
				return t
			}
			return ""
		}
	}
	return ""
}

// isTokenText reports whether s uses only the characters of a token.
func isTokenText(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' && r != '-' && r != '.'
	})
}
