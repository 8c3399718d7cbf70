package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/lambdaevents"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// throttlingMail wraps the real SES adapter and answers every third call
// as SES does when the account sends faster than its rate.
type throttlingMail struct {
	inner            email.Sender
	calls, throttled atomic.Int64
}

func (m *throttlingMail) Send(ctx context.Context, msg email.Message) (string, error) {
	if m.calls.Add(1)%3 == 0 {
		m.throttled.Add(1)
		_, domain, _ := strings.Cut(msg.To, "@")
		return "", fmt.Errorf("ses send to %s: %w", domain, &types.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")})
	}
	return m.inner.Send(ctx, msg)
}

// killingMail cancels the invocation it runs in at its at-th mail, which
// then goes to SES with the cancelled context: the sender is killed
// mid-batch, mid-send.
type killingMail struct {
	inner  email.Sender
	at     int64
	calls  atomic.Int64
	mu     sync.Mutex
	kill   context.CancelFunc // the current invocation's
	killed atomic.Bool
}

func (k *killingMail) Send(ctx context.Context, msg email.Message) (string, error) {
	if k.calls.Add(1) == k.at {
		k.mu.Lock()
		k.kill()
		k.mu.Unlock()
		k.killed.Store(true)
	}
	return k.inner.Send(ctx, msg)
}

// invocations runs h as Lambda runs the function: an invocation that was
// killed returns no answer, and all its records come back.
func (k *killingMail) invocations(h lambdaevents.SQSHandler) lambdaevents.SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		k.mu.Lock()
		k.kill = cancel
		k.mu.Unlock()
		resp, err := h(ctx, ev)
		if ctx.Err() != nil {
			return events.SQSEventResponse{}, fmt.Errorf("killed mid-batch: %w", ctx.Err())
		}
		return resp, err
	}
}

// TestDeliveryThrottledAndKilled: SES throttles a third of the sends and
// one of two senders is killed mid-batch; once the queue has drained,
// every due subscriber has exactly one mail in moto's SES.
func TestDeliveryThrottledAndKilled(t *testing.T) {
	t.Parallel()
	a, _ := newIngestedApp(t)
	ctx := context.Background()
	// Three contents, so that the queue holds several jobs and a batch
	// holds more than one.
	groups := [][]string{{"ai"}, {"ai", "screening"}, {"ai", "screening", "guidelines"}}
	var emails []string
	for i := range 45 {
		addr := fmt.Sprintf("reader%02d@hospital.test", i)
		addConfirmed(t, a, addr, nextHourPrefs(groups[i%len(groups)], nil, subscribers.FormatHTML))
		emails = append(emails, addr)
	}
	slotTime := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	rep, err := a.Planner().Plan(ctx, delivery.Request{RunID: "throttled", Target: delivery.Target{Kind: delivery.TargetDue, Slot: digest.Slot(slotTime)}, Until: slotTime})
	if err != nil || rep.Planned != len(emails) || rep.Jobs < len(groups) {
		t.Fatalf("plan: %+v, %v; want %d planned in at least %d jobs", rep, err, len(emails), len(groups))
	}

	ses := &throttlingMail{inner: a.MailSender}
	killer := &killingMail{inner: ses, at: 5}
	var wg sync.WaitGroup
	for i := range 2 {
		sender, err := a.Sender(ctx)
		if err != nil {
			t.Fatal(err)
		}
		handler := sendHandler(t, a, sender)
		sender.Mail = ses
		if i == 0 {
			sender.Mail, handler = killer, killer.invocations(handler)
		}
		wg.Go(func() {
			consume(t, &lambdaevents.SQSSource{Queue: a.Queue, Handler: handler, Log: a.Log}, time.Minute)
		})
	}
	wg.Wait()

	if !killer.killed.Load() || ses.throttled.Load() == 0 {
		t.Fatalf("killed %v, %d sends throttled: the faults did not happen", killer.killed.Load(), ses.throttled.Load())
	}
	for _, addr := range emails {
		if got := len(mailbox(t, a, addr)); got != 1 {
			t.Errorf("%s got %d mails, want exactly 1", addr, got)
		}
	}
	t.Logf("%d SES calls, %d throttled, one sender killed at its %dth mail, for %d recipients", ses.calls.Load(), ses.throttled.Load(), killer.at, len(emails))
}

// quotaMail wraps the real SES adapter: after its first ok calls, SES
// refuses every mail for the account's used-up daily quota.
type quotaMail struct {
	inner email.Sender
	ok    int64
	calls atomic.Int64
}

