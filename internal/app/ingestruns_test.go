package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/lambdaevents"
)

// consumeIngests hands the ingest queue's waiting messages to the ingest
// function's handler of app b, in-process, as Lambda's event source does
// (moto's is disabled), and returns how many it handled.
func consumeIngests(t testing.TB, b *App) int {
	t.Helper()
	src := &lambdaevents.SQSSource{Queue: b.IngestQueue, Handler: lambdaevents.IngestRequests(b.IngestRuns(), b.Log)}
	n, err := src.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startIngest is POST /admin/ingest: it must answer 202 with a running run.
func startIngest(t *testing.T, base string) string {
	t.Helper()
	status, body := adminCall(t, "POST", base+"/admin/ingest", "")
	id, _ := body["run_id"].(string)
	if status != http.StatusAccepted || id == "" || body["status"] != "running" {
		t.Fatalf("POST /admin/ingest: %d %v, want 202 with a running run's id", status, body)
	}
	return id
}

// ingestRun is GET /admin/ingest/{id}, decoded.
func ingestRun(t *testing.T, base, id string) ingestruns.Run {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/admin/ingest/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var run ingestruns.Run
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/ingest/%s: %d (%v)", id, resp.StatusCode, err)
	}
	return run
}

// TestIngestRunsThroughTheQueue: POST /admin/ingest answers at once and
// queues the run; a second request while it waits names the same run; the
// ingest function's handler (here in-process, on moto's queue) carries it
// out, and GET /admin/ingest/{id} shows it done with the summary's counts.
// A redelivered request changes nothing, a failing ingest is a failed run,
// and the schedule skips its turn while a run holds the lock.
func TestIngestRunsThroughTheQueue(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:4]))
	srv := newTestAPI(t, a)
	ctx := context.Background()

	id := startIngest(t, srv.URL)
	if again := startIngest(t, srv.URL); again != id {
		t.Fatalf("a second request while %s waits started %s", id, again)
	}
	if run := ingestRun(t, srv.URL, id); run.Status != ingestruns.StatusRunning || run.StartedBy != "admin (api)" || run.StartedAt.IsZero() || run.FinishedAt != nil {
		t.Errorf("queued run %+v", run)
	}
	// While it waits, the schedule skips its turn.
	if run, ran, err := a.IngestRuns().RunScheduled(ctx, ingestruns.StartedBySchedule, ingest.TriggerSchedule); err != nil || ran || run.ID != id {
		t.Errorf("schedule during the run: %s ran %v, %v; want skipped, naming %s", run.ID, ran, err, id)
	}
	if n := consumeIngests(t, a); n != 1 {
		t.Fatalf("the ingest queue held %d requests, want 1", n)
	}
	done := ingestRun(t, srv.URL, id)
	if done.Status != ingestruns.StatusDone || done.FinishedAt == nil || done.Error != "" {
		t.Fatalf("run after the ingest function: %+v", done)
	}
	if s := done.Summary; s.Trigger != ingest.TriggerManual || s.FeedsOK != 4 || s.ItemsNew != 8 || s.FeedsFailed != 0 || len(s.Feeds) != 4 {
		t.Errorf("summary: trigger %s, feeds ok %d failed %d, items new %d, %d feed results; want manual, 4, 0, 8, 4",
			s.Trigger, s.FeedsOK, s.FeedsFailed, s.ItemsNew, len(s.Feeds))
	}
	if got := len(mustList(t, a, items.Query{Societies: []string{"esr", "rsna", "acr", "wfumb"}, Limit: 200})); got != 8 {
		t.Errorf("%d items stored, want 8", got)
	}

	// The same message again (a lost delete): nothing runs, nothing changes.
	hits := fs.hitCount("/esr/feed")
	redelivered := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "again", Body: `{"run_id":"` + id + `"}`}}}
	resp, err := lambdaevents.IngestRequests(a.IngestRuns(), nil)(ctx, redelivered)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("redelivery: %+v, %v", resp, err)
	}
	if fs.hitCount("/esr/feed") != hits {
		t.Error("a redelivered request fetched the feeds again")
	}
	if again := ingestRun(t, srv.URL, id); again.Status != ingestruns.StatusDone || !again.FinishedAt.Equal(*done.FinishedAt) {
		t.Errorf("run after a redelivery %+v, want it unchanged", again)
	}

	// A run whose ingest fails (its function cannot read the feed table) is
	// failed, with the reason, and frees the lock.
	failing := startIngest(t, srv.URL)
	if failing == id {
		t.Fatal("a finished run was named as running")
	}
	broken := reload(t, a, map[string]string{"RADIOGRAM_FEEDS_TABLE": "no-such-table"})
	if n := consumeIngests(t, broken); n != 1 {
		t.Fatalf("the ingest queue held %d requests, want 1", n)
	}
	failed := ingestRun(t, srv.URL, failing)
	if failed.Status != ingestruns.StatusFailed || !strings.Contains(failed.Error, "feed registry") || failed.FinishedAt == nil {
		t.Errorf("failing run: %+v, want failed, saying why", failed)
	}
	if next := startIngest(t, srv.URL); next == failing || next == id {
		t.Errorf("after a failed run, a request named %s", next)
	}

	// An id nobody started: 404, with the reason.
	status, body := adminCall(t, "GET", srv.URL+"/admin/ingest/ingest-nope", "")
	if status != http.StatusNotFound || !strings.Contains(body["error"].(string), "ingest-nope") {
		t.Errorf("unknown run: %d %v", status, body)
	}
}

