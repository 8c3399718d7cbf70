package ingestruns

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/ingest"
)

var t0 = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

// fakeStore keeps the lock and the runs in memory, with the conditions
// the DynamoDB store writes with.
type fakeStore struct {
	mu   sync.Mutex
	lock Lock
	runs map[string]Run
	err  error // every call fails with it when set
}

func (f *fakeStore) AcquireIngestLock(_ context.Context, runID string, now, until time.Time, claim bool) (Lock, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Lock{}, false, f.err
	}
	if f.lock.Held(now) && (f.lock.RunID != runID || f.lock.Claimed) {
		return f.lock, false, nil
	}
	f.lock = Lock{RunID: runID, Until: until, Claimed: claim}
	return f.lock, true, nil
}

func (f *fakeStore) ReleaseIngestLock(_ context.Context, runID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.lock.RunID == runID {
		f.lock.Until, f.lock.Claimed = time.Time{}, false
	}
	return nil
}

func (f *fakeStore) IngestLock(context.Context) (Lock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lock, f.err
}

func (f *fakeStore) PutIngestRun(_ context.Context, r Run) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.runs[r.ID] = r
	return nil
}

func (f *fakeStore) FinishIngestRun(_ context.Context, r Run) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	if old, ok := f.runs[r.ID]; !ok || old.Status != StatusRunning {
		return false, nil
	}
	f.runs[r.ID] = r
	return true, nil
}

func (f *fakeStore) IngestRun(_ context.Context, id string) (Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Run{}, f.err
	}
	r, ok := f.runs[id]
	if !ok {
		return Run{}, ErrNotFound
	}
	return r, nil
}

type fakeQueue struct {
	ids []string
	err error
}

func (q *fakeQueue) RequestIngest(_ context.Context, id string) error {
	if q.err != nil {
		return q.err
	}
	q.ids = append(q.ids, id)
	return nil
}

// fakeRunner counts runs and can fail, or do something while it runs.
type fakeRunner struct {
	triggers []ingest.Trigger
	err      error
	during   func()
}

func (r *fakeRunner) Run(_ context.Context, trigger ingest.Trigger) (ingest.Summary, error) {
	r.triggers = append(r.triggers, trigger)
	if r.during != nil {
		r.during()
	}
	if r.err != nil {
		return ingest.Summary{Trigger: trigger, StartedAt: t0}, r.err
	}
	return ingest.Summary{Trigger: trigger, StartedAt: t0, FinishedAt: t0.Add(time.Minute), FeedsOK: 3, FeedsFailed: 1, ItemsNew: 7}, nil
}

type harness struct {
	store  *fakeStore
	queue  *fakeQueue
	runner *fakeRunner
	now    time.Time
	svc    *Service
	ids    int
}

func newHarness() *harness {
	h := &harness{store: &fakeStore{runs: map[string]Run{}}, queue: &fakeQueue{}, runner: &fakeRunner{}, now: t0}
	h.svc = &Service{
		Store: h.store, Queue: h.queue, Runner: h.runner, Lease: 15 * time.Minute,
		Now:   func() time.Time { return h.now },
		NewID: func(time.Time) string { h.ids++; return fmt.Sprintf("run-%d", h.ids) },
	}
	return h
}

func (h *harness) start(t *testing.T, wantID string, wantStarted bool) Run {
	t.Helper()
	run, started, err := h.svc.Start(context.Background(), "admin (API)")
	if err != nil || run.ID != wantID || started != wantStarted || run.Status != StatusRunning {
		t.Fatalf("Start = %s %s started %v, %v; want %s running, started %v", run.ID, run.Status, started, err, wantID, wantStarted)
	}
	return run
}

func (h *harness) get(t *testing.T, id string) Run {
	t.Helper()
	run, err := h.svc.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return run
}

