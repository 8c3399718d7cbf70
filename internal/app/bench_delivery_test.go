package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/dynamo"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/lambdaevents"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// confirmedSubscriber is a subscriber as the confirm flow leaves one, with
// normalized preferences, ready for Import.
func confirmedSubscriber(tb testing.TB, a *App, id, email string, p subscribers.Preferences) subscribers.Subscriber {
	tb.Helper()
	p, err := p.Normalize(a.catalog)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC()
	return subscribers.Subscriber{
		ID: id, Email: email, Status: subscribers.StatusConfirmed, Preferences: p,
		CreatedAt: now, ConfirmedAt: now, UpdatedAt: now,
	}
}

// consume runs a consumer until the queue has stayed empty for three polls
// in a row. It may run in a goroutine, so it reports with Errorf.
func consume(tb testing.TB, c *lambdaevents.SQSSource, timeout time.Duration) {
	tb.Helper()
	empty := 0
	for deadline := time.Now().Add(timeout); empty < 3; {
		if time.Now().After(deadline) {
			tb.Errorf("the queue did not drain within %s", timeout)
			return
		}
		n, err := c.Poll(context.Background())
		if err != nil {
			tb.Error(err)
			return
		}
		if n == 0 {
			empty++
		} else {
			empty = 0
		}
	}
}

// countingMail counts the calls that reach the mail system.
type countingMail struct {
	inner email.Sender
	calls atomic.Int64
}

func (c *countingMail) Send(ctx context.Context, m email.Message) (string, error) {
	c.calls.Add(1)
	return c.inner.Send(ctx, m)
}

// TestImportSeedsIndexes: imported subscribers are where the flows and the
// planner look for them, and Import skips the address check Create makes.
func TestImportSeedsIndexes(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:4]))
	ctx := context.Background()
	slot := digest.Slot(time.Now().UTC().Truncate(time.Hour).Add(time.Hour))

	var subs []subscribers.Subscriber
	for i := range 40 { // more than one batch of 25 writes
		subs = append(subs, confirmedSubscriber(t, a, fmt.Sprintf("imp-%02d", i), fmt.Sprintf("imp%02d@hospital.test", i),
			nextHourPrefs([]string{"ai"}, nil, subscribers.FormatHTML)))
	}
	subs[0].Preferences.Frequency = subscribers.Instant
	subs[1].Status = subscribers.StatusUnsubscribed
	if err := a.Subscribers.Import(ctx, subs); err != nil {
		t.Fatal(err)
	}

	got, err := a.Subscribers.GetByEmail(ctx, "imp07@hospital.test")
	if err != nil || got.ID != "imp-07" || got.Status != subscribers.StatusConfirmed || !slices.Equal(got.Preferences.Topics, []string{"ai"}) {
		t.Errorf("GetByEmail after Import: %+v, %v", got, err)
	}
	due := everyShard(t, func(shard int) ([]delivery.Candidate, error) { return a.Subscribers.Due(ctx, slot, shard) })
	if len(due) != 38 {
		t.Errorf("%d subscribers due in %s, want the 38 confirmed daily ones", len(due), slot)
	}
	active := everyShard(t, func(shard int) ([]delivery.Candidate, error) { return a.Subscribers.Active(ctx, shard) })
	if len(active) != 39 {
		t.Errorf("%d active subscribers, want 39 (all but the unsubscribed)", len(active))
	}
	instant := everyShard(t, func(shard int) ([]delivery.Candidate, error) { return a.Subscribers.Instant(ctx, shard) })
	if len(instant) != 1 || instant[0].Subscriber.ID != subs[0].ID {
		t.Errorf("instant subscribers %+v, want only the one who asked for alerts", instant)
	}
	taken := subscribers.Subscriber{ID: "someone-else", Email: "imp07@hospital.test", Status: subscribers.StatusPending}
	if err := a.Subscribers.Create(ctx, taken); !errors.Is(err, subscribers.ErrExists) {
		t.Errorf("Create of an imported address: %v, want ErrExists", err)
	}

	// Importing again overwrites.
	subs[7].Preferences.Topics = []string{"safety"}
	if err := a.Subscribers.Import(ctx, subs[7:8]); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Subscribers.Get(ctx, "imp-07"); !slices.Equal(got.Preferences.Topics, []string{"safety"}) {
		t.Errorf("re-imported topics %v, want [safety]", got.Preferences.Topics)
	}
}