// TestIngestLockOnDynamoDB holds the admin table's lock record to the
// rules the domain's fake keeps: free, taken, claimed once, expired,
// released only by its holder. And "current" is no run's id.
func TestIngestLockOnDynamoDB(t *testing.T) {
	t.Parallel()
	a := newTestApp(t, newFeedServer(t).writeRegistry(t, testFeeds[:1]))
	ctx := context.Background()
	store := a.AdminStore
	now := time.Now().UTC()
	lease := now.Add(15 * time.Minute)

	take := func(id string, at time.Time, claim bool) (ingestruns.Lock, bool) {
		t.Helper()
		held, ok, err := store.AcquireIngestLock(ctx, id, at, at.Add(15*time.Minute), claim)
		if err != nil {
			t.Fatal(err)
		}
		return held, ok
	}
	if lock, err := store.IngestLock(ctx); err != nil || lock.RunID != "" {
		t.Fatalf("a fresh table's lock: %+v, %v", lock, err)
	}
	if _, ok := take("run-a", now, false); !ok {
		t.Fatal("a free lock was refused")
	}
	if held, ok := take("run-b", now, false); ok || held.RunID != "run-a" || held.Claimed || !held.Until.Equal(lease.Truncate(time.Millisecond)) {
		t.Errorf("a held lock: ok %v, held %+v; want refused, naming run-a unclaimed until %s", ok, held, lease)
	}
	if _, ok := take("run-a", now, true); !ok {
		t.Error("its own run could not claim it")
	}
	if held, ok := take("run-a", now, true); ok || !held.Claimed {
		t.Errorf("a second claim: ok %v, held %+v; want refused, claimed", ok, held)
	}
	if err := store.ReleaseIngestLock(ctx, "run-b"); err != nil {
		t.Fatal(err)
	}
	if lock, _ := store.IngestLock(ctx); !lock.Held(now) || lock.RunID != "run-a" {
		t.Errorf("another run released it: %+v", lock)
	}
	// Its lease over, anyone may take it.
	if _, ok := take("run-c", lease.Add(time.Second), false); !ok {
		t.Error("an expired lock was refused")
	}
	if err := store.ReleaseIngestLock(ctx, "run-c"); err != nil {
		t.Fatal(err)
	}
	if lock, _ := store.IngestLock(ctx); lock.Held(now) {
		t.Errorf("a released lock is held: %+v", lock)
	}
	if _, err := store.IngestRun(ctx, "current"); !errors.Is(err, ingestruns.ErrNotFound) {
		t.Errorf("IngestRun(current) = %v, want not found: that is the lock", err)
	}
}
