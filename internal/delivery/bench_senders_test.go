package delivery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// BenchmarkConcurrentSenders runs N sender instances (N = 1, 4, 16) over
// one queue of jobs against a fake SES that enforces an account-wide rate
// (a token bucket) and throttles beyond it. Each instance paces itself at
// InstanceRate(account, 0, N), as the sender function does. It reports the
// aggregate rate as a percentage of the account's (goal 90-100%), SES's
// throttles, and the duplicated and lost mails (goal 0 and 0); the
// "killed" variants cut a quarter of the invocations short mid-batch
// (context cancelled) and hand their whole batch back to the queue, as
// Lambda does with a crashed invocation.
//
//	go test -run '^$' -bench ConcurrentSenders -benchtime 1x -cpu 1 ./internal/delivery/
func BenchmarkConcurrentSenders(b *testing.B) {
	const accountRate = 2000 // mails per second: high, so that a run takes seconds
	for _, killed := range []bool{false, true} {
		for _, n := range []int{1, 4, 16} {
			name := fmt.Sprintf("senders=%d", n)
			if killed {
				name += "/killed"
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					r := runSenders(b, n, accountRate, killed)
					b.ReportMetric(r.pctOfAccount, "%account_rate")
					b.ReportMetric(float64(r.duplicates), "duplicates")
					b.ReportMetric(float64(r.lost), "lost")
					b.ReportMetric(float64(r.throttles), "throttles")
					b.ReportMetric(float64(r.kills), "kills")
					b.ReportMetric(float64(r.mails), "mails")
				}
			})
		}
	}
}

type sendersResult struct {
	pctOfAccount            float64
	mails, duplicates, lost int
	throttles, kills        int
}

// Sizes of the run: jobs of benchJobSize recipients, benchBatch jobs an
// invocation (as the template's BatchSize), enough mails for about three
// seconds at the account's rate.
const (
	benchJobSize = 10
	benchBatch   = 5
	benchMails   = 6000
)

func runSenders(tb testing.TB, n int, accountRate float64, kill bool) sendersResult {
	tb.Helper()
	var subs []Candidate
	for i := range benchMails {
		subs = append(subs, candidate(fmt.Sprintf("s%05d", i), subscribers.Daily, "ai"))
	}
	idx := &memIndex{subs: map[string]Candidate{}, recorded: map[string]time.Time{}}
	for _, c := range subs {
		idx.subs[c.Subscriber.ID] = c
	}
	q := &benchQueue{}
	for i := 0; i < len(subs); i += benchJobSize {
		var ids []string
		for _, c := range subs[i:min(i+benchJobSize, len(subs))] {
			ids = append(ids, c.Subscriber.ID)
		}
		q.jobs = append(q.jobs, digestJob(ids...))
	}
	ses := &rateSES{bucket: rate.NewLimiter(rate.Limit(accountRate), max(1, int(accountRate/20))), sent: map[string]int{}}
	ledger := &syncLedger{l: newLedger()}
	share := InstanceRate(accountRate, 0, n)

	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	kills := 0
	for i := range n {
		s := &Sender{
			Subscribers:  idx,
			Items:        memItems{newsItem("ai-1", "ai", until.Add(-time.Hour)), newsItem("ai-2", "ai", until.Add(-2*time.Hour))},
			Suppressions: memSuppressions{},
			Hasher:       testHasher,
			Ledger:       ledger,
			Renderer:     &memRenderer{}, // one per instance: it counts
			Mail:         ses,
			Limiter:      NewRateLimiter(share),
			Classify:     classifyTest,
			Lease:        lease,
			Rate:         share,
		}
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		wg.Go(func() {
			for {
				batch, ok := q.take(benchBatch)
				if !ok {
					return
				}
				ctx, cancel := context.WithCancel(context.Background())
				if kill && rng.IntN(4) == 0 {
					// Killed somewhere in the batch's expected time.
					expected := time.Duration(float64(len(batch)*benchJobSize) / share * float64(time.Second))
					time.AfterFunc(time.Duration(rng.Int64N(int64(expected))), cancel)
					mu.Lock()
					kills++
					mu.Unlock()
				}
				failed := invoke(ctx, s, batch)
				if ctx.Err() != nil {
					failed = batch // a killed invocation's records all come back
				}
				cancel()
				q.done(batch, failed)
			}
		})
	}
	wg.Wait()

	res := sendersResult{throttles: ses.throttles, kills: kills}
	busy := q.firstEmpty.Sub(start).Seconds()
	res.pctOfAccount = 100 * float64(ses.sentAt(q.firstEmpty)) / busy / accountRate
	for _, c := range subs {
		switch k := ses.sent[c.Subscriber.Email]; {
		case k == 0:
			res.lost++
		case k > 1:
			res.duplicates += k - 1
		}
		res.mails += ses.sent[c.Subscriber.Email]
	}
	if res.duplicates > 0 || res.lost > 0 {
		tb.Errorf("%d senders (killed %v): %d duplicates, %d lost", n, kill, res.duplicates, res.lost)
	}
	return res
}

