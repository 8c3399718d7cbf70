package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TargetKind says whom a run is for.
type TargetKind string

const (
	TargetDue        TargetKind = "due"        // digest subscribers whose hour has come
	TargetInstant    TargetKind = "instant"    // alert subscribers, after an ingest found news
	TargetAll        TargetKind = "all"        // every confirmed subscriber, now
	TargetTopic      TargetKind = "topic"      // every confirmed subscriber of one topic, now
	TargetSubscriber TargetKind = "subscriber" // one subscriber, now
)

// Target selects the recipients of a run.
type Target struct {
	Kind  TargetKind `json:"kind"`
	Slot  string     `json:"slot,omitempty"`  // TargetDue
	Topic string     `json:"topic,omitempty"` // TargetTopic
	// SubscriberID is TargetSubscriber's: the address an admin names is
	// resolved to the id when the send is asked for, so that no run
	// record holds an address.
	SubscriberID string `json:"subscriber_id,omitempty"`
}

// Name names the target the way admins write it, but a subscriber by id
// ("subscriber-id:<id>"): run records and the audit log hold no address.
func (t Target) Name() string {
	switch t.Kind {
	case TargetTopic:
		return "topic:" + t.Topic
	case TargetSubscriber:
		return "subscriber-id:" + t.SubscriberID
	case TargetDue:
		return "due:" + t.Slot
	}
	return string(t.Kind)
}

// Request asks the planner for one run.
type Request struct {
	RunID  string
	Target Target
	// Until ends every recipient's period. A scheduled run uses its slot's
	// hour, so that planning the same slot twice keys the same sends.
	Until  time.Time
	DryRun bool // report who would get what; queue and change nothing
	// StartedBy says who asked: "schedule", "ingest", or an admin.
	StartedBy string
}

// Skip reasons, as reports and the ledger name them.
const (
	SkipNothingNew   = "nothing new"
	SkipSuppressed   = "suppressed"
	SkipUnsubscribed = "unsubscribed"
)

// Report is what a plan found.
type Report struct {
	RunID      string         `json:"run_id"`
	Target     Target         `json:"target"`
	Until      time.Time      `json:"until"`
	DryRun     bool           `json:"dry_run"`
	Candidates int            `json:"candidates"`
	Planned    int            `json:"planned"` // recipients queued (or, in a dry run, who would be)
	Jobs       int            `json:"jobs"`
	Skipped    map[string]int `json:"skipped"`
	// Topics counts, per topic, the planned recipients with an item of it.
	Topics map[string]int `json:"topics"`
	// Recipients details each candidate in a dry run (at most
	// maxReportedRecipients of them).
	Recipients []PlannedRecipient `json:"recipients,omitempty"`
}

// PlannedRecipient is one candidate's place in a plan.
type PlannedRecipient struct {
	SubscriberID string `json:"subscriber_id"`
	// Email is for the admin who asked for the dry run; run records are
	// stored without it (see RunRecorder).
	Email  string   `json:"email,omitempty"`
	Items  int      `json:"items"`
	Titles []string `json:"titles,omitempty"`
	Skip   string   `json:"skipped,omitempty"`
}

const maxReportedRecipients = 1000

// ErrUnknownSubscriber is returned for a subscriber target nobody holds.
var ErrUnknownSubscriber = errors.New("no confirmed subscriber with that address")

// RunRecorder keeps the history of runs. It names subscribers by id only:
// a recorded report leaves out the recipients' addresses (Redacted).
type RunRecorder interface {
	RecordRun(ctx context.Context, req Request, rep Report) error
}

// Planner finds who gets what and queues it.
type Planner struct {
	Subscribers  SubscriberIndex
	Items        ItemReader
	Suppressions SuppressionChecker
	Hasher       subscribers.AddressHasher // keys addresses in Suppressions
	Queue        Queue
	Runs         RunRecorder // optional
	Log          *slog.Logger
}

// Plan runs one plan. DynamoDB reads grow with subscribers plus items:
// candidates come from an index, items are read once for everyone and
// matched in memory.
func (p *Planner) Plan(ctx context.Context, req Request) (Report, error) {
	rep, err := p.plan(ctx, req)
	automatic := req.Target.Kind == TargetDue || req.Target.Kind == TargetInstant
	if err != nil || p.Runs == nil || (automatic && rep.Candidates == 0) {
		return rep, err // an hour or an ingest with nobody to mail is not worth a line in the history
	}
	if err := p.Runs.RecordRun(ctx, req, rep); err != nil {
		return rep, fmt.Errorf("record run: %w", err)
	}
	return rep, nil
}

