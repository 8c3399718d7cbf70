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

func (m *memIndex) Due(_ context.Context, slot string, shard int) ([]Candidate, error) {
	m.mu.Lock()
	if shard == 0 {
		m.slotsSeen = append(m.slotsSeen, slot)
	}
	m.mu.Unlock()
	return m.shard(shard, func(c Candidate) bool { return c.Subscriber.Preferences.Frequency != subscribers.Instant }), nil
}

func (m *memIndex) Active(_ context.Context, shard int) ([]Candidate, error) {
	return m.shard(shard, func(Candidate) bool { return true }), nil
}

func (m *memIndex) Instant(_ context.Context, shard int) ([]Candidate, error) {
	return m.shard(shard, func(c Candidate) bool { return c.Subscriber.Preferences.Frequency == subscribers.Instant }), nil
}

// shard lists the shard's subscribers that keep says to, by id.
func (m *memIndex) shard(shard int, keep func(Candidate) bool) []Candidate {
	var out []Candidate
	for _, c := range m.subs {
		if ShardOf(c.Subscriber.ID) == shard && keep(c) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Candidate) int { return cmp.Compare(a.Subscriber.ID, b.Subscriber.ID) })
	return out
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

type memQueue struct {
	mu   sync.Mutex // shards are planned concurrently
	jobs []Job
}