// invoke is one invocation of the sender function over a batch, as
// lambdaevents.SendJobs runs it: it returns the jobs handed back.
func invoke(ctx context.Context, s *Sender, batch []Job) (failed []Job) {
	ctx, err := s.Begin(ctx)
	if err != nil {
		return batch
	}
	for i, job := range batch {
		if s.Continue(ctx) != nil {
			return append(failed, batch[i:]...)
		}
		if err := s.Send(ctx, job); err != nil {
			failed = append(failed, job)
			if Halts(err) || ctx.Err() != nil {
				return append(failed, batch[i+1:]...)
			}
		}
	}
	return failed
}

// benchQueue hands out batches of jobs; jobs handed back are queued again.
// It notes when it first ran dry: until then every sender was busy, and
// the rate measured over that time is the steady one.
type benchQueue struct {
	mu         sync.Mutex
	jobs       []Job
	inFlight   int
	firstEmpty time.Time
}

func (q *benchQueue) take(n int) ([]Job, bool) {
	for {
		q.mu.Lock()
		if len(q.jobs) > 0 {
			k := min(n, len(q.jobs))
			batch := append([]Job(nil), q.jobs[:k]...)
			q.jobs = q.jobs[k:]
			q.inFlight += k
			if len(q.jobs) == 0 && q.firstEmpty.IsZero() {
				q.firstEmpty = time.Now()
			}
			q.mu.Unlock()
			return batch, true
		}
		idle := q.inFlight == 0
		q.mu.Unlock()
		if idle {
			return nil, false
		}
		time.Sleep(time.Millisecond) // others may hand jobs back
	}
}

func (q *benchQueue) done(batch, failed []Job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inFlight -= len(batch)
	q.jobs = append(q.jobs, failed...)
}

// rateSES accepts mails at the account's rate and throttles beyond it, as
// SES does; it counts the mails each address received.
type rateSES struct {
	bucket    *rate.Limiter
	mu        sync.Mutex
	sent      map[string]int
	times     []time.Time
	throttles int
}

func (s *rateSES) Send(ctx context.Context, m email.Message) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.bucket.Allow() {
		s.throttles++
		return "", errThrottled
	}
	s.sent[m.To]++
	s.times = append(s.times, time.Now())
	return fmt.Sprintf("ses-%d", len(s.times)), nil
}

// sentAt counts the mails accepted by t.
func (s *rateSES) sentAt(t time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, at := range s.times {
		if !at.After(t) {
			n++
		}
	}
	return n
}

// syncLedger is memLedger for concurrent senders.
type syncLedger struct {
	mu sync.Mutex
	l  *memLedger
}

func (s *syncLedger) Claim(ctx context.Context, e Entry, lease time.Duration) (bool, Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, Entry{}, err
	}
	return s.l.Claim(ctx, e, lease)
}

func (s *syncLedger) Finish(ctx context.Context, e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return errors.New("ledger write after the invocation ended: " + err.Error())
	}
	return s.l.Finish(ctx, e)
}
