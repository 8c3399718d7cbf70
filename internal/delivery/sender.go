package delivery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// Renderer turns a job's items into a mail template: the expensive
// rendering happens once per job, not once per recipient.
type Renderer interface {
	Compile(ctx context.Context, job Job, items []items.Item) (Template, error)
}

// Template makes one recipient's mail.
type Template interface {
	Fill(ctx context.Context, sub subscribers.Subscriber, since, until time.Time) (email.Message, error)
}

// Limiter paces sends to the configured SES rate.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Sender mails queued jobs. Its fields are set once at start-up.
type Sender struct {
	Subscribers  SubscriberIndex
	Items        ItemReader
	Suppressions SuppressionChecker
	Hasher       subscribers.AddressHasher // keys addresses in Suppressions
	Ledger       Ledger
	Renderer     Renderer
	Mail         email.Sender
	Limiter      Limiter
	// Retryable reports whether a send error is worth retrying at once
	// (throttling, a 5xx, a timeout).
	Retryable func(error) bool
	// Lease is how long a claim holds off other senders; after it a crashed
	// sender's claim may be taken over.
	Lease time.Duration
}

// sendAttempts bounds the immediate retries of one throttled mail; past
// them the job fails and SQS redelivers it later.
const sendAttempts = 4

// Send mails one job to each of its recipients who is still subscribed,
// exactly once each. It fails if any recipient's mail failed; a retry then
// skips those the ledger records as done.
func (s *Sender) Send(ctx context.Context, job Job) error {
	if len(job.Recipients) == 0 {
		return nil
	}
	ids := make([]string, len(job.Recipients))
	for i, r := range job.Recipients {
		ids[i] = r.SubscriberID
	}
	subs, err := s.Subscribers.GetMany(ctx, ids)
	if err != nil {
		return fmt.Errorf("read recipients: %w", err)
	}
	// Each address is hashed once (an HMAC), for the lookup and the check.
	hashOf := make(map[string]string, len(subs))
	hashes := make([]string, 0, len(subs))
	for id, c := range subs {
		h := s.Hasher.HashEmail(c.Subscriber.Email)
		hashOf[id] = h
		hashes = append(hashes, h)
	}
	suppressed, err := s.Suppressions.Suppressed(ctx, hashes)
	if err != nil {
		return fmt.Errorf("check suppressions: %w", err)
	}

	var tmpl Template // compiled on first need: a fully done retry renders nothing
	var failures []error
	period := PeriodKey(job.Kind, job.Until)
	for _, r := range job.Recipients {
		c, ok := subs[r.SubscriberID]
		entry := Entry{SubscriberID: r.SubscriberID, Period: period, RunID: job.RunID, Kind: job.Kind, ItemCount: len(job.ItemKeys)}
		reason := suppressed[hashOf[r.SubscriberID]]
		switch {
		case !ok:
			entry.Status, entry.Reason = LedgerSkipped, "erased"
		case c.Subscriber.Status != subscribers.StatusConfirmed:
			entry.Status, entry.Reason = LedgerSkipped, SkipUnsubscribed
		case reason != "":
			entry.Status, entry.Reason = LedgerSkipped, SkipSuppressed+" ("+string(reason)+")"
		}
		if entry.Status == LedgerSkipped {
			// One write records it; a skip already recorded stays as it was.
			if _, _, err := s.Ledger.Claim(ctx, entry, s.Lease); err != nil {
				failures = append(failures, err)
			}
			continue
		}
		if tmpl == nil {
			if tmpl, err = s.compile(ctx, job); err != nil {
				return err
			}
		}
		if err := s.sendOne(ctx, job, r, c.Subscriber, entry, tmpl); err != nil {
			failures = append(failures, fmt.Errorf("subscriber %s: %w", r.SubscriberID, err))
		}
	}
	return errors.Join(failures...)
}

func (s *Sender) compile(ctx context.Context, job Job) (Template, error) {
	list, err := s.Items.GetMany(ctx, job.ItemKeys)
	if err != nil {
		return nil, fmt.Errorf("read items: %w", err)
	}
	tmpl, err := s.Renderer.Compile(ctx, job, list)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return tmpl, nil
}

// sendOne claims the send in the ledger, mails, and records the outcome.
func (s *Sender) sendOne(ctx context.Context, job Job, r Recipient, sub subscribers.Subscriber, entry Entry, tmpl Template) error {
	entry.Status = LedgerSending
	claimed, current, err := s.Ledger.Claim(ctx, entry, s.Lease)
	if err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	if !claimed {
		if current.Status == LedgerSending {
			return errors.New("another sender holds this send; retrying later")
		}
		// Done before, by this job's earlier delivery or a duplicate of it:
		// only make sure the watermark followed (it may not have, if that
		// sender stopped between the two writes).
		return s.Subscribers.RecordSent(ctx, sub.ID, job.Until, nextSlot(sub, job.Until))
	}
	msg, err := tmpl.Fill(ctx, sub, r.Since, job.Until)
	if err != nil {
		entry.Status, entry.Reason = LedgerFailed, "render: "+err.Error()
		return errors.Join(fmt.Errorf("fill: %w", err), s.Ledger.Finish(ctx, entry))
	}
	id, err := s.deliver(ctx, msg)
	if err != nil {
		entry.Status, entry.Reason = LedgerFailed, err.Error()
		return errors.Join(err, s.Ledger.Finish(ctx, entry))
	}
	entry.Status, entry.MessageID, entry.Reason = LedgerSent, id, ""
	if err := s.Ledger.Finish(ctx, entry); err != nil {
		// The mail is out; the claim stays "sending" and a retry will not
		// send again until the lease expires.
		return fmt.Errorf("record sent mail %s: %w", id, err)
	}
	return s.Subscribers.RecordSent(ctx, sub.ID, job.Until, nextSlot(sub, job.Until))
}

// deliver sends at the configured rate, retrying throttling and transient
// errors with exponential backoff and full jitter.
func (s *Sender) deliver(ctx context.Context, msg email.Message) (string, error) {
	var err error
	for attempt := range sendAttempts {
		if attempt > 0 {
			wait := rand.N(time.Duration(100<<attempt) * time.Millisecond)
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(wait):
			}
		}
		if s.Limiter != nil {
			if err := s.Limiter.Wait(ctx); err != nil {
				return "", err
			}
		}
		var id string
		if id, err = s.Mail.Send(ctx, msg); err == nil {
			return id, nil
		}
		if s.Retryable == nil || !s.Retryable(err) {
			return "", err
		}
	}
	return "", fmt.Errorf("gave up after %d attempts: %w", sendAttempts, err)
}
