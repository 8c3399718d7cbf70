package delivery

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// memRuns records the runs a planner reports: the shards' reports, and
// the runs started before any shard was planned.
type memRuns struct {
	mu      sync.Mutex
	started []Request
	runs    []Request
	reports []Report
}

func (m *memRuns) StartRun(_ context.Context, req Request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started = append(m.started, req)
	return nil
}

func (m *memRuns) RecordRun(_ context.Context, req Request, rep Report) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs = append(m.runs, req)
	m.reports = append(m.reports, rep)
	return nil
}

type failingQueue struct{ err error }

func (q failingQueue) Enqueue(context.Context, []Job) error { return q.err }

func TestAlertAfterIngest(t *testing.T) {
	subs := []Candidate{
		candidate("ada", subscribers.Daily, "ai"),
		candidate("dee", subscribers.Instant, "ai", "safety"),
	}
	// The run ended at until, told in another zone: the run id is in UTC.
	finished := until.In(time.FixedZone("CET", 3600))

	t.Run("no news plans nothing", func(t *testing.T) {
		p, _, q := newPlanner(subs...)
		runs := &memRuns{}
		p.Runs = runs
		p.AlertAfterIngest(ctx, 0, finished)
		if len(q.jobs) != 0 || len(runs.runs) != 0 {
			t.Errorf("an ingest without news planned %d jobs, %d runs", len(q.jobs), len(runs.runs))
		}
	})

	t.Run("news plans the instant subscribers' alerts", func(t *testing.T) {
		p, _, q := newPlanner(subs...)
		runs := &memRuns{}
		p.Runs = runs
		p.AlertAfterIngest(ctx, 3, finished)
		if len(q.jobs) != 1 {
			t.Fatalf("%d jobs queued, want 1", len(q.jobs))
		}
		job := q.jobs[0]
		if job.RunID != "alerts-20261122T070000" || job.Kind != digest.KindAlert || !job.Until.Equal(until) ||
			len(job.Recipients) != 1 || job.Recipients[0].SubscriberID != "dee" {
			t.Errorf("job %+v", job)
		}
		want := Request{RunID: "alerts-20261122T070000", Target: Target{Kind: TargetInstant}, Until: finished, StartedBy: "ingest", Shard: ShardOf("dee"), Sharded: true}
		if len(runs.runs) != 1 || runs.runs[0] != want {
			t.Errorf("runs recorded: %+v, want %+v", runs.runs, want)
		}
	})

	t.Run("a failure is logged", func(t *testing.T) {
		p, _, _ := newPlanner(subs...)
		var logs bytes.Buffer
		p.Log = slog.New(slog.NewTextHandler(&logs, nil))
		p.Queue = failingQueue{errors.New("queue unavailable")}
		p.AlertAfterIngest(ctx, 1, finished)
		if !strings.Contains(logs.String(), "plan alerts") || !strings.Contains(logs.String(), "queue unavailable") {
			t.Errorf("logs: %s", logs.String())
		}
	})
}

// TestFirstAlertNoBackfill: a subscriber who confirmed during the day gets,
// in their first alert, only what arrived after they confirmed; one with a
// watermark gets what arrived after it.
func TestFirstAlertNoBackfill(t *testing.T) {
	fresh := candidate("new", subscribers.Instant, "ai")
	fresh.Subscriber.ConfirmedAt = until.Add(-90 * time.Minute) // after ai-1, before ai-2
	old := candidate("old", subscribers.Instant, "ai")
	old.Subscriber.ConfirmedAt = until.Add(-30 * 24 * time.Hour)
	p, _, q := newPlanner(fresh, old)
	if _, err := p.Start(ctx, Request{RunID: "alerts-1", Target: Target{Kind: TargetInstant}, Until: until, StartedBy: "ingest"}); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, job := range q.jobs {
		for _, r := range job.Recipients {
			got[r.SubscriberID] = append(got[r.SubscriberID], job.ItemKeys...)
			if r.SubscriberID == "new" && !r.Since.Equal(fresh.Subscriber.ConfirmedAt) {
				t.Errorf("new subscriber's period starts %s, want their confirmation %s", r.Since, fresh.Subscriber.ConfirmedAt)
			}
		}
	}
	if want := []string{"ai-2"}; !slices.Equal(got["new"], want) {
		t.Errorf("first alert of a new subscriber has %v, want %v (no back-fill)", got["new"], want)
	}
	if want := []string{"ai-2", "ai-1"}; !slices.Equal(got["old"], want) {
		t.Errorf("first alert of a subscriber confirmed long ago has %v, want %v", got["old"], want)
	}

	// An admin's send is not an alert of news: it still looks a day back.
	p, _, q = newPlanner(fresh)
	if _, err := p.Start(ctx, Request{RunID: "admin-1", Target: Target{Kind: TargetAll}, Until: until, StartedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	if len(q.jobs) != 1 || !slices.Equal(q.jobs[0].ItemKeys, []string{"ai-2", "ai-1"}) {
		t.Errorf("admin send to a new instant subscriber: %+v, want ai-2 and ai-1", q.jobs)
	}
}

// TestJobsBySocieties: recipients of the same items share a job only with
// those who chose the same societies, which their items name.
func TestJobsBySocieties(t *testing.T) {
	esr1 := candidate("esr1", subscribers.Daily, "ai")
	esr1.Subscriber.Preferences.Societies = []string{"esr"}
	esr2 := candidate("esr2", subscribers.Daily, "ai")
	esr2.Subscriber.Preferences.Societies = []string{"esr"}
	all := candidate("all", subscribers.Daily, "ai")
	p, _, q := newPlanner(esr1, esr2, all)
	if _, err := p.Start(ctx, Request{RunID: "admin-1", Target: Target{Kind: TargetAll}, Until: until, StartedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	// Jobs are grouped per shard; within each, never across societies.
	bySocieties := map[string]int{}
	for _, job := range q.jobs {
		for _, r := range job.Recipients {
			if got, want := strings.Join(job.Societies, ","), map[string]string{"esr1": "esr", "esr2": "esr", "all": ""}[r.SubscriberID]; got != want {
				t.Errorf("%s is in a job for societies %q, want %q", r.SubscriberID, got, want)
			}
			bySocieties[strings.Join(job.Societies, ",")]++
		}
	}
	if bySocieties["esr"] != 2 || bySocieties[""] != 1 {
		t.Errorf("recipients by societies %v, want esr:2 and none:1", bySocieties)
	}
}
