package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// shardedIndex holds a list of subscribers by shard, as the DynamoDB
// indexes do; each query returns a fresh slice, as decoding a query does.
type shardedIndex struct {
	shards [Shards][]Candidate
	closed atomic.Int64 // periods closed with nothing to send
}

func (x *shardedIndex) Due(_ context.Context, _ string, shard int) ([]Candidate, error) {
	return slices.Clone(x.shards[shard]), nil
}
func (x *shardedIndex) Active(_ context.Context, shard int) ([]Candidate, error) {
	return slices.Clone(x.shards[shard]), nil
}
func (x *shardedIndex) Instant(context.Context, int) ([]Candidate, error) { return nil, nil }
func (x *shardedIndex) GetMany(context.Context, []string) (map[string]Candidate, error) {
	return nil, nil
}
func (x *shardedIndex) RecordSent(context.Context, string, time.Time, string) error {
	x.closed.Add(1)
	return nil
}

// countingQueue keeps counts, not jobs: the queue is SQS, not this process.
type countingQueue struct{ jobs, recipients atomic.Int64 }

func (q *countingQueue) Enqueue(_ context.Context, jobs []Job) error {
	q.jobs.Add(int64(len(jobs)))
	for _, j := range jobs {
		q.recipients.Add(int64(len(j.Recipients)))
	}
	return nil
}

var benchTopics = []string{"ai", "screening", "safety", "guidelines", "oncology", "education", "events", "workforce", "ultrasound", "cardiac", "neuro", "policy"}
var benchSocieties = []string{"esr", "rsna", "acr", "aosr", "isr", "wfumb", "wmis"}

// dayOfItems is a day of news from 200 feeds: 300 items, one or two topics each.
func dayOfItems(until time.Time, n int, rng *rand.Rand) []items.Item {
	out := make([]items.Item, n)
	for i := range out {
		seen := until.Add(-time.Duration(rng.IntN(24*60)) * time.Minute)
		out[i] = items.Item{
			Key: fmt.Sprintf("item-%04d", i), Society: benchSocieties[rng.IntN(len(benchSocieties))],
			Title: fmt.Sprintf("News %d", i), FirstSeen: seen, Published: seen,
			Topics: []items.TopicScore{{ID: benchTopics[rng.IntN(len(benchTopics))], Score: 1}},
		}
		if rng.IntN(3) == 0 {
			out[i].Topics = append(out[i].Topics, items.TopicScore{ID: benchTopics[rng.IntN(len(benchTopics))], Score: 0.5})
		}
	}
	return out
}

// millionDue is n daily subscribers all due in one hour, with one to three
// topics and, for a third of them, a choice of societies.
func millionDue(n int, rng *rand.Rand) *shardedIndex {
	x := &shardedIndex{}
	for i := range n {
		id := fmt.Sprintf("sub-%07d", i)
		p := subscribers.Preferences{Frequency: subscribers.Daily, Hour: 7, TimeZone: "UTC", Format: subscribers.FormatHTML}
		for range 1 + rng.IntN(3) {
			if t := benchTopics[rng.IntN(len(benchTopics))]; !slices.Contains(p.Topics, t) {
				p.Topics = append(p.Topics, t)
			}
		}
		if rng.IntN(3) == 0 {
			p.Societies = []string{benchSocieties[rng.IntN(len(benchSocieties))]}
		}
		slices.Sort(p.Topics) // as Preferences.Normalize leaves them
		c := Candidate{Subscriber: subscribers.Subscriber{ID: id, Email: id + "@hospital.test", Status: subscribers.StatusConfirmed, Preferences: p}}
		shard := ShardOf(id)
		x.shards[shard] = append(x.shards[shard], c)
	}
	return x
}

// heapSampler records the most heap in use while it runs, less what was in
// use when it started: the plan's own peak, not the fixtures'.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	base uint64
	peak uint64
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{}), base: liveHeap()}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			h.peak = max(h.peak, liveHeap())
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// Stop returns the peak above the base, in bytes.
func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	h.peak = max(h.peak, liveHeap())
	return h.peak - min(h.base, h.peak)
}

// BenchmarkPlanMillion plans one hour's slot of 1,000,000 due daily
// subscribers over a day of items, shard by shard as the planner function's
// invocations do, one after another on one core (-cpu 1). It reports the
// wall time of all shards, of the slowest shard, and the peak heap of a
// shard's plan, summed over the shards and the largest.
//
//	go test -run '^$' -bench PlanMillion -benchtime 1x -cpu 1 ./internal/delivery/
func BenchmarkPlanMillion(b *testing.B) {
	const n = 1_000_000
	rng := rand.New(rand.NewPCG(1, 2))
	until := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	idx := millionDue(n, rng)
	news := memItems(dayOfItems(until, 300, rng))
	benchPlan(b, idx, news, n)
}

// benchPlan plans the due slot of idx's n subscribers over news, shard by
// shard, and reports the wall time (of all shards, of the slowest, and per
// subscriber) and the peak heap of a shard's plan.
func benchPlan(b *testing.B, idx *shardedIndex, news memItems, n int) {
	suppressed := memSuppressions{}
	for i := range n / 100 { // 1% suppressed
		suppressed[testHasher.HashEmail(fmt.Sprintf("sub-%07d@hospital.test", i*100))] = subscribers.ReasonBounced
	}
	until := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	q := &countingQueue{}
	p := &Planner{Subscribers: idx, Items: news, Suppressions: suppressed, Hasher: testHasher, Queue: q, Log: slog.New(slog.DiscardHandler)}
	var reps []Report
	for b.Loop() {
		reps = reps[:0]
		var total, slowest time.Duration
		var peakSum, peakMax uint64
		for shard := range Shards {
			sampler := startHeapSampler()
			began := time.Now()
			rep, err := p.Plan(context.Background(), Request{RunID: "bench", Target: Target{Kind: TargetDue, Slot: "2026-11-30T07"}, Until: until, Shard: shard, Sharded: true})
			took := time.Since(began)
			peak := sampler.Stop()
			if err != nil {
				b.Fatal(err)
			}
			reps = append(reps, rep)
			total += took
			slowest = max(slowest, took)
			peakSum += peak
			peakMax = max(peakMax, peak)
		}
		b.ReportMetric(total.Seconds(), "s-all-shards")
		b.ReportMetric(float64(total.Microseconds())/float64(n), "µs/subscriber")
		b.ReportMetric(float64(slowest.Milliseconds()), "ms-slowest-shard")
		b.ReportMetric(float64(peakSum)/(1<<20), "MiB-peak-summed")
		b.ReportMetric(float64(peakMax)/(1<<20), "MiB-peak-largest-shard")
	}
	var sum Report
	sum.Skipped, sum.Topics = map[string]int{}, map[string]int{}
	for _, r := range reps {
		sum.Merge(r)
	}
	if sum.Candidates != n || sum.Planned+sum.Skipped[SkipNothingNew]+sum.Skipped[SkipSuppressed] != n {
		b.Fatalf("planned %d of %d candidates, skipped %v", sum.Planned, sum.Candidates, sum.Skipped)
	}
	b.ReportMetric(float64(sum.Planned), "planned")
	b.ReportMetric(float64(sum.Jobs), "jobs")
}
