package delivery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/metrics"
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
	// Limiter paces this instance at its share of the account's SES rate
	// (InstanceRate).
	Limiter Limiter
	// Classify says what a send error means (nil: every error is
	// permanent): retry the mail, back off, or pause all sending.
	Classify func(error) SendFailure
	// Lease is how long a claim holds off other senders; after it a crashed
	// sender's claim may be taken over.
	Lease time.Duration

	// Pauses records and reads the sending pause a used-up daily quota
	// starts (optional: without it a used-up quota only fails the job).
	Pauses PauseStore
	// Quota reads the account's daily quota, to tell when it is expected
	// back (optional: an hour without it).
	Quota QuotaReader
	// Rate is this instance's share of the account's rate, in mails per
	// second: it sizes the margin kept before an invocation's deadline.
	Rate float64
	// AccountRate is the account's maximum send rate, reported with each
	// invocation's metrics.
	AccountRate float64
	// Metrics receives each invocation's counts (nil: none).
	Metrics *metrics.Emitter
	Now     func() time.Time
}

// sendAttempts bounds the immediate retries of one throttled mail; past
// them the job fails and SQS redelivers it later.
const sendAttempts = 4

// Send mails one job to each of its recipients who is still subscribed,
// exactly once each. It fails if any recipient's mail failed; a retry then
// skips those the ledger records as done. Within an invocation (Begin), it
// starts no mail past the invocation's margin before its deadline, and
// stops the job at once when SES keeps throttling or the daily quota runs
// out: the error then says so (Halts), and the unsent recipients are left
// for the job's redelivery.
func (s *Sender) Send(ctx context.Context, job Job) error {
	if len(job.Recipients) == 0 {
		return nil
	}
	inv := invocationOf(ctx)
	if inv == nil { // a call outside an invocation still keeps its deadline
		inv = s.newInvocation(ctx)
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
	for i, r := range job.Recipients {
		// Checked before the claim: a mail started is a mail finished and
		// recorded, within the margin.
		if err := inv.proceed(ctx, s.now()); err != nil {
			failures = append(failures, fmt.Errorf("%d of %d recipients left for the redelivery: %w", len(job.Recipients)-i, len(job.Recipients), err))
			break
		}
		c, ok := subs[r.SubscriberID]
		entry := Entry{SubscriberID: r.SubscriberID, Period: period, RunID: job.RunID, Kind: job.Kind, ItemCount: len(job.ItemKeys)}
		reason := suppressed[hashOf[r.SubscriberID]]
		switch {
		case !ok:
			entry.Status, entry.Reason = LedgerSkipped, SkipErased
		case c.Subscriber.Status != subscribers.StatusConfirmed:
			entry.Status, entry.Reason = LedgerSkipped, SkipUnsubscribed
		case reason != "":
			entry.Status, entry.Reason = LedgerSkipped, SkipSuppressed+" ("+string(reason)+")"
		}
		if entry.Status == LedgerSkipped {
			// One write records it; a skip already recorded stays as it was.
			if _, _, err := s.Ledger.Claim(ctx, entry, s.Lease); err != nil {
				failures = append(failures, err)
				continue
			}
			inv.skip(entry.Reason)
			continue
		}
		if tmpl == nil {
			if tmpl, err = s.compile(ctx, job); err != nil {
				return errors.Join(append(failures, err)...)
			}
		}
		if err := s.sendOne(ctx, inv, job, r, c.Subscriber, entry, tmpl); err != nil {
			failures = append(failures, fmt.Errorf("subscriber %s: %w", r.SubscriberID, err))
			if Halts(err) || ctx.Err() != nil {
				// SES keeps throttling, the quota is gone, or the
				// invocation is cut short: the rest of the job would fail
				// the same way.
				if left := len(job.Recipients) - i - 1; left > 0 {
					failures = append(failures, fmt.Errorf("%d of %d recipients left for the redelivery", left, len(job.Recipients)))
				}
				break
			}
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
// Once claimed, the outcome is recorded even if ctx is cancelled meanwhile
// (an invocation cut short): a mail SES accepted must not be left
// "sending", or a redelivery after the lease would mail it again.
func (s *Sender) sendOne(ctx context.Context, inv *invocation, job Job, r Recipient, sub subscribers.Subscriber, entry Entry, tmpl Template) error {
	entry.Status = LedgerSending
	claimed, current, err := s.Ledger.Claim(ctx, entry, s.Lease)
	if err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	record, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if !claimed {
		if current.Status == LedgerSending {
			return errors.New("another sender holds this send; retrying later")
		}
		// Done before, by this job's earlier delivery or a duplicate of it:
		// only make sure the watermark followed (it may not have, if that
		// sender stopped between the two writes).
		inv.skip(SkipAlreadySent)
		return s.Subscribers.RecordSent(record, sub.ID, job.Until, nextSlot(sub, job.Until))
	}
	msg, err := tmpl.Fill(ctx, sub, r.Since, job.Until)
	if err != nil {
		inv.failed++
		entry.Status, entry.Reason = LedgerFailed, "render: "+err.Error()
		return errors.Join(fmt.Errorf("fill: %w", err), s.Ledger.Finish(record, entry))
	}
	id, err := s.deliver(ctx, msg)
	if err != nil {
		inv.failed++
		entry.Status, entry.Reason = LedgerFailed, err.Error()
		return errors.Join(err, s.Ledger.Finish(record, entry))
	}
	inv.sent++
	entry.Status, entry.MessageID, entry.Reason = LedgerSent, id, ""
	if err := s.Ledger.Finish(record, entry); err != nil {
		// The mail is out; the claim stays "sending" and a retry will not
		// send again until the lease expires.
		return fmt.Errorf("record sent mail %s: %w", id, err)
	}
	return s.Subscribers.RecordSent(record, sub.ID, job.Until, nextSlot(sub, job.Until))
}

// recordTimeout bounds the ledger writes after a mail, which outlive a
// cancelled invocation.
const recordTimeout = 10 * time.Second

// deliver sends at the configured rate, retrying throttling and transient
// errors with exponential backoff and full jitter. Throttling that outlasts
// the attempts fails with ErrThrottled; a used-up daily quota pauses all
// sending and fails with a *PausedError.
func (s *Sender) deliver(ctx context.Context, msg email.Message) (string, error) {
	var err error
	throttled := false
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
		switch s.classify(err) {
		case FailQuota:
			return "", s.pause(ctx, err)
		case FailThrottled:
			throttled = true
		case FailTransient:
			throttled = false
		default:
			return "", err
		}
	}
	if throttled {
		return "", fmt.Errorf("gave up after %d attempts: %w (%w)", sendAttempts, err, ErrThrottled)
	}
	return "", fmt.Errorf("gave up after %d attempts: %w", sendAttempts, err)
}

func (s *Sender) classify(err error) SendFailure {
	if s.Classify == nil {
		return FailPermanent
	}
	return s.Classify(err)
}

func (s *Sender) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