func TestStartQueuesOneRunAtATime(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	first := h.start(t, "run-1", true)
	if first.StartedBy != "admin (API)" || !first.StartedAt.Equal(t0) || first.FinishedAt != nil || first.Summary.Trigger != ingest.TriggerManual {
		t.Errorf("queued run %+v", first)
	}
	// A second request while it waits, and while it runs: the same run.
	h.now = t0.Add(time.Second)
	h.start(t, "run-1", false)
	h.runner.during = func() { h.start(t, "run-1", false) }
	if err := h.svc.Execute(ctx, "run-1"); err != nil {
		t.Fatal(err)
	}
	if len(h.queue.ids) != 1 || len(h.runner.triggers) != 1 || h.runner.triggers[0] != ingest.TriggerManual {
		t.Fatalf("queued %v, ran %v: want one run of every feed", h.queue.ids, h.runner.triggers)
	}
	done := h.get(t, "run-1")
	if done.Status != StatusDone || done.FinishedAt == nil || done.Summary.FeedsOK != 3 || done.Summary.ItemsNew != 7 || done.Error != "" {
		t.Errorf("finished run %+v", done)
	}
	// Finished, it frees the lock: the next request is a new run (ids are
	// made for every request, the refused ones too).
	h.runner.during = nil
	h.start(t, "run-4", true)
}

