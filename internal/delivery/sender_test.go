package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// In-memory stand-ins for what the sender talks to, beside the stores of
// planner_test.go (memIndex, memItems, memSuppressions).

// memLedger keeps entries as the DynamoDB ledger does: a claim succeeds on
// a send never seen, one that failed, or one claimed longer than the lease
// ago, and writes the entry it is given (one more attempt than it says);
// otherwise it reports the entry as it stands.
type memLedger struct {
	now       time.Time
	entries   map[string]Entry
	claimedAt map[string]time.Time
	finishErr error
}

func newLedger() *memLedger {
	return &memLedger{now: until.Add(time.Minute), entries: map[string]Entry{}, claimedAt: map[string]time.Time{}}
}

func ledgerKey(subscriberID, period string) string { return subscriberID + "|" + period }

func (l *memLedger) Claim(_ context.Context, e Entry, lease time.Duration) (bool, Entry, error) {
	k := ledgerKey(e.SubscriberID, e.Period)
	if cur, ok := l.entries[k]; ok {
		stale := cur.Status == LedgerSending && l.claimedAt[k].Before(l.now.Add(-lease))
		if cur.Status != LedgerFailed && !stale {
			return false, cur, nil
		}
	}
	e.At = l.now
	e.Attempts++
	l.entries[k], l.claimedAt[k] = e, l.now
	return true, e, nil
}

func (l *memLedger) Finish(_ context.Context, e Entry) error {
	if l.finishErr != nil {
		return l.finishErr
	}
	e.At = l.now
	l.entries[ledgerKey(e.SubscriberID, e.Period)] = e
	return nil
}

// entry is the ledger's line for a subscriber's send of job.
func (l *memLedger) entry(id string, job Job) Entry {
	return l.entries[ledgerKey(id, PeriodKey(job.Kind, job.Until))]
}

// memRenderer counts compilations; its template fails to fill for the
// subscribers in failFill.
type memRenderer struct {
	compiles   int
	compileErr error
	failFill   map[string]bool
}

func (r *memRenderer) Compile(_ context.Context, job Job, list []items.Item) (Template, error) {
	r.compiles++
	if r.compileErr != nil {
		return nil, r.compileErr
	}
	return memTemplate{r: r, items: len(list)}, nil
}

type memTemplate struct {
	r     *memRenderer
	items int
}

func (t memTemplate) Fill(_ context.Context, sub subscribers.Subscriber, since, until time.Time) (email.Message, error) {
	if t.r.failFill[sub.ID] {
		return email.Message{}, errors.New("template: bad link")
	}
	return email.Message{To: sub.Email, Subject: fmt.Sprintf("%d items", t.items), Text: since.String() + " " + until.String()}, nil
}

// memMail records the mails it sends; each call takes the next of errs
// (nil once they run out).
type memMail struct {
	errs  []error
	calls int
	sent  []string // recipients of the mails that went out
}

func (m *memMail) Send(_ context.Context, msg email.Message) (string, error) {
	m.calls++
	if len(m.errs) > 0 {
		err := m.errs[0]
		m.errs = m.errs[1:]
		if err != nil {
			return "", err
		}
	}
	m.sent = append(m.sent, msg.To)
	return fmt.Sprintf("ses-%d", len(m.sent)), nil
}

// memLimiter counts how often it is consulted.
type memLimiter struct {
	waits int
	err   error
}

func (l *memLimiter) Wait(context.Context) error {
	l.waits++
	return l.err
}

var (
	errThrottled = errors.New("SES: Throttling: Maximum sending rate exceeded")
	errRejected  = errors.New("SES: MessageRejected: Email address is not verified")
	errQuota     = errors.New("SES: Throttling: Daily message quota exceeded")
	errTransient = errors.New("SES: 503 Service Unavailable")
)

// classifyTest classifies the errors above as sesmail's do SES's.
func classifyTest(err error) SendFailure {
	switch {
	case errors.Is(err, errQuota):
		return FailQuota
	case errors.Is(err, errThrottled):
		return FailThrottled
	case errors.Is(err, errTransient):
		return FailTransient
	}
	return FailPermanent
}