func (q *memQueue) Enqueue(_ context.Context, jobs []Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
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
			// Each shard groups its own recipients: identical content in
			// two shards is two jobs.
			queued := 0
			for _, j := range q.jobs {
				queued += len(j.Recipients)
			}
			if rep.Planned != tt.wantPlanned || queued != tt.wantPlanned || rep.Jobs != len(q.jobs) || rep.Jobs < tt.wantJobs {
				t.Errorf("planned %d in %d jobs (%d queued for %d); want %d in at least %d", rep.Planned, rep.Jobs, len(q.jobs), queued, tt.wantPlanned, tt.wantJobs)
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

// idsInShard returns n subscriber ids of one shard.
func idsInShard(shard, n int, prefix string) []string {
	var ids []string
	for i := 0; len(ids) < n; i++ {
		if id := fmt.Sprintf("%s%04d", prefix, i); ShardOf(id) == shard {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestPlanGroupsIdenticalContent(t *testing.T) {
	var subs []Candidate
	for _, id := range idsInShard(3, MaxRecipients+7, "r") {
		subs = append(subs, candidate(id, subscribers.Daily, "ai"))
	}
	subs = append(subs, candidate(idsInShard(3, 1, "safety")[0], subscribers.Daily, "safety"))
	subs = append(subs, candidate(idsInShard(4, 1, "other")[0], subscribers.Daily, "ai"))
	p, _, q := newPlanner(subs...)
	rep, err := p.Plan(ctx, Request{RunID: "r", Target: Target{Kind: TargetAll}, Until: until, Shard: 3, Sharded: true})
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

type memPlans struct {
	mu   sync.Mutex
	reqs []Request
}

func (m *memPlans) EnqueuePlans(_ context.Context, reqs []Request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reqs = append(m.reqs, reqs...)
	return nil
}

func TestStartSplitsARunIntoShards(t *testing.T) {
	subs := []Candidate{candidate("ada", subscribers.Daily, "ai"), candidate("bob", subscribers.Daily, "ai"), candidate("dee", subscribers.Instant, "ai")}
	tests := []struct {
		name        string
		target      Target
		wantShards  int  // requests on the plan queue
		wantStarted bool // listed in the history before any shard is planned
		wantPlanned int  // planned at once
	}{
		{"an admin's send to all", Target{Kind: TargetAll}, Shards, true, 0},
		{"an admin's send to a topic", Target{Kind: TargetTopic, Topic: "ai"}, Shards, true, 0},
		{"a scheduled hour", Target{Kind: TargetDue, Slot: "2026-11-22T07"}, Shards, false, 0},
		{"alerts", Target{Kind: TargetInstant}, Shards, false, 0},
		{"one subscriber", Target{Kind: TargetSubscriber, SubscriberID: "ada"}, 0, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, q := newPlanner(subs...)
			plans, runs := &memPlans{}, &memRuns{}
			p.Plans, p.Runs = plans, runs
			req := Request{RunID: "r", Target: tt.target, Until: until, StartedBy: "someone"}
			rep, err := p.Start(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(plans.reqs) != tt.wantShards || rep.Planned != tt.wantPlanned {
				t.Fatalf("%d shards queued, %d planned at once; want %d and %d", len(plans.reqs), rep.Planned, tt.wantShards, tt.wantPlanned)
			}
			if got := len(runs.started) == 1; got != tt.wantStarted {
				t.Errorf("listed before planning: %v, want %v", got, tt.wantStarted)
			}
			for i, shard := range plans.reqs {
				want := req
				want.Shard, want.Sharded = i, true
				if shard != want {
					t.Errorf("shard %d: %+v, want %+v", i, shard, want)
				}
			}
			if tt.wantShards == 0 {
				return
			}
			// Planning every queued shard plans the run once.
			total := newReport(req)
			for _, shard := range plans.reqs {
				rep, err := p.Plan(ctx, shard)
				if err != nil {
					t.Fatal(err)
				}
				total.Merge(rep)
			}
			queued := map[string]int{}
			for _, j := range q.jobs {
				for _, r := range j.Recipients {
					queued[r.SubscriberID]++
				}
			}
			for id, n := range queued {
				if n != 1 {
					t.Errorf("%s queued %d times", id, n)
				}
			}
			if total.Planned != len(queued) || total.Planned == 0 {
				t.Errorf("planned %d, queued %v", total.Planned, queued)
			}
		})
	}
}

func TestMergeKeepsTheSampleBounded(t *testing.T) {
	total := newReport(Request{RunID: "r"})
	for shard := range Shards {
		rep := newReport(Request{RunID: "r"})
		rep.Candidates, rep.Planned, rep.Jobs, rep.Skipped[SkipNothingNew], rep.Topics["ai"] = 100, 90, 2, 10, 90
		for i := range sampleOf(Request{Sharded: true}) + 5 {
			rep.Recipients = append(rep.Recipients, PlannedRecipient{SubscriberID: fmt.Sprintf("s%02d-%03d", shard, i)})
		}
		total.Merge(rep)
	}
	if total.Candidates != 100*Shards || total.Planned != 90*Shards || total.Jobs != 2*Shards || total.Skipped[SkipNothingNew] != 10*Shards || total.Topics["ai"] != 90*Shards {
		t.Errorf("merged counts %+v", total)
	}
	if len(total.Recipients) != maxReportedRecipients {
		t.Errorf("merged sample of %d recipients, want at most %d", len(total.Recipients), maxReportedRecipients)
	}
}

// An alert subscriber with nothing new costs no write: only a digest
// subscriber's period is closed (their next due hour must move on).
func TestAlertsWithNothingNewWriteNothing(t *testing.T) {
	p, idx, q := newPlanner(candidate("dee", subscribers.Instant, "covid"), candidate("eve", subscribers.Daily, "covid"))
	if _, err := p.Plan(ctx, Request{RunID: "alerts", Target: Target{Kind: TargetInstant}, Until: until}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Plan(ctx, Request{RunID: "due", Target: Target{Kind: TargetDue, Slot: "2026-11-22T07"}, Until: until}); err != nil {
		t.Fatal(err)
	}
	if len(q.jobs) != 0 {
		t.Fatalf("queued %d jobs for nothing new", len(q.jobs))
	}
	if _, ok := idx.recorded["dee"]; ok {
		t.Error("an alert with nothing new moved the subscriber's watermark")
	}
	if !idx.recorded["eve"].Equal(until) {
		t.Errorf("the digest subscriber's period was not closed: %v", idx.recorded["eve"])
	}
}
