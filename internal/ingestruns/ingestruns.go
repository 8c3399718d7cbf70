// Package ingestruns owns ingest runs as operations: an admin asks for one
// and is answered at once with its id, the ingest function runs it later
// from a queue, and anyone can ask how it went. One run at a time: a lock
// record with a lease makes a second request while one runs name the
// running one, the schedule skip its turn, and a run whose function
// crashed free the lock when its lease runs out.
//
// It knows neither DynamoDB nor SQS: the lock and the run records are a
// Store, the queue is a Queue (adapters in internal/dynamo and
// internal/sqsqueue), and the ingest itself is internal/ingest's Runner.
package ingestruns

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/ingest"
)

// Status is where a run stands.
type Status string

// The statuses of a run.
const (
	StatusRunning Status = "running" // queued or ingesting
	StatusDone    Status = "done"
	StatusFailed  Status = "failed"
)

// StartedBySchedule names the scheduled runs.
const StartedBySchedule = "schedule"

// Run is one ingest run and, once it finished, its outcome.
type Run struct {
	ID         string     `json:"run_id"`
	Status     Status     `json:"status"`
	StartedBy  string     `json:"started_by"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"` // null while running
	Error      string     `json:"error,omitempty"`
	// Summary is the ingest's summary once done; while running it holds
	// only the start and the trigger, which says what the run fetches:
	// every enabled feed for an admin's run, the due ones for the
	// schedule's.
	Summary ingest.Summary `json:"summary"`
}

// Lock is the record that lets one run go at a time.
type Lock struct {
	RunID string
	// Until is the lease: after it the lock is free, whoever held it.
	Until time.Time
	// Claimed says an ingest function took the run up (rather than it
	// waiting in the queue).
	Claimed bool
}

// Held reports whether the lock is held by some run at now.
func (l Lock) Held(now time.Time) bool { return l.RunID != "" && now.Before(l.Until) }

// Store keeps the lock and the run records (*dynamo.AdminStore).
type Store interface {
	// AcquireIngestLock takes the lock for runID until the lease ends,
	// if it is free (never taken, released or expired) or held by runID
	// and not yet claimed; claim marks it claimed. When it is not free it
	// returns the lock as it stands, and ok false.
	AcquireIngestLock(ctx context.Context, runID string, now, until time.Time, claim bool) (held Lock, ok bool, err error)
	// ReleaseIngestLock frees the lock if runID holds it.
	ReleaseIngestLock(ctx context.Context, runID string) error
	// IngestLock reads the lock; the zero Lock if it was never taken.
	IngestLock(ctx context.Context) (Lock, error)
	// PutIngestRun stores a new run.
	PutIngestRun(ctx context.Context, r Run) error
	// FinishIngestRun records a run's outcome if it is still running, and
	// reports false if it was not.
	FinishIngestRun(ctx context.Context, r Run) (bool, error)
	// IngestRun reads one run; ErrNotFound if there is none.
	IngestRun(ctx context.Context, id string) (Run, error)
}

// Queue hands a run to the ingest function (*sqsqueue.Queue).
type Queue interface {
	RequestIngest(ctx context.Context, runID string) error
}

// Runner runs one ingest (*ingest.Runner).
type Runner interface {
	Run(ctx context.Context, trigger ingest.Trigger) (ingest.Summary, error)
}

// Errors callers tell apart.
var (
	ErrNotFound = errors.New("no such ingest run")
	// ErrBusy: another delivery of the same run is ingesting it now; the
	// message should come back later, when that one has finished it.
	ErrBusy = errors.New("the run is being ingested by another invocation")
)

// DefaultLease outlives the ingest function's 300-second timeout three
// times over, so that a live run never loses the lock, and is well short of
// the ingest queue's 30-minute visibility timeout, so that a crashed run's
// lock is free again before its message comes back for a retry.
const DefaultLease = 15 * time.Minute

// Service starts, runs and reports ingest runs. Its fields are set once at
// start-up; Queue is needed only to start runs, Runner only to run them.
type Service struct {
	Store  Store
	Queue  Queue
	Runner Runner
	// Lease is how long the lock holds without its run finishing;
	// DefaultLease when zero.
	Lease time.Duration
	Now   func() time.Time
	Log   *slog.Logger
	// NewID makes run ids; newID when nil.
	NewID func(now time.Time) string
}

