package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/metrics"
	"github.com/radiogram/radiogram/internal/subscribers"
)

func TestInstanceRate(t *testing.T) {
	tests := []struct {
		name           string
		account, limit float64
		senders        int
		want           float64
	}{
		{"account rate shared by two", 14, 0, 2, 14 * 0.95 / 2},
		{"a cap lowers it", 14, 10, 2, 10 * 0.95 / 2},
		{"a cap never raises it", 14, 200, 2, 14 * 0.95 / 2},
		{"unknown account: the cap alone", 0, 20, 4, 20 * 0.95 / 4},
		{"nothing known", 0, 0, 2, 0},
		{"no concurrency given counts as one", 14, 0, 0, 14 * 0.95},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InstanceRate(tt.account, tt.limit, tt.senders); fmt.Sprintf("%.6f", got) != fmt.Sprintf("%.6f", tt.want) {
				t.Errorf("InstanceRate(%v, %v, %d) = %v, want %v", tt.account, tt.limit, tt.senders, got, tt.want)
			}
		})
	}
}

// hours is h hours, to the nanosecond.
func hours(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

func TestQuotaBack(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		q    Quota
		room float64
		want time.Duration
	}{
		{"no figures: an hour", Quota{}, 50, time.Hour},
		{"unlimited: an hour", Quota{Max24HourSend: -1, SentLast24Hours: 10}, 50, time.Hour},
		{"used up: until room leaves the window", Quota{Max24HourSend: 50000, SentLast24Hours: 50000}, 500, time.Duration(500.0 / 50000 * float64(24*time.Hour))},
		{"over by some", Quota{Max24HourSend: 50000, SentLast24Hours: 50500}, 500, hours(24 * 1000.0 / 50500)},
		{"room already: soon, not before 5 min", Quota{Max24HourSend: 50000, SentLast24Hours: 1000}, 1, 5 * time.Minute},
		{"at most a day", Quota{Max24HourSend: 200, SentLast24Hours: 10}, 50000, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := QuotaBack(now, tt.q, tt.room).Sub(now); got.Round(time.Second) != tt.want.Round(time.Second) {
				t.Errorf("QuotaBack = now+%v, want now+%v", got, tt.want)
			}
		})
	}
}

// clock is a test's time; clockMail advances it by perMail with every
// call to the mail system, as if each mail took that long.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

type clockMail struct {
	*memMail
	c       *clock
	perMail time.Duration
}

func (m clockMail) Send(ctx context.Context, msg email.Message) (string, error) {
	m.c.t = m.c.t.Add(m.perMail)
	return m.memMail.Send(ctx, msg)
}

// memPauses is the admin table's sending pause.
type memPauses struct {
	until  time.Time
	reason string
	err    error
}

func (p *memPauses) SendingPausedUntil(context.Context) (time.Time, error) { return p.until, p.err }
func (p *memPauses) PauseSending(_ context.Context, until time.Time, reason string) error {
	p.until, p.reason = until, reason
	return nil
}

type fixedQuota struct {
	q   Quota
	err error
}

func (f fixedQuota) Quota(context.Context) (Quota, error) { return f.q, f.err }

func fiveReaders() ([]Candidate, []string) {
	var subs []Candidate
	var ids []string
	for _, id := range []string{"ada", "bob", "cy", "dee", "eve"} {
		subs = append(subs, candidate(id, subscribers.Daily, "ai"))
		ids = append(ids, id)
	}
	return subs, ids
}

// TestSendStopsBeforeTheDeadline: an invocation starts no mail within the
// margin before its deadline; its job fails with ErrDeadline, the mails it
// sent are recorded, and the redelivery sends only the rest.
func TestSendStopsBeforeTheDeadline(t *testing.T) {
	subs, ids := fiveReaders()
	f := newSender(subs...)
	c := &clock{t: until.Add(time.Minute)}
	f.s.Now, f.s.Rate = c.Now, 1 // margin: max(5 s, 4 attempts at 1/s + 3 s) = 7 s
	f.s.Mail = clockMail{memMail: f.mail, c: c, perMail: time.Second}
	if got := f.s.Margin(); got != 7*time.Second {
		t.Fatalf("Margin = %v, want 7s", got)
	}
	job := digestJob(ids...)

	// 10 s left: mails start at +0, +1, +2 s; at +3 s the margin begins.
	deadlineCtx, cancel := context.WithDeadline(ctx, time.Now().Add(10*time.Second))
	defer cancel()
	// The invocation's deadline is read on the test's clock.
	inv := &invocation{start: c.Now(), stopAt: c.Now().Add(10*time.Second - f.s.Margin()), skipped: map[string]int{}}
	invCtx := context.WithValue(deadlineCtx, invocationKey{}, inv)
	err := f.s.Send(invCtx, job)
	if !errors.Is(err, ErrDeadline) || !Halts(err) || !strings.Contains(err.Error(), "2 of 5 recipients left") {
		t.Fatalf("Send = %v, want ErrDeadline with 2 of 5 left", err)
	}
	if len(f.mail.sent) != 3 || inv.sent != 3 {
		t.Fatalf("mailed %v (counted %d), want the first 3", f.mail.sent, inv.sent)
	}
	for i, id := range ids {
		e := f.ledger.entry(id, job)
		if i < 3 && e.Status != LedgerSent || i >= 3 && e.Status != "" {
			t.Errorf("%s's ledger %+v: want sent for the first 3, nothing claimed after", id, e)
		}
	}
	if err := f.s.Continue(invCtx); !errors.Is(err, ErrDeadline) {
		t.Errorf("Continue = %v, want ErrDeadline: the next record must not start", err)
	}

	// Redelivered to a fresh invocation: the rest, nobody twice.
	if err := f.s.Send(ctx, job); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.mail.sent, " ") != "ada@example.org bob@example.org cy@example.org dee@example.org eve@example.org" {
		t.Errorf("mailed %v, want each once", f.mail.sent)
	}
}