func (p *Planner) plan(ctx context.Context, req Request) (Report, error) {
	rep := Report{RunID: req.RunID, Target: req.Target, Until: req.Until.UTC(), DryRun: req.DryRun, Skipped: map[string]int{}, Topics: map[string]int{}}
	candidates, err := p.candidates(ctx, req.Target)
	if err != nil {
		return rep, err
	}
	rep.Candidates = len(candidates)
	if len(candidates) == 0 {
		return rep, nil
	}
	kind := digest.KindDigest
	if req.Target.Kind == TargetInstant {
		kind = digest.KindAlert
	}

	hashes := make([]string, len(candidates))
	for i, c := range candidates {
		hashes[i] = p.Hasher.HashEmail(c.Subscriber.Email)
	}
	suppressed, err := p.Suppressions.Suppressed(ctx, hashes)
	if err != nil {
		return rep, fmt.Errorf("check suppressions: %w", err)
	}
	sinces, all, err := p.periods(ctx, candidates, rep.Until)
	if err != nil {
		return rep, err
	}

	jobs := jobGrouper{template: Job{RunID: req.RunID, Kind: kind, Until: rep.Until}, open: map[string]*Job{}}
	var closed []subscribers.Subscriber // nothing to send: their period just ends
	for i, c := range candidates {
		sub := c.Subscriber
		detail := PlannedRecipient{SubscriberID: sub.ID, Email: sub.Email}
		selected := digest.Select(sub.Preferences, all, sinces[i], rep.Until)
		switch {
		case suppressed[hashes[i]] != "":
			detail.Skip = SkipSuppressed + " (" + string(suppressed[hashes[i]]) + ")"
			rep.Skipped[SkipSuppressed]++
			closed = append(closed, sub)
		case len(selected) == 0:
			detail.Skip = SkipNothingNew
			rep.Skipped[SkipNothingNew]++
			closed = append(closed, sub)
		default:
			rep.Planned++
			rep.count(sub, selected, &detail)
			jobs.add(sub, sinces[i], selected)
		}
		if req.DryRun && len(rep.Recipients) < maxReportedRecipients {
			rep.Recipients = append(rep.Recipients, detail)
		}
	}
	rep.Jobs = len(jobs.all)
	if req.DryRun {
		return rep, nil
	}
	if err := p.closePeriods(ctx, closed, rep.Until); err != nil {
		return rep, err
	}
	if len(jobs.all) == 0 {
		return rep, nil
	}
	if err := p.Queue.Enqueue(ctx, jobs.queued()); err != nil {
		return rep, fmt.Errorf("queue %d jobs: %w", len(jobs.all), err)
	}
	p.Log.InfoContext(ctx, "send planned", "run", req.RunID, "target", req.Target.Kind, "candidates", rep.Candidates,
		"planned", rep.Planned, "jobs", rep.Jobs, "skipped", rep.Skipped)
	return rep, nil
}

// periods returns where each candidate's period starts (their watermark,
// at most one period back) and the items of all those periods, read in one
// go.
func (p *Planner) periods(ctx context.Context, candidates []Candidate, until time.Time) ([]time.Time, []items.Item, error) {
	sinces := make([]time.Time, len(candidates))
	earliest := until
	for i, c := range candidates {
		sinces[i] = digest.Since(c.Watermark, until, c.Subscriber.Preferences.Frequency)
		if sinces[i].Before(earliest) {
			earliest = sinces[i]
		}
	}
	all, err := p.Items.IngestedBetween(ctx, earliest, until)
	if err != nil {
		return nil, nil, fmt.Errorf("read items: %w", err)
	}
	return sinces, all, nil
}

// Redacted is the report as run records keep it: recipients by subscriber
// id, without their addresses.
func (rep Report) Redacted() Report {
	rep.Recipients = slices.Clone(rep.Recipients)
	for i := range rep.Recipients {
		rep.Recipients[i].Email = ""
	}
	return rep
}

// count adds a planned recipient's items to the report: the topics they
// get news of, and the first titles for a dry run's detail.
func (rep *Report) count(sub subscribers.Subscriber, selected []items.Item, detail *PlannedRecipient) {
	detail.Items = len(selected)
	seenTopics := map[string]bool{}
	for _, it := range selected {
		if len(detail.Titles) < 5 {
			detail.Titles = append(detail.Titles, it.Title)
		}
		for _, t := range it.TopicIDs() {
			if slices.Contains(sub.Preferences.Topics, t) && !seenTopics[t] {
				seenTopics[t] = true
				rep.Topics[t]++
			}
		}
	}
}

// jobGrouper puts recipients of identical content into the same jobs, of
// at most MaxRecipients each.
type jobGrouper struct {
	template Job             // run, kind and period of every job
	open     map[string]*Job // the job still taking recipients, by content
	all      []*Job
}

func (g *jobGrouper) add(sub subscribers.Subscriber, since time.Time, selected []items.Item) {
	keys := make([]string, len(selected))
	for i, it := range selected {
		keys[i] = it.Key
	}
	content := digest.ContentKey(string(g.template.Kind), sub.Preferences.Format, sub.Preferences.Topics, keys)
	job := g.open[content]
	if job == nil || len(job.Recipients) == MaxRecipients {
		j := g.template
		j.Format, j.Topics, j.ItemKeys = sub.Preferences.Format, sub.Preferences.Topics, keys
		job = &j
		g.open[content] = job
		g.all = append(g.all, job)
	}
	job.Recipients = append(job.Recipients, Recipient{SubscriberID: sub.ID, Since: since})
}