const lease = 10 * time.Minute

type senderFixture struct {
	s       *Sender
	idx     *memIndex
	ledger  *memLedger
	render  *memRenderer
	mail    *memMail
	limiter *memLimiter
}

func newSender(subs ...Candidate) senderFixture {
	f := senderFixture{
		idx:     &memIndex{subs: map[string]Candidate{}, recorded: map[string]time.Time{}},
		ledger:  newLedger(),
		render:  &memRenderer{},
		mail:    &memMail{},
		limiter: &memLimiter{},
	}
	for _, c := range subs {
		f.idx.subs[c.Subscriber.ID] = c
	}
	f.s = &Sender{
		Subscribers:  f.idx,
		Items:        memItems{newsItem("ai-1", "ai", until.Add(-time.Hour)), newsItem("ai-2", "ai", until.Add(-2*time.Hour))},
		Suppressions: memSuppressions{testHasher.HashEmail("gone@example.org"): subscribers.ReasonComplained},
		Hasher:       testHasher,
		Ledger:       f.ledger,
		Renderer:     f.render,
		Mail:         f.mail,
		Limiter:      f.limiter,
		Classify:     classifyTest,
		Lease:        lease,
	}
	return f
}

func digestJob(ids ...string) Job {
	job := Job{RunID: "r1", Kind: digest.KindDigest, Until: until, Format: subscribers.FormatHTML, Topics: []string{"ai"}, ItemKeys: []string{"ai-1", "ai-2"}}
	for _, id := range ids {
		job.Recipients = append(job.Recipients, Recipient{SubscriberID: id, Since: until.Add(-24 * time.Hour)})
	}
	return job
}

func TestSendMailsEachRecipientOnce(t *testing.T) {
	f := newSender(candidate("ada", subscribers.Daily, "ai"), candidate("bob", subscribers.Daily, "ai"))
	job := digestJob("ada", "bob")
	if err := f.s.Send(ctx, job); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.mail.sent, []string{"ada@example.org", "bob@example.org"}) {
		t.Errorf("mailed %v, want ada and bob once each", f.mail.sent)
	}
	if f.render.compiles != 1 {
		t.Errorf("compiled %d times, want once per job", f.render.compiles)
	}
	if f.limiter.waits != 2 {
		t.Errorf("rate limiter consulted %d times, want before each of the 2 mails", f.limiter.waits)
	}
	for i, id := range []string{"ada", "bob"} {
		e := f.ledger.entry(id, job)
		e.Attempts = 0 // the ledger's own count, not the sender's
		want := Entry{SubscriberID: id, Period: PeriodKey(job.Kind, job.Until), RunID: "r1", Kind: digest.KindDigest,
			Status: LedgerSent, MessageID: fmt.Sprintf("ses-%d", i+1), ItemCount: 2, At: f.ledger.now}
		if e != want {
			t.Errorf("ledger %s:\n %+v\nwant\n %+v", id, e, want)
		}
		if got := f.idx.recorded[id]; !got.Equal(until) {
			t.Errorf("%s's watermark %v, want %v", id, got, until)
		}
	}

	// The same job again (SQS delivers at least once): the ledger says
	// done, so nobody is mailed twice, but the watermark is made sure of.
	// (Rendering is not checked: Send compiles the job before it claims,
	// so a fully done retry still renders it once.)
	clear(f.idx.recorded)
	if err := f.s.Send(ctx, job); err != nil {
		t.Fatalf("a duplicate job: %v", err)
	}
	if len(f.mail.sent) != 2 || f.mail.calls != 2 {
		t.Errorf("a duplicate job mailed again: %v", f.mail.sent)
	}
	for _, id := range []string{"ada", "bob"} {
		if e := f.ledger.entry(id, job); e.Status != LedgerSent || e.MessageID == "" {
			t.Errorf("ledger %s after the duplicate: %+v", id, e)
		}
		if got := f.idx.recorded[id]; !got.Equal(until) {
			t.Errorf("%s's watermark after the duplicate: %v, want %v", id, got, until)
		}
	}
}