// TestBeginReadsTheDeadline: Begin takes the invocation's deadline from
// its context, less the margin.
func TestBeginReadsTheDeadline(t *testing.T) {
	f := newSender()
	now := time.Now()
	f.s.Now = func() time.Time { return now }
	dctx, cancel := context.WithDeadline(ctx, now.Add(time.Minute))
	defer cancel()
	ictx, err := f.s.Begin(dctx)
	if err != nil {
		t.Fatal(err)
	}
	if inv := invocationOf(ictx); inv == nil || !inv.stopAt.Equal(now.Add(time.Minute-5*time.Second)) {
		t.Fatalf("invocation %+v, want to stop 5 s before the deadline", inv)
	}
	if err := f.s.Continue(ictx); err != nil {
		t.Errorf("Continue = %v with a minute left", err)
	}
	now = now.Add(55 * time.Second)
	if err := f.s.Continue(ictx); !errors.Is(err, ErrDeadline) {
		t.Errorf("Continue = %v 5 s before the deadline, want ErrDeadline", err)
	}
}

// TestSendThrottlingStopsTheJob: throttling that outlasts the retries
// fails the mail and stops the job; the recipients after it are left
// unclaimed for the redelivery.
func TestSendThrottlingStopsTheJob(t *testing.T) {
	subs, ids := fiveReaders()
	f := newSender(subs...)
	f.mail.errs = []error{errThrottled, errThrottled, errThrottled, errThrottled}
	job := digestJob(ids...)
	err := f.s.Send(ctx, job)
	if !errors.Is(err, ErrThrottled) || !errors.Is(err, errThrottled) || !Halts(err) {
		t.Fatalf("Send = %v, want ErrThrottled", err)
	}
	if f.mail.calls != sendAttempts {
		t.Errorf("%d calls to SES, want %d attempts for the first mail and none after", f.mail.calls, sendAttempts)
	}
	if e := f.ledger.entry("ada", job); e.Status != LedgerFailed {
		t.Errorf("ada's ledger %+v, want failed (claimable again)", e)
	}
	for _, id := range ids[1:] {
		if e := f.ledger.entry(id, job); e.Status != "" {
			t.Errorf("%s's ledger %+v, want nothing claimed", id, e)
		}
	}
	// SES recovers: the redelivery sends all five.
	if err := f.s.Send(ctx, job); err != nil || len(f.mail.sent) != 5 {
		t.Errorf("redelivery: %v, mailed %v", err, f.mail.sent)
	}
}

// TestSendDailyQuotaPauses: SES's "Daily message quota exceeded" pauses
// all sending until the quota is expected back: the job stops at once,
// and every invocation while paused is refused at Begin.
func TestSendDailyQuotaPauses(t *testing.T) {
	tests := []struct {
		name  string
		quota QuotaReader
		want  time.Duration
	}{
		{"quota figures", fixedQuota{q: Quota{Max24HourSend: 10000, SentLast24Hours: 10000}}, time.Duration(100.0 / 10000 * float64(24*time.Hour))},
		{"quota unreadable: an hour", fixedQuota{err: errors.New("denied")}, time.Hour},
		{"no quota reader: an hour", nil, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subs, ids := fiveReaders()
			f := newSender(subs...)
			now := until.Add(time.Minute)
			pauses := &memPauses{}
			f.s.Now, f.s.Pauses, f.s.Quota = func() time.Time { return now }, pauses, tt.quota
			f.mail.errs = []error{nil, errQuota}
			job := digestJob(ids...)

			ictx, err := f.s.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = f.s.Send(ictx, job)
			var paused *PausedError
			if !errors.As(err, &paused) || !errors.Is(err, ErrPaused) || !Halts(err) {
				t.Fatalf("Send = %v, want a *PausedError", err)
			}
			if got := paused.Until.Sub(now); got.Round(time.Second) != tt.want.Round(time.Second) {
				t.Errorf("paused for %v, want %v", got, tt.want)
			}
			if !pauses.until.Equal(paused.Until) || !strings.Contains(pauses.reason, "Daily message quota exceeded") {
				t.Errorf("recorded pause until %v (%q), want %v with SES's reason", pauses.until, pauses.reason, paused.Until)
			}
			if f.mail.calls != 2 || len(f.mail.sent) != 1 {
				t.Errorf("%d calls to SES, mailed %v: want ada's mail, bob's refusal, and no more", f.mail.calls, f.mail.sent)
			}
			if e := f.ledger.entry("bob", job); e.Status != LedgerFailed {
				t.Errorf("bob's ledger %+v, want failed (claimable again)", e)
			}

			// While paused, an invocation sends nothing.
			if _, err := f.s.Begin(ctx); !errors.As(err, &paused) || !paused.Until.Equal(pauses.until) {
				t.Errorf("Begin while paused = %v, want the pause", err)
			}
			// Once it ends, sending resumes.
			now = pauses.until.Add(time.Second)
			if _, err := f.s.Begin(ctx); err != nil {
				t.Errorf("Begin after the pause = %v", err)
			}
		})
	}
}

