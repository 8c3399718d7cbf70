package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/lambdaevents"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// addConfirmed stores a confirmed subscriber the way the confirm flow
// leaves one, indexes included.
func addConfirmed(t *testing.T, a *App, email string, p subscribers.Preferences) subscribers.Subscriber {
	t.Helper()
	ctx := context.Background()
	p, err := p.Normalize(a.catalog)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	s := subscribers.Subscriber{ID: strings.ReplaceAll(email, "@", "-at-"), Email: email, Status: subscribers.StatusPending, Preferences: p, CreatedAt: now, UpdatedAt: now}
	if err := a.Subscribers.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	s.Status, s.ConfirmedAt = subscribers.StatusConfirmed, now
	if err := a.Subscribers.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// drain runs the sender function's handler (sender for the jobs, the
// subscriber service for the queued requests) over the queue until it
// stays empty. It may run in a goroutine, so it reports with Errorf, not
// Fatal.
func drain(t *testing.T, a *App, sender *delivery.Sender) {
	t.Helper()
	drainPlans(t, a)
	consume(t, &lambdaevents.SQSSource{Queue: a.Queue, Handler: sendHandler(t, a, sender), Log: a.Log}, 60*time.Second)
}

// runPlanner plans the plan queue's shards as they come, as the planner
// function does, until the test ends: for tests that wait on a run's plan
// as a user would (a page that refreshes).
func runPlanner(t testing.TB, a *App) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = (&lambdaevents.SQSSource{Queue: a.PlanQueue, Handler: a.PlanShards(), Wait: time.Second, Log: a.Log}).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// drainPlans plans the shards waiting on the plan queue, as the planner
// function would.
func drainPlans(t testing.TB, a *App) {
	t.Helper()
	consume(t, &lambdaevents.SQSSource{Queue: a.PlanQueue, Handler: a.PlanShards(), Log: a.Log}, 60*time.Second)
}

// sendHandler is the sender function's handler with sender for the jobs.
func sendHandler(t testing.TB, a *App, sender *delivery.Sender) lambdaevents.SQSHandler {
	t.Helper()
	svc, err := a.SubscriberService(context.Background())
	if err != nil {
		t.Error(err)
	}
	return lambdaevents.SendJobs(sender, svc, a.Queue, a.Log)
}

// wants lists the titles of the stored items a subscriber should get,
// restating the matching rule independently of package digest.
func wants(all []items.Item, p subscribers.Preferences) []string {
	var titles []string
	for _, it := range all {
		topical := slices.ContainsFunc(it.TopicIDs(), func(id string) bool { return slices.Contains(p.Topics, id) })
		fromChosen := len(p.Societies) == 0 || slices.Contains(p.Societies, it.Society)
		if topical && fromChosen {
			titles = append(titles, it.Title)
		}
	}
	return titles
}

func nextHourPrefs(topics []string, societies []string, format subscribers.Format) subscribers.Preferences {
	return subscribers.Preferences{Topics: topics, Societies: societies, Frequency: subscribers.Daily, Hour: time.Now().UTC().Add(time.Hour).Hour(), TimeZone: "UTC", Format: format}
}

// TestDigestDelivery ingests local feeds, plans the due slot and runs the
// sender: every subscriber gets exactly their items, once, however often
// the slot is planned again.
func TestDigestDelivery(t *testing.T) {
	t.Parallel()
	a, _ := newIngestedApp(t)
	ctx := context.Background()
	stored := mustList(t, a, items.Query{Societies: []string{"esr", "rsna", "acr", "wfumb"}, Limit: 200})

	subs := map[string]subscribers.Preferences{
		"ai@hospital.test":         nextHourPrefs([]string{"ai"}, nil, subscribers.FormatHTML),
		"screening@hospital.test":  nextHourPrefs([]string{"screening", "guidelines", "cancer"}, nil, subscribers.FormatHTML),
		"us@hospital.test":         nextHourPrefs([]string{"ultrasound", "safety"}, []string{"wfumb"}, subscribers.FormatText),
		"nothing@hospital.test":    nextHourPrefs([]string{"covid"}, nil, subscribers.FormatHTML),
		"suppressed@hospital.test": nextHourPrefs([]string{"ai"}, nil, subscribers.FormatHTML),
	}
	for email, p := range subs {
		addConfirmed(t, a, email, p)
	}
	if err := a.Suppressions.Put(ctx, subscribers.Suppression{EmailHash: a.Hasher.HashEmail("suppressed@hospital.test"), Reason: subscribers.ReasonBounced, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	left := addConfirmed(t, a, "left@hospital.test", nextHourPrefs([]string{"ai"}, nil, subscribers.FormatHTML))
	left.Status = subscribers.StatusUnsubscribed
	if err := a.Subscribers.Update(ctx, left); err != nil {
		t.Fatal(err)
	}

	slotTime := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	slot := digest.Slot(slotTime)
	planner := a.Planner()
	rep, err := planner.Plan(ctx, delivery.Request{RunID: "test-1", Target: delivery.Target{Kind: delivery.TargetDue, Slot: slot}, Until: slotTime})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Candidates != 5 || rep.Planned != 3 || rep.Skipped[delivery.SkipNothingNew] != 1 || rep.Skipped[delivery.SkipSuppressed] != 1 {
		t.Errorf("plan: %+v; want 5 candidates (not the one who left), 3 planned, 1 with nothing new, 1 suppressed", rep)
	}
	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, a, sender)

	// Planning the same slot again, and the schedule catching up, mail nobody twice.
	if _, err := planner.Plan(ctx, delivery.Request{RunID: "test-2", Target: delivery.Target{Kind: delivery.TargetDue, Slot: slot}, Until: slotTime}); err != nil {
		t.Fatal(err)
	}
	drain(t, a, sender)

	for email, p := range subs {
		box := mailbox(t, a, email)
		want := wants(stored, p)
		switch {
		case email == "suppressed@hospital.test" || len(want) == 0:
			if len(box) != 0 {
				t.Errorf("%s got %d mails, want none", email, len(box))
			}
			continue
		case len(box) != 1:
			t.Errorf("%s got %d mails, want exactly 1", email, len(box))
			continue
		}
		m := box[0]
		for _, it := range stored {
			has := strings.Contains(m.Text, it.Title)
			if slices.Contains(want, it.Title) != has {
				t.Errorf("%s: item %q present=%v, want %v", email, it.Title, has, !has)
			}
		}
		if (p.Format == subscribers.FormatText) != (m.HTML == "") {
			t.Errorf("%s: format %s but HTML part present=%v", email, p.Format, m.HTML != "")
		}
		checkUnsubscribeHeaders(t, m, a.Config.BaseURL)
	}
	if n := len(mailbox(t, a, "left@hospital.test")); n != 0 {
		t.Errorf("an unsubscribed address got %d mails", n)
	}

	// The watermark moved: a new plan for the next slot finds nothing new.
	next := slotTime.Add(24 * time.Hour)
	rep, err = planner.Plan(ctx, delivery.Request{RunID: "test-3", Target: delivery.Target{Kind: delivery.TargetDue, Slot: digest.Slot(next)}, Until: next})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Planned != 0 {
		t.Errorf("the next day's plan sends %d digests of items already sent", rep.Planned)
	}
}

// TestInstantAlerts: after an ingest run with news, each instant
// subscriber gets one alert with all of that run's matching items.
func TestInstantAlerts(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:4]))
	newTestAPI(t, a)
	ctx := context.Background()
	p := subscribers.Preferences{Topics: []string{"ai", "screening", "guidelines", "policy", "safety", "ultrasound", "workforce", "events"}, Frequency: subscribers.Instant}
	addConfirmed(t, a, "alerts@hospital.test", p)
	if _, err := a.Ingest.Run(ctx, ingest.TriggerSchedule); err != nil { // AfterRun plans the alerts
		t.Fatal(err)
	}
	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, a, sender)
	box := mailbox(t, a, "alerts@hospital.test")
	if len(box) != 1 {
		t.Fatalf("%d alerts, want one for the whole run", len(box))
	}
	stored := mustList(t, a, items.Query{Societies: []string{"esr", "rsna", "acr", "wfumb"}, Limit: 200})
	for _, title := range wants(stored, p) {
		if !strings.Contains(box[0].Text, title) {
			t.Errorf("alert lacks %q", title)
		}
	}
	// A run without news sends nothing more.
	if _, err := a.Ingest.Run(ctx, ingest.TriggerManual); err != nil {
		t.Fatal(err)
	}
	drain(t, a, sender)
	if n := len(mailbox(t, a, "alerts@hospital.test")); n != 1 {
		t.Errorf("after a run without news: %d alerts", n)
	}
}