func (s *Service) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) newID(now time.Time) string {
	if s.NewID != nil {
		return s.NewID(now)
	}
	return newID(now)
}

// newID is sortable by time and unique: "ingest-20261122T093000-k3x9qa".
func newID(now time.Time) string {
	return "ingest-" + now.UTC().Format("20060102T150405") + "-" + strings.ToLower(rand.Text()[:6])
}

// Start asks for a run of every enabled feed and returns it while it waits
// in the queue. If a run holds the lock, it returns that run instead, and
// started false: never a second run.
func (s *Service) Start(ctx context.Context, startedBy string) (run Run, started bool, err error) {
	if s.Queue == nil {
		return Run{}, false, errors.New("no ingest queue to hand the run to (RADIOGRAM_INGEST_QUEUE_URL)")
	}
	now := s.now()
	id := s.newID(now)
	held, ok, err := s.Store.AcquireIngestLock(ctx, id, now, now.Add(s.lease()), false)
	if err != nil {
		return Run{}, false, fmt.Errorf("take the ingest lock: %w", err)
	}
	if !ok {
		return s.running(ctx, held)
	}
	run = Run{ID: id, Status: StatusRunning, StartedBy: startedBy, StartedAt: now,
		Summary: ingest.Summary{Trigger: ingest.TriggerManual, StartedAt: now}}
	if err := s.Store.PutIngestRun(ctx, run); err != nil {
		return Run{}, false, errors.Join(fmt.Errorf("record ingest run: %w", err), s.release(ctx, id))
	}
	if err := s.Queue.RequestIngest(ctx, id); err != nil {
		err = fmt.Errorf("queue ingest run %s: %w", id, err)
		// Nothing will run it: say so on the record and free the lock.
		_, ferr := s.finish(ctx, run, ingest.Summary{}, err)
		return Run{}, false, errors.Join(err, ferr)
	}
	s.log().InfoContext(ctx, "ingest run queued", "run", id, "started_by", startedBy)
	return run, true, nil
}

// running returns the run that holds the lock. It may not be recorded
// yet (its request took the lock a moment ago): then it is named by its
// id alone.
func (s *Service) running(ctx context.Context, held Lock) (Run, bool, error) {
	run, err := s.Store.IngestRun(ctx, held.RunID)
	if errors.Is(err, ErrNotFound) {
		return Run{ID: held.RunID, Status: StatusRunning}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("read running ingest run %s: %w", held.RunID, err)
	}
	return run, false, nil
}

// Get returns one run. A run recorded as running whose lock has lapsed or
// passed to another run did not finish within its lease (its function
// crashed or timed out, or the run waited in the queue that long): it is
// reported as failed, saying so. (A retry from the queue may still carry
// it out later, if no other run holds the lock then.)
func (s *Service) Get(ctx context.Context, id string) (Run, error) {
	run, err := s.Store.IngestRun(ctx, id)
	if err != nil {
		return Run{}, err
	}
	if run.Status != StatusRunning {
		return run, nil
	}
	lock, err := s.Store.IngestLock(ctx)
	if err != nil {
		return Run{}, fmt.Errorf("read the ingest lock: %w", err)
	}
	if now := s.now(); lock.RunID != id || !lock.Held(now) {
		run.Status = StatusFailed
		run.Error = "the run did not finish within its lease: the ingest function timed out or crashed, or never took it up; start another"
	}
	return run, nil
}