// TestEndReportsMetrics: one EMF record of the counts and rates, and one
// per skip reason with the Reason dimension.
func TestEndReportsMetrics(t *testing.T) {
	gone := candidate("gone", subscribers.Daily, "ai")
	una := candidate("una", subscribers.Daily, "ai")
	una.Subscriber.Status = subscribers.StatusUnsubscribed
	f := newSender(candidate("ada", subscribers.Daily, "ai"), candidate("bob", subscribers.Daily, "ai"), gone, una)
	var out bytes.Buffer
	start := until.Add(time.Minute)
	now := start
	f.s.Now, f.s.Metrics, f.s.AccountRate = func() time.Time { return now }, metrics.New(&out, "Test"), 14
	f.mail.errs = []error{nil, errRejected}

	ictx, err := f.s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.s.Send(ictx, digestJob("ada", "bob", "gone", "una", "nobody"))
	_ = f.s.Send(ictx, digestJob("ada")) // done before: skipped as already sent
	now = start.Add(2 * time.Second)
	if err := f.s.End(ictx); err != nil {
		t.Fatal(err)
	}

	got := map[string]float64{}
	for line := range strings.Lines(out.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		for k, v := range rec {
			if n, ok := v.(float64); ok {
				if reason, ok := rec["Reason"].(string); ok {
					k += "/" + reason
				}
				got[k] = n
			}
		}
	}
	want := map[string]float64{
		"MailsSent": 1, "MailsFailed": 1, "SendRateUsed": 0.5, "AccountSendRate": 14,
		"MailsSkipped/suppressed": 1, "MailsSkipped/unsubscribed": 1, "MailsSkipped/erased": 1, "MailsSkipped/already sent": 1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("metrics %v\nwant    %v\n%s", got, want, &out)
	}
}

// cancellingMail cancels the invocation at its at-th call, and fails that
// call as a cancelled request does.
type cancellingMail struct {
	*memMail
	at     int
	cancel context.CancelFunc
}

func (m cancellingMail) Send(ctx context.Context, msg email.Message) (string, error) {
	if m.calls+1 == m.at {
		m.calls++
		m.cancel()
		return "", fmt.Errorf("ses send: %w", ctx.Err())
	}
	return m.memMail.Send(ctx, msg)
}

// TestSendCancelledMidJob: an invocation cut short mid-send records the
// mail in flight as failed (claimable again), even though its context is
// done, and leaves the rest unclaimed: the redelivery mails each of the
// others once.
func TestSendCancelledMidJob(t *testing.T) {
	subs, ids := fiveReaders()
	f := newSender(subs...)
	ledger := &syncLedger{l: f.ledger} // refuses writes with a done context, as DynamoDB's client does
	f.s.Ledger = ledger
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.s.Mail = cancellingMail{memMail: f.mail, at: 3, cancel: cancel}
	job := digestJob(ids...)

	err := f.s.Send(cctx, job)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "2 of 5 recipients left") {
		t.Fatalf("Send = %v, want it cancelled with 2 left", err)
	}
	want := []LedgerStatus{LedgerSent, LedgerSent, LedgerFailed, "", ""}
	for i, id := range ids {
		if e := f.ledger.entry(id, job); e.Status != want[i] {
			t.Errorf("%s's ledger %+v, want %q", id, e, want[i])
		}
	}
	f.s.Mail = f.mail
	if err := f.s.Send(ctx, job); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.mail.sent, " ") != "ada@example.org bob@example.org cy@example.org dee@example.org eve@example.org" {
		t.Errorf("mailed %v, want each once", f.mail.sent)
	}
}