func TestRedeliveredRequestDoesNothing(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	h.start(t, "run-1", true)
	if err := h.svc.Execute(ctx, "run-1"); err != nil {
		t.Fatal(err)
	}
	// The message comes back (a lost delete): the run is done, and stays
	// as it was; the run queued since is not touched either.
	h.start(t, "run-2", true)
	before := h.get(t, "run-1")
	if err := h.svc.Execute(ctx, "run-1"); err != nil {
		t.Fatal(err)
	}
	if len(h.runner.triggers) != 1 {
		t.Errorf("ingested %d times, want once", len(h.runner.triggers))
	}
	if after := h.get(t, "run-1"); after.Status != before.Status || !after.FinishedAt.Equal(*before.FinishedAt) {
		t.Errorf("run changed by a redelivery: %+v → %+v", before, after)
	}
	if lock, _ := h.store.IngestLock(ctx); lock.RunID != "run-2" || !lock.Held(h.now) {
		t.Errorf("lock %+v, want still held by the queued run-2", lock)
	}
	// An id nobody recorded (expired, or never) is dropped.
	if err := h.svc.Execute(ctx, "run-unknown"); err != nil {
		t.Errorf("unknown run: %v, want it dropped", err)
	}
	if _, err := h.svc.Get(ctx, "run-unknown"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
}

func TestDuplicateDeliveryWhileRunningComesBackLater(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	h.start(t, "run-1", true)
	var dup error
	h.runner.during = func() { dup = h.svc.Execute(ctx, "run-1") }
	if err := h.svc.Execute(ctx, "run-1"); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(dup, ErrBusy) {
		t.Errorf("a second delivery during the run: %v, want ErrBusy", dup)
	}
	if len(h.runner.triggers) != 1 {
		t.Errorf("ingested %d times, want once", len(h.runner.triggers))
	}
}

func TestFailedIngestIsAFailedRun(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	h.start(t, "run-1", true)
	h.runner.err = errors.New("seed feed registry: table not found")
	if err := h.svc.Execute(ctx, "run-1"); err != nil {
		t.Fatalf("Execute: %v; a failed ingest is recorded, not retried", err)
	}
	run := h.get(t, "run-1")
	if run.Status != StatusFailed || run.Error != "seed feed registry: table not found" || run.FinishedAt == nil {
		t.Errorf("run %+v, want failed with the ingest's error", run)
	}
	h.runner.err = nil
	h.start(t, "run-2", true)
}

func TestQueueFailureFreesTheLock(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	h.queue.err = errors.New("sqs: access denied")
	if _, _, err := h.svc.Start(ctx, "admin"); !errors.Is(err, h.queue.err) {
		t.Fatalf("Start = %v, want the queue's error", err)
	}
	if run := h.get(t, "run-1"); run.Status != StatusFailed || run.Error == "" {
		t.Errorf("unqueued run %+v, want failed", run)
	}
	h.queue.err = nil
	h.start(t, "run-2", true)
}

func TestCrashedRunFreesTheLockWhenItsLeaseEnds(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	h.start(t, "run-1", true)
	// The function takes the run up and dies (a timeout, an out-of-memory
	// kill): it never finishes it.
	if _, ok, _ := h.store.AcquireIngestLock(ctx, "run-1", h.now, h.now.Add(15*time.Minute), true); !ok {
		t.Fatal("claim")
	}
	h.now = t0.Add(10 * time.Minute)
	h.start(t, "run-1", false)
	if run := h.get(t, "run-1"); run.Status != StatusRunning {
		t.Errorf("within its lease the run is %s, want running", run.Status)
	}
	h.now = t0.Add(16 * time.Minute)
	if run := h.get(t, "run-1"); run.Status != StatusFailed || run.Error == "" {
		t.Errorf("after its lease the run is %s (%q), want failed, saying why", run.Status, run.Error)
	}
	// Its message comes back after the visibility timeout: the retry runs
	// it, as nothing else holds the lock.
	h.now = t0.Add(30 * time.Minute)
	if err := h.svc.Execute(ctx, "run-1"); err != nil {
		t.Fatal(err)
	}
	if run := h.get(t, "run-1"); run.Status != StatusDone || len(h.runner.triggers) != 1 {
		t.Errorf("retried run %s after %d ingests, want done after 1", run.Status, len(h.runner.triggers))
	}
}

func TestRunSupersededWhileQueued(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	h.start(t, "run-1", true)
	// Nothing consumed the queue within the lease; another request starts
	// a run, then the first message arrives.
	h.now = t0.Add(20 * time.Minute)
	h.start(t, "run-2", true)
	if err := h.svc.Execute(ctx, "run-1"); err != nil {
		t.Fatal(err)
	}
	if len(h.runner.triggers) != 0 {
		t.Errorf("the superseded run ingested")
	}
	if run := h.get(t, "run-1"); run.Status != StatusFailed || run.Error != "superseded: run run-2 started while this one waited in the queue" {
		t.Errorf("superseded run %+v", run)
	}
	if lock, _ := h.store.IngestLock(ctx); lock.RunID != "run-2" || !lock.Held(h.now) {
		t.Errorf("lock %+v, want still run-2's", lock)
	}
	if err := h.svc.Execute(ctx, "run-2"); err != nil || h.get(t, "run-2").Status != StatusDone {
		t.Errorf("run-2: %v, %s", err, h.get(t, "run-2").Status)
	}
}

func TestScheduledRunTakesTheSameLock(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	h.start(t, "run-1", true)
	run, ran, err := h.svc.RunScheduled(ctx, StartedBySchedule, ingest.TriggerSchedule)
	if err != nil || ran || run.ID != "run-1" || len(h.runner.triggers) != 0 {
		t.Fatalf("schedule during a run: %+v ran %v, %v (ingests %d); want skipped, naming run-1", run, ran, err, len(h.runner.triggers))
	}
	if err := h.svc.Execute(ctx, "run-1"); err != nil {
		t.Fatal(err)
	}
	run, ran, err = h.svc.RunScheduled(ctx, StartedBySchedule, ingest.TriggerSchedule)
	if err != nil || !ran || run.Status != StatusDone || run.StartedBy != StartedBySchedule || run.Summary.Trigger != ingest.TriggerSchedule {
		t.Fatalf("schedule: %+v ran %v, %v; want a done run started by schedule", run, ran, err)
	}
	if got := h.get(t, run.ID); got.Status != StatusDone {
		t.Errorf("recorded scheduled run %+v", got)
	}
	// While the schedule's run goes, an admin's request names it.
	var during Run
	h.runner.during = func() {
		var started bool
		during, started, _ = h.svc.Start(ctx, "admin")
		if started {
			t.Error("an admin's run started during the schedule's")
		}
	}
	run, _, _ = h.svc.RunScheduled(ctx, StartedBySchedule, ingest.TriggerSchedule)
	if during.ID != run.ID {
		t.Errorf("request during the scheduled run %s named %q", run.ID, during.ID)
	}
}

func TestStoreFailures(t *testing.T) {
	h := newHarness()
	h.store.err = errors.New("dynamodb: throttled")
	if _, _, err := h.svc.Start(context.Background(), "admin"); !errors.Is(err, h.store.err) {
		t.Errorf("Start: %v", err)
	}
	if err := h.svc.Execute(context.Background(), "run-1"); !errors.Is(err, h.store.err) {
		t.Errorf("Execute: %v, want the error, so the message comes back", err)
	}
	if len(h.queue.ids) != 0 || len(h.runner.triggers) != 0 {
		t.Error("queued or ran without a lock")
	}
}