func TestSendSkips(t *testing.T) {
	unsubscribed := candidate("una", subscribers.Daily, "ai")
	unsubscribed.Subscriber.Status = subscribers.StatusUnsubscribed
	pending := candidate("pam", subscribers.Daily, "ai")
	pending.Subscriber.Status = subscribers.StatusPending
	sentBefore := Entry{SubscriberID: "una", Period: PeriodKey(digest.KindDigest, until), RunID: "r0", Kind: digest.KindDigest, Status: LedgerSent, Attempts: 1, MessageID: "ses-0"}
	tests := []struct {
		name       string
		sub        Candidate
		id         string
		before     *Entry // already in the ledger
		wantStatus LedgerStatus
		wantReason string
	}{
		// No constant names this reason: a recipient erased since the plan.
		{name: "erased", id: "nobody", wantStatus: LedgerSkipped, wantReason: "erased"},
		{name: "unsubscribed", sub: unsubscribed, id: "una", wantStatus: LedgerSkipped, wantReason: SkipUnsubscribed},
		{name: "never confirmed", sub: pending, id: "pam", wantStatus: LedgerSkipped, wantReason: SkipUnsubscribed},
		{name: "suppressed", sub: candidate("gone", subscribers.Daily, "ai"), id: "gone", wantStatus: LedgerSkipped, wantReason: SkipSuppressed + " (complained)"},
		{name: "a recorded send stays as it was", sub: unsubscribed, id: "una", before: &sentBefore, wantStatus: LedgerSent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f senderFixture
			if tt.sub.Subscriber.ID != "" {
				f = newSender(tt.sub)
			} else {
				f = newSender()
			}
			job := digestJob(tt.id)
			if tt.before != nil {
				f.ledger.entries[ledgerKey(tt.before.SubscriberID, tt.before.Period)] = *tt.before
			}
			if err := f.s.Send(ctx, job); err != nil {
				t.Fatalf("a skip is no failure: %v", err)
			}
			if f.mail.calls != 0 || f.render.compiles != 0 || f.limiter.waits != 0 {
				t.Errorf("%d mails, %d compiles, %d limiter waits; want none for a job of skips", f.mail.calls, f.render.compiles, f.limiter.waits)
			}
			e := f.ledger.entry(tt.id, job)
			if e.Status != tt.wantStatus || e.Reason != tt.wantReason {
				t.Errorf("ledger %+v, want %s %q", e, tt.wantStatus, tt.wantReason)
			}
			if tt.before != nil && e != *tt.before {
				t.Errorf("ledger %+v, want it unchanged: %+v", e, *tt.before)
			}
			if _, moved := f.idx.recorded[tt.id]; moved {
				t.Error("a skipped recipient's watermark moved")
			}
		})
	}
}

func TestSendNothingToSend(t *testing.T) {
	f := newSender(candidate("ada", subscribers.Daily, "ai"))
	f.s.Subscribers, f.s.Suppressions = nil, nil // a job of no recipients reads nothing
	if err := f.s.Send(ctx, digestJob()); err != nil {
		t.Fatal(err)
	}
	if f.mail.calls != 0 || f.render.compiles != 0 || len(f.ledger.entries) != 0 {
		t.Errorf("a job of no recipients: %d mails, %d compiles, ledger %v", f.mail.calls, f.render.compiles, f.ledger.entries)
	}
}

