package delivery

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// In-memory stand-ins for the stores: the planner's logic is tested here;
// the DynamoDB and SQS adapters are exercised against moto in internal/app.
type memIndex struct {
	mu        sync.Mutex // RecordSent is called concurrently
	subs      map[string]Candidate
	recorded  map[string]time.Time
	slotsSeen []string
}

func (m *memIndex) Due(_ context.Context, slot string) ([]Candidate, error) {
	m.slotsSeen = append(m.slotsSeen, slot)
	var out []Candidate
	for _, c := range m.subs {
		if c.Subscriber.Preferences.Frequency != subscribers.Instant {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memIndex) Active(context.Context) ([]Candidate, error) {
	var out []Candidate
	for _, c := range m.subs {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Candidate) int { return cmp.Compare(a.Subscriber.ID, b.Subscriber.ID) })
	return out, nil
}

func (m *memIndex) GetMany(_ context.Context, ids []string) (map[string]Candidate, error) {
	out := map[string]Candidate{}
	for _, id := range ids {
		if c, ok := m.subs[id]; ok {
			out[id] = c
		}
	}
	return out, nil
}

func (m *memIndex) RecordSent(_ context.Context, id string, until time.Time, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recorded[id] = until
	return nil
}

type memItems []items.Item

func (m memItems) IngestedBetween(_ context.Context, since, until time.Time) ([]items.Item, error) {
	var out []items.Item
	for _, it := range m {
		if it.FirstSeen.After(since) && !it.FirstSeen.After(until) {
			out = append(out, it)
		}
	}
	return out, nil
}

func (m memItems) GetMany(_ context.Context, keys []string) ([]items.Item, error) {
	var out []items.Item
	for _, it := range m {
		if slices.Contains(keys, it.Key) {
			out = append(out, it)
		}
	}
	return out, nil
}

type memSuppressions map[string]subscribers.Reason

func (m memSuppressions) Suppressed(_ context.Context, hashes []string) (map[string]subscribers.Reason, error) {
	out := map[string]subscribers.Reason{}
	for _, h := range hashes {
		if r, ok := m[h]; ok {
			out[h] = r
		}
	}
	return out, nil
}

type memQueue struct{ jobs []Job }

func (q *memQueue) Enqueue(_ context.Context, jobs []Job) error {
	q.jobs = append(q.jobs, jobs...)
	return nil
}

var (
	until = time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	ctx   = context.Background()
)

func candidate(id string, freq subscribers.Frequency, topics ...string) Candidate {
	return Candidate{Subscriber: subscribers.Subscriber{
		ID: id, Email: id + "@example.org", Status: subscribers.StatusConfirmed,
		Preferences: subscribers.Preferences{Topics: topics, Frequency: freq, Hour: 7, TimeZone: "UTC", Format: subscribers.FormatHTML},
	}}
}

func newsItem(key, topic string, firstSeen time.Time) items.Item {
	return items.Item{Key: key, Society: "esr", Title: key, FirstSeen: firstSeen, Published: firstSeen, Topics: []items.TopicScore{{ID: topic, Score: 1}}}
}

// testHasher keys addresses in the tests' suppressions.
var testHasher = func() subscribers.AddressHasher {
	h, err := subscribers.NewAddressHasher(strings.Repeat("pepper-", 6))
	if err != nil {
		panic(err)
	}
	return h
}()

func newPlanner(subs ...Candidate) (*Planner, *memIndex, *memQueue) {
	idx := &memIndex{subs: map[string]Candidate{}, recorded: map[string]time.Time{}}
	for _, c := range subs {
		idx.subs[c.Subscriber.ID] = c
	}
	q := &memQueue{}
	return &Planner{
		Subscribers: idx,
		Items: memItems{
			newsItem("ai-1", "ai", until.Add(-2*time.Hour)),
			newsItem("ai-2", "ai", until.Add(-time.Hour)),
			newsItem("safety-1", "safety", until.Add(-3*time.Hour)),
			newsItem("old-ai", "ai", until.Add(-10*24*time.Hour)), // outside every lookback
			newsItem("future-ai", "ai", until.Add(time.Minute)),   // after the period
		},
		Suppressions: memSuppressions{testHasher.HashEmail("gone@example.org"): subscribers.ReasonComplained},
		Hasher:       testHasher,
		Queue:        q,
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, idx, q
}

func TestPlanTargets(t *testing.T) {
	subs := []Candidate{
		candidate("ada", subscribers.Daily, "ai"),
		candidate("bob", subscribers.Daily, "ai"),
		candidate("cyd", subscribers.Weekly, "safety"),
		candidate("dee", subscribers.Instant, "ai", "safety"),
		candidate("eve", subscribers.Daily, "covid"),
		candidate("gone", subscribers.Daily, "ai"),
	}
	tests := []struct {
		name        string
		target      Target
		wantPlanned int
		wantJobs    int
		wantKind    digest.Kind
		wantSkipped map[string]int
	}{
		{"due", Target{Kind: TargetDue, Slot: "2026-11-22T07"}, 3, 2, digest.KindDigest, map[string]int{SkipNothingNew: 1, SkipSuppressed: 1}},
		{"all", Target{Kind: TargetAll}, 4, 3, digest.KindDigest, map[string]int{SkipNothingNew: 1, SkipSuppressed: 1}},
		{"topic", Target{Kind: TargetTopic, Topic: "safety"}, 2, 2, digest.KindDigest, map[string]int{}},
		{"one subscriber", Target{Kind: TargetSubscriber, SubscriberID: "ada"}, 1, 1, digest.KindDigest, map[string]int{}},
		{"instant", Target{Kind: TargetInstant}, 1, 1, digest.KindAlert, map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, idx, q := newPlanner(subs...)
			rep, err := p.Plan(ctx, Request{RunID: "r1", Target: tt.target, Until: until})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Planned != tt.wantPlanned || rep.Jobs != tt.wantJobs || len(q.jobs) != tt.wantJobs {
				t.Errorf("planned %d in %d jobs (%d queued); want %d in %d", rep.Planned, rep.Jobs, len(q.jobs), tt.wantPlanned, tt.wantJobs)
			}
			for reason, n := range tt.wantSkipped {
				if rep.Skipped[reason] != n {
					t.Errorf("skipped %q = %d, want %d (%v)", reason, rep.Skipped[reason], n, rep.Skipped)
				}
			}
			for _, job := range q.jobs {
				if job.Kind != tt.wantKind || !job.Until.Equal(until) || job.RunID != "r1" {
					t.Errorf("job %+v", job)
				}
				if slices.Contains(job.ItemKeys, "old-ai") || slices.Contains(job.ItemKeys, "future-ai") {
					t.Errorf("job carries items outside the period: %v", job.ItemKeys)
				}
			}
			// Nothing new still closes the period: eve's watermark moved.
			if tt.wantSkipped[SkipNothingNew] > 0 && !idx.recorded["eve"].Equal(until) {
				t.Errorf("eve's watermark: %v", idx.recorded["eve"])
			}
			// So does being suppressed: the schedule must find them again.
			if tt.wantSkipped[SkipSuppressed] > 0 && !idx.recorded["gone"].Equal(until) {
				t.Errorf("the suppressed subscriber's watermark: %v", idx.recorded["gone"])
			}
		})
	}
}

func TestPlanGroupsIdenticalContent(t *testing.T) {
	var subs []Candidate
	for i := range MaxRecipients + 7 {
		subs = append(subs, candidate(fmt.Sprintf("r%03d", i), subscribers.Daily, "ai"))
	}
	subs = append(subs, candidate("safety-reader", subscribers.Daily, "safety"))
	p, _, q := newPlanner(subs...)
	rep, err := p.Plan(ctx, Request{RunID: "r", Target: Target{Kind: TargetAll}, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	// 57 identical "ai" contents: a full job and one of 7; safety its own.
	sizes := []int{}
	for _, j := range q.jobs {
		sizes = append(sizes, len(j.Recipients))
	}
	slices.Sort(sizes)
	if rep.Jobs != 3 || !slices.Equal(sizes, []int{1, 7, MaxRecipients}) {
		t.Errorf("job sizes %v, want [1 7 %d]", sizes, MaxRecipients)
	}
	if rep.Topics["ai"] != MaxRecipients+7 || rep.Topics["safety"] != 1 {
		t.Errorf("per-topic counts %v", rep.Topics)
	}
}

func TestPlanDryRunChangesNothing(t *testing.T) {
	p, idx, q := newPlanner(candidate("ada", subscribers.Daily, "ai"), candidate("eve", subscribers.Daily, "covid"), candidate("gone", subscribers.Daily, "ai"))
	rep, err := p.Plan(ctx, Request{RunID: "dry", Target: Target{Kind: TargetAll}, Until: until, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.jobs) != 0 || len(idx.recorded) != 0 {
		t.Errorf("a dry run queued %d jobs and moved %d watermarks", len(q.jobs), len(idx.recorded))
	}
	if rep.Planned != 1 || len(rep.Recipients) != 3 {
		t.Fatalf("dry run report: %+v", rep)
	}
	byEmail := map[string]PlannedRecipient{}
	for _, r := range rep.Recipients {
		byEmail[r.Email] = r
	}
	if r := byEmail["ada@example.org"]; r.Items != 2 || r.Skip != "" {
		t.Errorf("ada: %+v", r)
	}
	if r := byEmail["eve@example.org"]; r.Skip != SkipNothingNew {
		t.Errorf("eve: %+v", r)
	}
	if r := byEmail["gone@example.org"]; r.Skip != SkipSuppressed+" (complained)" {
		t.Errorf("gone: %+v", r)
	}
	// A run record keeps the recipients by id, never by address.
	redacted := rep.Redacted()
	for i, r := range redacted.Recipients {
		if r.Email != "" || r.SubscriberID == "" || r.SubscriberID != rep.Recipients[i].SubscriberID {
			t.Errorf("redacted recipient %+v of %+v", r, rep.Recipients[i])
		}
	}
	if rep.Recipients[0].Email == "" {
		t.Error("Redacted changed the report it was called on")
	}
}

func TestPlanUnknownSubscriber(t *testing.T) {
	p, _, _ := newPlanner(candidate("ada", subscribers.Daily, "ai"))
	if _, err := p.Plan(ctx, Request{Target: Target{Kind: TargetSubscriber, SubscriberID: "nobody"}, Until: until}); err != ErrUnknownSubscriber {
		t.Errorf("err = %v, want ErrUnknownSubscriber", err)
	}
}

type memState struct{ slot string }

func (m *memState) LastPlannedSlot(context.Context) (string, error)      { return m.slot, nil }
func (m *memState) SetLastPlannedSlot(_ context.Context, s string) error { m.slot = s; return nil }

func TestRunScheduleCatchesUp(t *testing.T) {
	p, idx, _ := newPlanner(candidate("ada", subscribers.Daily, "ai"))
	state := &memState{slot: "2026-11-22T03"}
	reps, err := p.RunSchedule(ctx, state, until.Add(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-11-22T04", "2026-11-22T05", "2026-11-22T06", "2026-11-22T07"}
	if !slices.Equal(idx.slotsSeen, want) || len(reps) != 4 || state.slot != "2026-11-22T07" {
		t.Errorf("planned slots %v (state %s), want %v", idx.slotsSeen, state.slot, want)
	}
	idx.slotsSeen = nil
	if _, err := p.RunSchedule(ctx, state, until.Add(40*time.Minute)); err != nil || len(idx.slotsSeen) != 0 {
		t.Errorf("a second run in the same hour planned %v", idx.slotsSeen)
	}
}

func TestPeriodKey(t *testing.T) {
	a := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	b := a.Add(300 * time.Millisecond)
	if PeriodKey(digest.KindDigest, a) == PeriodKey(digest.KindDigest, b) {
		t.Error("two sends in one second share a ledger key")
	}
	if PeriodKey(digest.KindDigest, a) >= PeriodKey(digest.KindDigest, b) || PeriodKey(digest.KindDigest, b) >= PeriodKey(digest.KindDigest, a.Add(time.Second)) {
		t.Error("period keys do not sort as their times")
	}
	if PeriodKey(digest.KindDigest, a) == PeriodKey(digest.KindAlert, a) {
		t.Error("a digest and an alert of one instant share a key")
	}
	if got := PeriodKey(digest.KindDigest, a.In(time.FixedZone("X", 3600))); got != PeriodKey(digest.KindDigest, a) {
		t.Errorf("the key depends on the time's zone: %s", got)
	}
}
