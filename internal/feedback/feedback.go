// Package feedback owns what Radiogram learns back from the mail system:
// bounces and complaints, verified, turned into suppressions so that an
// address that bounced or complained is never mailed again.
//
// SES publishes its events from the configuration set's event destination
// to an SNS topic, SNS delivers each, signed, to an SQS queue, and the
// feedback function consumes the queue; a Processor checks each message's
// signature before it believes a word of it.
package feedback

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/subscribers"
)

// Suppressor records suppressions (implemented by the DynamoDB adapter;
// subscribers.Suppression is the record).
type Suppressor interface {
	Put(ctx context.Context, s subscribers.Suppression) error
}

// TransientCounter counts transient bounces of an address (by hash) within
// a window and returns the new count. SNS and SQS deliver at least once, and
// a record that failed is received again, so the same bounce can arrive
// twice: an implementation should count a repeated (emailHash, at) once.
type TransientCounter interface {
	AddTransient(ctx context.Context, emailHash string, at time.Time, window time.Duration) (int, error)
}

// SendLog records what became of a sent message.
type SendLog interface {
	RecordFeedback(ctx context.Context, messageID string, e Event) error
}

// Defaults of the transient-bounce rule: a mailbox that is full or a server
// that is down for a while is not a dead address, but one that keeps
// failing is.
const (
	DefaultTransientThreshold = 3
	DefaultTransientWindow    = 30 * 24 * time.Hour
)

// ErrTopic is returned for a genuine SNS message from a topic that is not
// one of Processor.TopicARNs: anyone can sign messages with SNS by
// publishing to a topic of their own.
var ErrTopic = fmt.Errorf("%w: topic not accepted", ErrUntrusted)

// ErrSubscribeURL is returned for a subscription confirmation whose
// SubscribeURL is not an Amazon SNS https URL.
var ErrSubscribeURL = fmt.Errorf("%w: subscribe URL is not Amazon SNS", ErrUntrusted)

// Processor turns SNS messages carrying SES events into suppressions.
type Processor struct {
	Verifier     *Verifier // required: nothing is believed unverified
	Suppressions Suppressor
	Transients   TransientCounter
	Hasher       subscribers.AddressHasher // keys addresses in both
	SendLog      SendLog                   // may be nil
	// TransientThreshold is how many transient bounces within
	// TransientWindow suppress an address; zero means the defaults.
	TransientThreshold int
	TransientWindow    time.Duration
	// TopicARNs, if not empty, are the only topics accepted. The feedback
	// queue's policy lets only the feedback topic send to it, and this
	// holds even were that policy loosened; an HTTP endpoint needs it,
	// since any AWS account can subscribe it to theirs.
	TopicARNs []string
	Log       *slog.Logger
	// ConfirmSubscription is called with a verified SubscriptionConfirmation's
	// SubscribeURL, only when that URL is Amazon SNS over https; nil means
	// log only. SNS confirms a subscription of a queue in the topic's own
	// account itself, but a consumer must be safe against one.
	ConfirmSubscription func(ctx context.Context, subscribeURL string) error
}

// Handle processes one SNS message: verify, parse, act. A permanent bounce
// or a complaint suppresses each recipient at once; a transient bounce
// counts, and suppresses when the count reaches the threshold; every event
// with a message id goes to the SendLog. A message that cannot be verified
// returns an error wrapping ErrUntrusted and changes nothing.
func (p *Processor) Handle(ctx context.Context, m Message) error {
	if p.Verifier == nil {
		return errors.New("feedback: processor has no verifier")
	}
	// The topic is checked first, on the message's word: a message from a
	// topic not accepted is refused whatever its signature, so a stranger
	// cannot make us fetch certificates. One that passes is then verified,
	// and the signature covers TopicArn, so the check holds.
	if len(p.TopicARNs) > 0 && !slices.Contains(p.TopicARNs, m.TopicArn) {
		return fmt.Errorf("message %s from %s: %w", m.MessageId, m.TopicArn, ErrTopic)
	}
	if err := p.Verifier.Verify(ctx, m); err != nil {
		return fmt.Errorf("verify SNS message: %w", err)
	}
	switch m.Type {
	case TypeSubscriptionConfirmation:
		return p.confirm(ctx, m)
	case TypeUnsubscribeConfirmation:
		p.log().WarnContext(ctx, "SNS subscription ended", "topic", m.TopicArn)
		return nil
	}
	e, err := ParseSESEvent(m.Message)
	if err != nil {
		return fmt.Errorf("message %s: %w", m.MessageId, err)
	}
	return p.act(ctx, e)
}

