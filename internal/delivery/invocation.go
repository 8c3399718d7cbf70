package delivery

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/radiogram/radiogram/internal/metrics"
)

// One SES rate for the account: SES limits the whole account to a maximum
// send rate, shared by every sender instance and by the API's own mails.
// Each instance paces itself at InstanceRate: the account's rate (lowered,
// never raised, by a configured cap) divided by the most instances that can
// run at once (the SQS event source's maximum concurrency), less a slice
// left for the API. A static share needs no shared state and no extra call
// per mail; it wastes rate only while fewer instances run than may, which
// is when there is little to send (SQS scales the sender up to its maximum
// while a backlog waits). A shared token bucket in DynamoDB would use the
// whole rate with one instance, at the price of a conditional write per
// mail or per token batch and a hot key at 14+ writes per second.

// apiShare is the slice of the account's rate left to mails sent outside
// the sender: the API's admin previews and test sends. (Sign-up, manage
// and data-link mails are sent by the sender, through the same limiter.)
const apiShare = 0.05

// InstanceRate is the send rate of one sender instance, in mails per
// second: the account's maximum rate, or the configured cap when that is
// lower (a cap never raises it), times the part the sender keeps, divided
// by the most instances that can run at once. An account rate of 0 means
// unknown: the cap alone counts. It returns 0 when neither is known.
func InstanceRate(account, limit float64, senders int) float64 {
	r := account
	if limit > 0 && (r <= 0 || limit < r) {
		r = limit
	}
	if r <= 0 {
		return 0
	}
	return r * (1 - apiShare) / float64(max(senders, 1))
}

// NewRateLimiter paces one instance at perSecond mails a second (no limit
// for 0). It lets 20 ms worth of mails through at once, at least one: a
// timer that wakes late would otherwise lose the time it overslept on
// every mail (at 500 mails/s a tenth of the rate), and 20 ms is well
// within the second SES measures its rate over.
func NewRateLimiter(perSecond float64) *rate.Limiter {
	if perSecond <= 0 {
		return rate.NewLimiter(rate.Inf, 1)
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(1, int(math.Ceil(perSecond/50))))
}

// SendFailure is what a failed send means for the mails after it.
type SendFailure int

const (
	// FailPermanent: this mail failed (a rejected address, a bad
	// message); the others go on.
	FailPermanent SendFailure = iota
	// FailTransient: retry this mail after a short backoff (a 5xx, a
	// timeout).
	FailTransient
	// FailThrottled: SES asks the account to slow down. Back off; if it
	// persists, the job goes back to the queue for later.
	FailThrottled
	// FailQuota: the account's 24-hour quota is used up: pause all sending
	// until it is expected back.
	FailQuota
)

// Errors that end an invocation's sending early (Halts): the records left
// go back to the queue unsent, and the ledger keeps their redelivery from
// mailing anyone twice.
var (
	ErrPaused    = errors.New("sending is paused: the account's daily SES quota is used up")
	ErrThrottled = errors.New("SES kept throttling")
	ErrDeadline  = errors.New("stopped before the invocation's deadline")
)

// PausedError says until when sending is paused.
type PausedError struct {
	Until time.Time
	Cause error // the SES refusal that started the pause; nil for one found recorded
}

func (e *PausedError) Error() string {
	msg := fmt.Sprintf("%v until %s", ErrPaused, e.Until.UTC().Format(time.RFC3339))
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

func (e *PausedError) Is(target error) bool { return target == ErrPaused }
func (e *PausedError) Unwrap() error        { return e.Cause }

// Halts reports whether err, from Send or Continue, means the invocation
// should start nothing more. (So does its context being done; a timeout
// of one SES call is not that.)
func Halts(err error) bool {
	return errors.Is(err, ErrPaused) || errors.Is(err, ErrThrottled) || errors.Is(err, ErrDeadline)
}

// PauseStore keeps the sending pause (the admin table).
type PauseStore interface {
	// SendingPausedUntil returns the end of the current pause; the zero
	// time, or one past, when sending is not paused.
	SendingPausedUntil(ctx context.Context) (time.Time, error)
	// PauseSending records a pause until the time given, and why.
	PauseSending(ctx context.Context, until time.Time, reason string) error
}

// Quota is the account's 24-hour sending quota, as SES reports it.
type Quota struct {
	Max24HourSend   float64 // -1: unlimited
	SentLast24Hours float64
}

// QuotaReader reads the account's quota (SES GetAccount).
type QuotaReader interface {
	Quota(ctx context.Context) (Quota, error)
}

// Bounds of a pause for a used-up quota.
const (
	defaultPause = time.Hour
	minPause     = 5 * time.Minute
	maxPause     = 24 * time.Hour
)

// QuotaBack estimates when the account's 24-hour quota has room again for
// room more mails. The quota is a rolling window: a mail leaves it 24
// hours after it was sent. SES does not say when the last day's mails
// went out, so they are taken as spread evenly over the day: then
// SentLast24Hours/24h of them leave the window each second. Without
// figures it is an hour; it is never less than 5 minutes nor more than a
// day.
func QuotaBack(now time.Time, q Quota, room float64) time.Time {
	if q.Max24HourSend <= 0 || q.SentLast24Hours <= 0 {
		return now.Add(defaultPause)
	}
	need := q.SentLast24Hours + room - q.Max24HourSend
	if need <= 0 {
		// SES counts room already (its figure lags, or mails just left
		// the window): look again soon.
		need = room
	}
	wait := time.Duration(need / q.SentLast24Hours * float64(24*time.Hour))
	return now.Add(min(max(wait, minPause), maxPause))
}

// pauseRoom is how many mails' room a pause waits for: 1% of the quota, and
// at least one job's worth.
func pauseRoom(q Quota) float64 { return max(q.Max24HourSend/100, MaxRecipients) }

// pause records a sending pause after SES refused a mail for the daily
// quota, and returns the error that halts the invocation.
func (s *Sender) pause(ctx context.Context, cause error) error {
	now := s.now()
	until := now.Add(defaultPause)
	var errs []error
	// Recorded even when the invocation is being cut short.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if s.Quota != nil {
		q, err := s.Quota.Quota(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("read the quota (pausing an hour): %w", err))
		} else {
			until = QuotaBack(now, q, pauseRoom(q))
		}
	}
	if s.Pauses != nil {
		if err := s.Pauses.PauseSending(ctx, until, cause.Error()); err != nil {
			errs = append(errs, fmt.Errorf("record the pause: %w", err))
		}
	}
	return errors.Join(append([]error{&PausedError{Until: until, Cause: cause}}, errs...)...)
}