// flakyMail wraps the real SES adapter: some sends fail outright, some time
// out before reaching SES; both must be retried without duplicates.
type flakyMail struct {
	inner email.Sender
	calls atomic.Int64
	mu    sync.Mutex
	seen  map[string]int
}

var errInjected = errors.New("injected SES failure")

func (f *flakyMail) Send(ctx context.Context, m email.Message) (string, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	f.seen[m.To]++
	attempt := f.seen[m.To]
	f.mu.Unlock()
	switch {
	case attempt == 1 && n%3 == 0: // not retryable at once: the job fails and SQS redelivers it
		return "", errInjected
	case attempt == 1 && n%3 == 1: // a timeout: retried at once
		return "", fmt.Errorf("send: %w", context.DeadlineExceeded)
	}
	return f.inner.Send(ctx, m)
}

// duplicatingQueue delivers every job twice, as SQS at-least-once may.
type duplicatingQueue struct{ inner delivery.Queue }

func (d duplicatingQueue) Enqueue(ctx context.Context, jobs []delivery.Job) error {
	return d.inner.Enqueue(ctx, append(slices.Clone(jobs), jobs...))
}

// TestDeliveryFaults: with failing and timing-out sends and every job
// queued twice, two concurrent senders still mail every due subscriber
// exactly once.
func TestDeliveryFaults(t *testing.T) {
	t.Parallel()
	a, _ := newIngestedApp(t)
	ctx := context.Background()
	const n = 60
	var emails []string
	for i := range n {
		email := fmt.Sprintf("reader%02d@hospital.test", i)
		addConfirmed(t, a, email, nextHourPrefs([]string{"ai", "screening", "guidelines"}, nil, subscribers.FormatHTML))
		emails = append(emails, email)
	}
	planner := a.Planner()
	planner.Queue = duplicatingQueue{a.Queue}
	slotTime := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	rep, err := planner.Plan(ctx, delivery.Request{RunID: "faults", Target: delivery.Target{Kind: delivery.TargetDue, Slot: digest.Slot(slotTime)}, Until: slotTime})
	if err != nil || rep.Planned != n {
		t.Fatalf("plan: %+v, %v", rep, err)
	}
	flaky := &flakyMail{inner: a.MailSender, seen: map[string]int{}}
	var wg sync.WaitGroup
	for range 2 {
		sender, err := a.Sender(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sender.Mail = flaky
		wg.Go(func() { drain(t, a, sender) })
	}
	wg.Wait()
	for _, email := range emails {
		if got := len(mailbox(t, a, email)); got != 1 {
			t.Errorf("%s got %d mails, want exactly 1", email, got)
		}
	}
	t.Logf("%d SES calls for %d recipients, with injected failures and every job queued twice", flaky.calls.Load(), n)
}