func (p *Processor) confirm(ctx context.Context, m Message) error {
	if !p.Verifier.trustedURL(m.SubscribeURL) {
		return fmt.Errorf("subscription to %s: %w", m.TopicArn, ErrSubscribeURL)
	}
	if p.ConfirmSubscription == nil {
		p.log().WarnContext(ctx, "SNS subscription confirmation received, not confirmed", "topic", m.TopicArn)
		return nil
	}
	if err := p.ConfirmSubscription(ctx, m.SubscribeURL); err != nil {
		return fmt.Errorf("confirm subscription to %s: %w", m.TopicArn, err)
	}
	p.log().InfoContext(ctx, "SNS subscription confirmed", "topic", m.TopicArn)
	return nil
}

// act applies one event. It goes on after a failed recipient, so that one
// store error does not leave the others mailable, and reports all failures.
func (p *Processor) act(ctx context.Context, e Event) error {
	at := e.At
	if at.IsZero() {
		at = p.Verifier.now().UTC()
	}
	var errs []error
	for _, addr := range e.Recipients {
		var err error
		switch e.Kind {
		case KindPermanentBounce:
			err = p.suppress(ctx, addr, subscribers.ReasonBounced, at, e)
		case KindComplaint:
			err = p.suppress(ctx, addr, subscribers.ReasonComplained, at, e)
		case KindTransientBounce:
			err = p.countTransient(ctx, addr, at, e)
		}
		errs = append(errs, err)
	}
	if !e.Kind.isBounceOrComplaint() {
		p.log().DebugContext(ctx, "SES event", "kind", e.Kind, "message_id", e.MessageID, "detail", e.Detail)
	}
	if p.SendLog != nil && e.MessageID != "" {
		if err := p.SendLog.RecordFeedback(ctx, e.MessageID, e); err != nil {
			errs = append(errs, fmt.Errorf("record %s of message %s: %w", e.Kind, e.MessageID, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Processor) suppress(ctx context.Context, addr string, reason subscribers.Reason, at time.Time, e Event) error {
	hash := p.Hasher.HashEmail(addr)
	if err := p.Suppressions.Put(ctx, subscribers.Suppression{EmailHash: hash, Reason: reason, At: at}); err != nil {
		return fmt.Errorf("suppress %s address %s: %w", reason, hash, err)
	}
	p.log().InfoContext(ctx, "address suppressed", "reason", reason, "email_hash", hash,
		"domain", domainOf(addr), "message_id", e.MessageID, "detail", e.Detail)
	return nil
}

func (p *Processor) countTransient(ctx context.Context, addr string, at time.Time, e Event) error {
	hash := p.Hasher.HashEmail(addr)
	window := cmp.Or(p.TransientWindow, DefaultTransientWindow)
	threshold := cmp.Or(p.TransientThreshold, DefaultTransientThreshold)
	n, err := p.Transients.AddTransient(ctx, hash, at, window)
	if err != nil {
		return fmt.Errorf("count transient bounce of %s: %w", hash, err)
	}
	p.log().InfoContext(ctx, "transient bounce", "email_hash", hash, "domain", domainOf(addr),
		"count", n, "threshold", threshold, "message_id", e.MessageID, "detail", e.Detail)
	if n < threshold {
		return nil
	}
	return p.suppress(ctx, addr, subscribers.ReasonBounced, at, e)
}

// SNSTimestampLayout is how SNS writes a Message's Timestamp, always with
// milliseconds. The signature covers that text, so a Timestamp rebuilt from
// a parsed time must be written back exactly so.
const SNSTimestampLayout = "2006-01-02T15:04:05.000Z"

func domainOf(addr string) string {
	_, domain, _ := strings.Cut(addr, "@")
	return domain
}

func (p *Processor) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}