// Execute runs a queued run: the ingest function's work for each message
// of the ingest queue. A run already finished (a redelivered message) or
// unknown (expired, or never recorded) is done with at once. It returns
// ErrBusy when another delivery of the same message is ingesting it now,
// and an error only when the outcome could not be recorded: then the
// message should come back.
func (s *Service) Execute(ctx context.Context, id string) error {
	run, err := s.Store.IngestRun(ctx, id)
	if errors.Is(err, ErrNotFound) {
		s.log().WarnContext(ctx, "ingest request for an unknown run: dropped", "run", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read ingest run %s: %w", id, err)
	}
	if run.Status != StatusRunning {
		s.log().InfoContext(ctx, "ingest run already finished: nothing to do", "run", id, "status", run.Status)
		return nil
	}
	now := s.now()
	held, ok, err := s.Store.AcquireIngestLock(ctx, id, now, now.Add(s.lease()), true)
	if err != nil {
		return fmt.Errorf("claim the ingest lock for run %s: %w", id, err)
	}
	if !ok {
		if held.RunID == id {
			return ErrBusy
		}
		// Its lease ran out while it waited, and another run took the
		// lock: that one fetches the feeds.
		_, err := s.finish(ctx, run, ingest.Summary{}, fmt.Errorf("superseded: run %s started while this one waited in the queue", held.RunID))
		return err
	}
	return s.ingest(ctx, run)
}

// RunScheduled is the schedule's run: it takes the lock, and skips its
// turn (with a log line and ok false) while another run holds it. The run
// is recorded as every other is, started by "schedule". trigger is what to
// fetch: the due feeds, or every enabled one for a manual invocation.
func (s *Service) RunScheduled(ctx context.Context, startedBy string, trigger ingest.Trigger) (Run, bool, error) {
	now := s.now()
	id := s.newID(now)
	held, ok, err := s.Store.AcquireIngestLock(ctx, id, now, now.Add(s.lease()), true)
	if err != nil {
		return Run{}, false, fmt.Errorf("take the ingest lock: %w", err)
	}
	if !ok {
		s.log().InfoContext(ctx, "ingest skipped: another run is in progress", "started_by", startedBy, "running", held.RunID, "lease_until", held.Until)
		return Run{ID: held.RunID, Status: StatusRunning}, false, nil
	}
	run := Run{ID: id, Status: StatusRunning, StartedBy: startedBy, StartedAt: now,
		Summary: ingest.Summary{Trigger: trigger, StartedAt: now}}
	if err := s.Store.PutIngestRun(ctx, run); err != nil {
		return Run{}, false, errors.Join(fmt.Errorf("record ingest run: %w", err), s.release(ctx, id))
	}
	if err := s.ingest(ctx, run); err != nil {
		return Run{}, true, err
	}
	run, err = s.Store.IngestRun(ctx, id)
	return run, true, err
}

// ingest runs the ingest for a run that holds the lock, records its
// outcome and frees the lock. An ingest that fails is a failed run, not an
// error: retrying it from the queue would fail the same way, and an admin
// can start another.
func (s *Service) ingest(ctx context.Context, run Run) error {
	trigger := run.Summary.Trigger
	if trigger == "" {
		trigger = ingest.TriggerManual
	}
	sum, runErr := s.Runner.Run(ctx, trigger)
	if runErr != nil {
		s.log().ErrorContext(ctx, "ingest run failed", "run", run.ID, "err", runErr)
	}
	_, err := s.finish(ctx, run, sum, runErr)
	return err
}

// finish records a run's outcome (failed if runErr is not nil) and frees
// the lock if the run holds it.
func (s *Service) finish(ctx context.Context, run Run, sum ingest.Summary, runErr error) (Run, error) {
	finished := s.now()
	run.FinishedAt = &finished
	run.Status = StatusDone
	if runErr != nil {
		run.Status, run.Error = StatusFailed, runErr.Error()
	}
	if sum.StartedAt.IsZero() {
		sum.Trigger, sum.StartedAt = run.Summary.Trigger, run.StartedAt
	}
	run.Summary = sum
	recorded, err := s.Store.FinishIngestRun(ctx, run)
	if err != nil {
		err = fmt.Errorf("record the outcome of ingest run %s: %w", run.ID, err)
	} else if !recorded {
		s.log().WarnContext(ctx, "ingest run was finished already; its first outcome stands", "run", run.ID)
	}
	return run, errors.Join(err, s.release(ctx, run.ID))
}

func (s *Service) release(ctx context.Context, id string) error {
	if err := s.Store.ReleaseIngestLock(ctx, id); err != nil {
		return fmt.Errorf("release the ingest lock of run %s: %w", id, err)
	}
	return nil
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