func (m *quotaMail) Send(ctx context.Context, msg email.Message) (string, error) {
	if m.calls.Add(1) > m.ok {
		return "", fmt.Errorf("ses send to hospital.test: %w", &types.LimitExceededException{Message: aws.String("Daily message quota exceeded.")})
	}
	return m.inner.Send(ctx, msg)
}

// TestDailyQuotaPausesSending: when SES says the daily quota is used up,
// the sender records a pause in the admin table, the summary shows it, the
// job waits hidden in the queue until it ends, and an invocation while it
// lasts sends nothing.
func TestDailyQuotaPausesSending(t *testing.T) {
	t.Parallel()
	a, srv := newIngestedApp(t)
	ctx := context.Background()
	var emails []string
	for i := range 3 {
		addr := fmt.Sprintf("quota%d@hospital.test", i)
		addConfirmed(t, a, addr, nextHourPrefs([]string{"ai"}, nil, subscribers.FormatHTML))
		emails = append(emails, addr)
	}
	slotTime := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	rep, err := a.Planner().Plan(ctx, delivery.Request{RunID: "quota", Target: delivery.Target{Kind: delivery.TargetDue, Slot: digest.Slot(slotTime)}, Until: slotTime})
	if err != nil || rep.Planned != len(emails) || rep.Jobs == 0 {
		t.Fatalf("plan: %+v, %v; want %d planned", rep, err, len(emails))
	}
	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ses := &quotaMail{inner: a.MailSender, ok: 1}
	sender.Mail = ses
	handler := sendHandler(t, a, sender)
	// As under Lambda: a record handed back keeps the visibility the
	// handler gave it.
	src := &lambdaevents.SQSSource{Queue: a.Queue, Handler: handler, RetryDelay: -1, Log: a.Log}

	start := time.Now()
	if n, err := src.Poll(ctx); n == 0 || err != nil {
		t.Fatalf("Poll = %d, %v; want the jobs", n, err)
	}
	if ses.calls.Load() != 2 {
		t.Errorf("%d calls to SES, want one mail and one refusal, then none", ses.calls.Load())
	}
	until, err := a.AdminStore.SendingPausedUntil(ctx)
	if err != nil || until.Before(start.Add(5*time.Minute-time.Second)) {
		t.Fatalf("recorded pause until %v (%v), want at least 5 minutes from now", until, err)
	}

	// Admins see it.
	status, sum := adminCall(t, "GET", srv.URL+"/admin/subscribers/summary", "")
	if got, _ := sum["sending_paused_until"].(string); status != 200 || got != until.UTC().Format(time.RFC3339Nano) {
		t.Errorf("summary %d %v, want sending_paused_until %s", status, sum, until.UTC().Format(time.RFC3339Nano))
	}
	// The jobs the first batch did not hold come while paused, and go
	// back unsent; then every job waits, hidden until the pause ends.
	for range 5 {
		if n, err := src.Poll(ctx); n == 0 || err != nil {
			break
		}
	}
	if n, err := src.Poll(ctx); n != 0 || err != nil {
		t.Errorf("Poll while paused = %d, %v; want the jobs hidden", n, err)
	}
	// An invocation while paused hands everything back and mails nobody.
	resp, err := handler(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "late", Body: `{"run_id":"late","recipients":[{"subscriber_id":"x"}]}`}}})
	if err != nil || len(resp.BatchItemFailures) != 1 || ses.calls.Load() != 2 {
		t.Errorf("invocation while paused: %+v, %v, %d SES calls; want the record back and no call", resp, err, ses.calls.Load())
	}
	mailed := 0
	for _, addr := range emails {
		mailed += len(mailbox(t, a, addr))
	}
	if mailed != 1 {
		t.Errorf("%d mails out, want the one before the refusal", mailed)
	}
}

func TestClassifySES(t *testing.T) {
	tests := []struct {
		err  error
		want delivery.SendFailure
	}{
		{&types.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")}, delivery.FailThrottled},
		{&types.LimitExceededException{Message: aws.String("Daily message quota exceeded.")}, delivery.FailQuota},
		{fmt.Errorf("send: %w", context.DeadlineExceeded), delivery.FailTransient},
		{&types.MessageRejected{Message: aws.String("Email address is not verified.")}, delivery.FailPermanent},
		{context.Canceled, delivery.FailPermanent},
	}
	for _, tt := range tests {
		if got := classifySES(fmt.Errorf("ses send to example.org: %w", tt.err)); got != tt.want {
			t.Errorf("classifySES(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