// Skip reasons the sender adds to the planner's (SkipSuppressed,
// SkipUnsubscribed), as its metrics and the ledger name them.
const (
	SkipErased      = "erased"       // the recipient was erased since the plan
	SkipAlreadySent = "already sent" // a redelivered or duplicated job's done send
)

// invocation is one sender invocation's sending: when it must stop
// starting mails, and what it did. One goroutine uses it.
type invocation struct {
	start   time.Time
	stopAt  time.Time // zero: no deadline
	sent    int
	failed  int
	skipped map[string]int // by reason, without its detail
}

type invocationKey struct{}

func invocationOf(ctx context.Context) *invocation {
	inv, _ := ctx.Value(invocationKey{}).(*invocation)
	return inv
}

func (s *Sender) newInvocation(ctx context.Context) *invocation {
	inv := &invocation{start: s.now(), skipped: map[string]int{}}
	if deadline, ok := ctx.Deadline(); ok {
		inv.stopAt = deadline.Add(-s.Margin())
	}
	return inv
}

// Margin is how long before an invocation's deadline the sender starts no
// more mails: at least 5 s, and the worst time of one mail at this
// instance's rate (each of its attempts waiting for a token, plus the
// backoffs and the ledger writes), so that the last mail started is
// recorded before Lambda stops the function.
func (s *Sender) Margin() time.Duration {
	margin := 5 * time.Second
	if s.Rate > 0 {
		oneMail := time.Duration(float64(sendAttempts)/s.Rate*float64(time.Second)) + 3*time.Second
		margin = max(margin, oneMail)
	}
	return margin
}

// proceed reports whether another mail may start now.
func (inv *invocation) proceed(ctx context.Context, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !inv.stopAt.IsZero() && !now.Before(inv.stopAt) {
		return ErrDeadline
	}
	return nil
}

func (inv *invocation) skip(reason string) {
	base, _, _ := strings.Cut(reason, " (") // "suppressed (complained)" counts as "suppressed"
	inv.skipped[base]++
}

// Begin starts one invocation of the sender (one SQS batch): the context
// it returns carries the invocation to Send, Continue and End. While
// sending is paused it fails with a *PausedError, and the caller hands
// every record back unsent.
func (s *Sender) Begin(ctx context.Context) (context.Context, error) {
	inv := s.newInvocation(ctx)
	ctx = context.WithValue(ctx, invocationKey{}, inv)
	if s.Pauses == nil {
		return ctx, nil
	}
	until, err := s.Pauses.SendingPausedUntil(ctx)
	if err != nil {
		return ctx, fmt.Errorf("read the sending pause: %w", err)
	}
	if until.After(s.now()) {
		return ctx, &PausedError{Until: until}
	}
	return ctx, nil
}

// Continue reports whether the invocation may start another record: nil,
// or ErrDeadline within the margin before its deadline (or the context's
// error).
func (s *Sender) Continue(ctx context.Context) error {
	inv := invocationOf(ctx)
	if inv == nil {
		return ctx.Err()
	}
	return inv.proceed(ctx, s.now())
}

// Metric names the alarms and dashboards refer to.
const (
	MetricMailsSent       = "MailsSent"
	MetricMailsFailed     = "MailsFailed"
	MetricMailsSkipped    = "MailsSkipped" // with the dimension Reason
	MetricSendRateUsed    = "SendRateUsed"
	MetricAccountSendRate = "AccountSendRate"
)

// End reports the invocation's metrics: mails sent, failed and skipped (by
// reason), the rate it sent at, and the account's rate. Summed over a
// minute, MailsSent/60 is the account-wide rate the senders used.
func (s *Sender) End(ctx context.Context) error {
	inv := invocationOf(ctx)
	if inv == nil || s.Metrics == nil {
		return nil
	}
	used := 0.0
	if secs := s.now().Sub(inv.start).Seconds(); secs > 0 {
		used = float64(inv.sent) / secs
	}
	errs := []error{s.Metrics.Emit(
		metrics.Metric{Name: MetricMailsSent, Unit: metrics.Count, Value: float64(inv.sent)},
		metrics.Metric{Name: MetricMailsFailed, Unit: metrics.Count, Value: float64(inv.failed)},
		metrics.Metric{Name: MetricSendRateUsed, Unit: metrics.CountPerSecond, Value: used},
		metrics.Metric{Name: MetricAccountSendRate, Unit: metrics.CountPerSecond, Value: s.AccountRate},
	)}
	for _, reason := range slices.Sorted(maps.Keys(inv.skipped)) {
		errs = append(errs, s.Metrics.With(map[string]string{"Reason": reason}).Emit(
			metrics.Metric{Name: MetricMailsSkipped, Unit: metrics.Count, Value: float64(inv.skipped[reason])}))
	}
	return errors.Join(errs...)
}