// BenchmarkDeliveryEndToEnd plans one hour's slot for 10,000 confirmed
// subscribers and drains the queue with two senders, against moto. It
// reports the wall time of plan plus send, mails per second, and DynamoDB
// and SES calls per digest, then checks that every recipient with matching
// items got exactly one mail. The run is the benchmark: use -benchtime 1x.
// moto is far slower than the real services, so the rates are lower
// bounds; the calls per digest are what carries over to AWS.
func BenchmarkDeliveryEndToEnd(b *testing.B) {
	const n = 10_000
	fs := newFeedServer(b)
	a := newTestApp(b, fs.writeRegistry(b, testFeeds[:4]))
	newTestAPI(b, a)
	ctx := context.Background()
	if _, err := a.Ingest.Run(ctx, ingest.TriggerSchedule); err != nil {
		b.Fatal(err)
	}
	stored := mustList(b, a, items.Query{Societies: []string{"esr", "rsna", "acr", "wfumb"}, Limit: 200})

	// Varied preferences: topic sets that match much, little or nothing,
	// some limited to societies, both formats; every one due next hour.
	topicSets := [][]string{
		{"ai"}, {"screening", "guidelines", "cancer"}, {"ultrasound", "safety"}, {"covid"},
		{"ai", "research"}, {"policy", "workforce"}, {"education", "events"}, {"cancer", "safety", "ai"},
	}
	societySets := [][]string{nil, nil, {"esr"}, {"rsna", "acr"}, {"wfumb"}}
	formats := []subscribers.Format{subscribers.FormatHTML, subscribers.FormatText}
	subs := make([]subscribers.Subscriber, n)
	wantMail := map[string]bool{}
	for i := range n {
		p := nextHourPrefs(topicSets[i%len(topicSets)], societySets[(i/len(topicSets))%len(societySets)], formats[(i/7)%2])
		email := fmt.Sprintf("reader%05d@hospital.test", i)
		subs[i] = confirmedSubscriber(b, a, fmt.Sprintf("bench-%05d", i), email, p)
		wantMail[email] = len(wants(stored, subs[i].Preferences)) > 0
	}
	importStart := time.Now()
	if err := a.Subscribers.Import(ctx, subs); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d subscribers in %s", n, time.Since(importStart).Round(time.Millisecond))

	// The planner and senders over a counting DynamoDB client and SES.
	counter := &callCounter{calls: map[string]int{}}
	db := dynamodb.NewFromConfig(a.AWS, counter.option)
	subscriberStore := dynamo.NewSubscriberStore(db, a.Config.SubscribersTable)
	itemStore := dynamo.NewItemStore(db, a.Config.ItemsTable)
	suppressions := dynamo.NewSuppressionStore(db, a.Config.SuppressionsTable)
	ledger := dynamo.NewLedger(db, a.Config.SendsTable, time.Now)
	ses := &countingMail{inner: a.MailSender}
	planner := a.Planner()
	planner.Subscribers, planner.Items, planner.Suppressions = subscriberStore, itemStore, suppressions
	var consumers []*lambdaevents.SQSSource
	for range 2 {
		sender, err := a.Sender(ctx)
		if err != nil {
			b.Fatal(err)
		}
		sender.Subscribers, sender.Items, sender.Suppressions, sender.Ledger, sender.Mail = subscriberStore, itemStore, suppressions, ledger, ses
		consumers = append(consumers, &lambdaevents.SQSSource{Queue: a.Queue, Handler: sendHandler(b, a, sender), Log: a.Log})
	}

	slotTime := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	var rep delivery.Report
	var planTime, elapsed time.Duration
	runs := 0
	for b.Loop() {
		if runs++; runs > 1 {
			b.Fatal("one run delivers the slot; later ones would find nobody due: use -benchtime 1x")
		}
		start := time.Now()
		var err error
		rep, err = planner.Plan(ctx, delivery.Request{RunID: "bench", Target: delivery.Target{Kind: delivery.TargetDue, Slot: digest.Slot(slotTime)}, Until: slotTime})
		if err != nil {
			b.Fatal(err)
		}
		planTime = time.Since(start)
		var wg sync.WaitGroup
		for _, c := range consumers {
			wg.Go(func() { consume(b, c, 15*time.Minute) })
		}
		wg.Wait()
		elapsed = time.Since(start)
	}

	digests := float64(rep.Planned)
	writes := counter.sum("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
	reads := counter.sum("GetItem", "BatchGetItem", "Query", "Scan")
	b.ReportMetric(elapsed.Seconds(), "wall-s")
	b.ReportMetric(float64(ses.calls.Load())/elapsed.Seconds(), "mails/s")
	b.ReportMetric(float64(reads)/digests, "reads/digest")
	b.ReportMetric(float64(writes)/digests, "writes/digest")
	b.ReportMetric(float64(ses.calls.Load())/digests, "ses-calls/digest")
	b.Logf("plan: %d candidates, %d digests in %d jobs, skipped %v, in %s; plan and send in %s",
		rep.Candidates, rep.Planned, rep.Jobs, rep.Skipped, planTime.Round(time.Millisecond), elapsed.Round(time.Millisecond))
	b.Logf("DynamoDB calls: %v", strings.ReplaceAll(fmt.Sprint(counter.calls), "map", ""))

	b.StopTimer()
	want := 0
	for _, ok := range wantMail {
		if ok {
			want++
		}
	}
	if rep.Candidates != n || rep.Planned != want {
		b.Errorf("plan: %d candidates, %d planned; want %d and %d", rep.Candidates, rep.Planned, n, want)
	}
	sent := sentMessages(b, a)
	got := map[string]int{}
	for _, m := range sent {
		// moto lists the envelope recipient and the To header both.
		for _, to := range slices.Compact(slices.Sorted(slices.Values(m.Destinations))) {
			got[to]++
		}
	}
	wrong, mailed := 0, 0
	for _, email := range slices.Sorted(maps.Keys(wantMail)) {
		mailed += got[email]
		if w := map[bool]int{true: 1}[wantMail[email]]; got[email] != w {
			if wrong++; wrong <= 10 {
				b.Errorf("%s got %d mails, want %d", email, got[email], w)
			}
		}
	}
	if wrong > 0 || mailed != want {
		b.Errorf("%d recipients with the wrong number of mails; moto holds %d mails for them, want %d", wrong, mailed, want)
	}
}