func TestSendLeaseTakeover(t *testing.T) {
	tests := []struct {
		name     string
		age      time.Duration // of another sender's "sending" claim
		wantSent bool
	}{
		{"fresh claim is left alone", lease / 2, false},
		{"claim just inside the lease", lease - time.Second, false},
		{"stale claim is taken over", lease + time.Second, true},
		{"crashed sender's claim", 3 * lease, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSender(candidate("ada", subscribers.Daily, "ai"))
			job := digestJob("ada")
			k := ledgerKey("ada", PeriodKey(job.Kind, job.Until))
			other := Entry{SubscriberID: "ada", Period: PeriodKey(job.Kind, job.Until), RunID: "other-sender", Kind: job.Kind, Status: LedgerSending, Attempts: 1}
			f.ledger.entries[k] = other
			f.ledger.claimedAt[k] = f.ledger.now.Add(-tt.age)

			err := f.s.Send(ctx, job)
			e := f.ledger.entry("ada", job)
			if tt.wantSent {
				if err != nil || !slices.Equal(f.mail.sent, []string{"ada@example.org"}) || e.Status != LedgerSent || e.RunID != "r1" {
					t.Errorf("Send = %v, mailed %v, ledger %+v; want the claim taken over and the mail sent", err, f.mail.sent, e)
				}
				return
			}
			// Not sent, and an error, so that SQS redelivers the job and a
			// later try finds the send done or the claim stale.
			if err == nil || !strings.Contains(err.Error(), "another sender holds this send") {
				t.Errorf("Send = %v, want an error that makes SQS retry", err)
			}
			if f.mail.calls != 0 || e != other {
				t.Errorf("mailed %d times, ledger %+v; want the other sender's claim untouched", f.mail.calls, e)
			}
			if _, moved := f.idx.recorded["ada"]; moved {
				t.Error("watermark moved for a send not done")
			}
		})
	}
}

func TestSendFailures(t *testing.T) {
	tests := []struct {
		name         string
		mailErrs     []error
		retryable    bool // Sender.Classify set (nil otherwise)
		limiterErr   error
		compileErr   error
		failFill     bool
		wantCalls    int // to the mail system
		wantWaits    int // of the rate limiter
		wantStatus   LedgerStatus
		wantReason   string // prefix
		wantErrIs    error
		wantErrInMsg string
	}{
		{
			name: "permanent failure is not retried", mailErrs: []error{errRejected}, retryable: true,
			wantCalls: 1, wantWaits: 1, wantStatus: LedgerFailed, wantReason: errRejected.Error(), wantErrIs: errRejected,
		},
		{
			name: "throttled once, then sent", mailErrs: []error{errThrottled, nil}, retryable: true,
			wantCalls: 2, wantWaits: 2, wantStatus: LedgerSent,
		},
		{
			name: "throttled throughout", mailErrs: []error{errThrottled, errThrottled, errThrottled, errThrottled, errThrottled}, retryable: true,
			wantCalls: sendAttempts, wantWaits: sendAttempts, wantStatus: LedgerFailed,
			wantReason: fmt.Sprintf("gave up after %d attempts: ", sendAttempts), wantErrIs: errThrottled,
		},
		{
			name: "no Classify: every error is permanent", mailErrs: []error{errThrottled},
			wantCalls: 1, wantWaits: 1, wantStatus: LedgerFailed, wantReason: errThrottled.Error(), wantErrIs: errThrottled,
		},
		{
			name: "rate limiter fails: nothing sent", limiterErr: context.DeadlineExceeded, retryable: true,
			wantCalls: 0, wantWaits: 1, wantStatus: LedgerFailed, wantReason: context.DeadlineExceeded.Error(), wantErrIs: context.DeadlineExceeded,
		},
		{
			name: "recipient's mail cannot be filled", failFill: true, retryable: true,
			wantCalls: 0, wantWaits: 0, wantStatus: LedgerFailed, wantReason: "render: template: bad link", wantErrInMsg: "fill: template: bad link",
		},
		{
			name: "job cannot be rendered: nothing claimed", compileErr: errors.New("unknown kind"), retryable: true,
			wantCalls: 0, wantWaits: 0, wantStatus: "", wantErrInMsg: "render: unknown kind",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the retries back off for real
			f := newSender(candidate("ada", subscribers.Daily, "ai"))
			f.mail.errs, f.limiter.err, f.render.compileErr = tt.mailErrs, tt.limiterErr, tt.compileErr
			if tt.failFill {
				f.render.failFill = map[string]bool{"ada": true}
			}
			if !tt.retryable {
				f.s.Classify = nil
			}
			job := digestJob("ada")
			err := f.s.Send(ctx, job)

			if f.mail.calls != tt.wantCalls || f.limiter.waits != tt.wantWaits {
				t.Errorf("%d calls to the mail system, %d limiter waits; want %d and %d", f.mail.calls, f.limiter.waits, tt.wantCalls, tt.wantWaits)
			}
			e := f.ledger.entry("ada", job)
			if e.Status != tt.wantStatus || !strings.HasPrefix(e.Reason, tt.wantReason) {
				t.Errorf("ledger %+v, want %q with a reason starting %q", e, tt.wantStatus, tt.wantReason)
			}
			_, moved := f.idx.recorded["ada"]
			if tt.wantStatus == LedgerSent {
				if err != nil || !moved || e.MessageID == "" {
					t.Errorf("Send = %v, watermark moved %v, ledger %+v; want sent and recorded", err, moved, e)
				}
				return
			}
			// Any failure fails the record, so that SQS redelivers the job.
			if err == nil {
				t.Fatal("Send succeeded; want an error so that SQS retries the job")
			}
			if tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs) {
				t.Errorf("Send = %v, want it to wrap %v", err, tt.wantErrIs)
			}
			if !strings.Contains(err.Error(), tt.wantErrInMsg) {
				t.Errorf("Send = %v, want %q in it", err, tt.wantErrInMsg)
			}
			if moved {
				t.Error("watermark moved for a failed send")
			}
		})
	}
}