func (g *jobGrouper) queued() []Job {
	jobs := make([]Job, len(g.all))
	for i, j := range g.all {
		jobs[i] = *j
	}
	return jobs
}

// closeConcurrency bounds the watermark writes of one plan in flight.
const closeConcurrency = 16

// closePeriods ends the period of subscribers who get nothing this time
// (nothing new, or suppressed): their watermark and next due slot move on,
// so the schedule finds them again at their next hour.
func (p *Planner) closePeriods(ctx context.Context, subs []subscribers.Subscriber, until time.Time) error {
	sem := make(chan struct{}, closeConcurrency)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, sub := range subs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := p.Subscribers.RecordSent(ctx, sub.ID, until, nextSlot(sub, until)); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("advance watermark of %s: %w", sub.ID, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p *Planner) candidates(ctx context.Context, t Target) ([]Candidate, error) {
	switch t.Kind {
	case TargetDue:
		return p.Subscribers.Due(ctx, t.Slot)
	case TargetSubscriber:
		if t.SubscriberID == "" {
			return nil, ErrUnknownSubscriber
		}
		found, err := p.Subscribers.GetMany(ctx, []string{t.SubscriberID})
		if err != nil {
			return nil, err
		}
		c, ok := found[t.SubscriberID]
		if !ok || c.Subscriber.Status != subscribers.StatusConfirmed {
			return nil, ErrUnknownSubscriber
		}
		return []Candidate{c}, nil
	}
	active, err := p.Subscribers.Active(ctx)
	if err != nil {
		return nil, err
	}
	switch t.Kind {
	case TargetAll:
		return active, nil
	case TargetInstant:
		return slices.DeleteFunc(active, func(c Candidate) bool { return c.Subscriber.Preferences.Frequency != subscribers.Instant }), nil
	case TargetTopic:
		return slices.DeleteFunc(active, func(c Candidate) bool { return !slices.Contains(c.Subscriber.Preferences.Topics, t.Topic) }), nil
	}
	return nil, fmt.Errorf("unknown target %q", t.Kind)
}

// nextSlot is the index slot of a digest subscriber's next digest after
// until; alert subscribers have none.
func nextSlot(sub subscribers.Subscriber, until time.Time) string {
	if sub.Preferences.Frequency == subscribers.Instant {
		return ""
	}
	next, err := digest.NextDue(sub.Preferences, until)
	if err != nil {
		return ""
	}
	return digest.DueSlot(next)
}

// PlanState remembers the last due slot the schedule planned.
type PlanState interface {
	LastPlannedSlot(ctx context.Context) (string, error)
	SetLastPlannedSlot(ctx context.Context, slot string) error
}

// maxCatchUp bounds how many missed hours one scheduled run plans.
const maxCatchUp = 48

// RunSchedule plans every due slot since the last planned one, up to now:
// an hour the schedule missed (an outage, a deploy) is planned late rather
// than never. Each slot's period ends on its hour, so planning a slot twice
// keys the same ledger entries and mails nobody twice.
func (p *Planner) RunSchedule(ctx context.Context, state PlanState, now time.Time) ([]Report, error) {
	last, err := state.LastPlannedSlot(ctx)
	if err != nil {
		return nil, fmt.Errorf("read planner state: %w", err)
	}
	// The first run ever plans the current hour; later ones every hour
	// after the last planned, at most maxCatchUp of them.
	from := now.UTC().Truncate(time.Hour).Add(-time.Hour)
	if t, err := digest.SlotStart(last); err == nil {
		from = t
	}
	var reports []Report
	for _, slot := range digest.SlotsBetween(from, now, maxCatchUp) {
		until, err := digest.SlotStart(slot)
		if err != nil {
			return reports, fmt.Errorf("slot %q: %w", slot, err)
		}
		rep, err := p.Plan(ctx, Request{RunID: "schedule-" + slot, Target: Target{Kind: TargetDue, Slot: slot}, Until: until, StartedBy: "schedule"})
		if err != nil {
			return reports, fmt.Errorf("plan slot %s: %w", slot, err)
		}
		reports = append(reports, rep)
		if err := state.SetLastPlannedSlot(ctx, slot); err != nil {
			return reports, fmt.Errorf("save planner state: %w", err)
		}
	}
	return reports, nil
}

// AlertAfterIngest plans instant alerts after an ingest run that finished
// at until having stored newItems new items: nothing when it found no news.
// Its run id names the run's end to the second. A failure is logged, not
// returned: the ingest has done its part regardless.
func (p *Planner) AlertAfterIngest(ctx context.Context, newItems int, until time.Time) {
	if newItems <= 0 {
		return
	}
	rep, err := p.Plan(ctx, Request{
		RunID: "alerts-" + until.UTC().Format("20060102T150405"), Target: Target{Kind: TargetInstant}, Until: until,
		StartedBy: "ingest",
	})
	if err != nil {
		p.Log.ErrorContext(ctx, "plan alerts", "err", err)
		return
	}
	p.Log.InfoContext(ctx, "alerts planned", "planned", rep.Planned, "jobs", rep.Jobs)
}