// TestSendRedeliveryFinishesTheJob: a job that partly failed is redelivered
// by SQS; the retry mails only those whose send failed.
func TestSendRedeliveryFinishesTheJob(t *testing.T) {
	f := newSender(candidate("ada", subscribers.Daily, "ai"), candidate("bob", subscribers.Daily, "ai"))
	job := digestJob("ada", "bob")
	f.mail.errs = []error{errRejected} // ada's mail, permanently
	err := f.s.Send(ctx, job)
	if !errors.Is(err, errRejected) || !strings.Contains(err.Error(), "subscriber ada") {
		t.Fatalf("first delivery: %v, want ada's failure", err)
	}
	if e := f.ledger.entry("ada", job); e.Status != LedgerFailed {
		t.Errorf("ada's ledger %+v, want failed", e)
	}
	if e := f.ledger.entry("bob", job); e.Status != LedgerSent {
		t.Errorf("bob's ledger %+v, want sent", e)
	}

	if err := f.s.Send(ctx, job); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if !slices.Equal(f.mail.sent, []string{"bob@example.org", "ada@example.org"}) {
		t.Errorf("mailed %v, want bob then, on redelivery, ada only", f.mail.sent)
	}
	if e := f.ledger.entry("ada", job); e.Status != LedgerSent || e.MessageID != "ses-2" {
		t.Errorf("ada's ledger after redelivery %+v, want sent", e)
	}
}

// TestSendUnrecordedMailIsNotResent: when the ledger cannot record a mail
// that went out, the claim stays "sending" and a redelivery within the
// lease does not mail again.
func TestSendUnrecordedMailIsNotResent(t *testing.T) {
	f := newSender(candidate("ada", subscribers.Daily, "ai"))
	job := digestJob("ada")
	f.ledger.finishErr = errors.New("table unavailable")
	if err := f.s.Send(ctx, job); err == nil || !strings.Contains(err.Error(), "record sent mail ses-1") {
		t.Fatalf("Send = %v, want the unrecorded mail reported", err)
	}
	f.ledger.finishErr = nil
	if err := f.s.Send(ctx, job); err == nil {
		t.Error("redelivery within the lease succeeded; want it to wait for the claim")
	}
	if len(f.mail.sent) != 1 {
		t.Errorf("mailed %v, want once", f.mail.sent)
	}
	if e := f.ledger.entry("ada", job); e.Status != LedgerSending {
		t.Errorf("ledger %+v, want the claim still sending", e)
	}
}
