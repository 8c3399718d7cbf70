package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
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

// Request asks the planner for one run, or for one shard of it.
type Request struct {
	RunID  string `json:"run_id"`
	Target Target `json:"target"`
	// Until ends every recipient's period. A scheduled run uses its slot's
	// hour, so that planning the same slot twice keys the same sends.
	Until  time.Time `json:"until"`
	DryRun bool      `json:"dry_run,omitempty"` // report who would get what; queue and change nothing
	// StartedBy says who asked: "schedule", "ingest", or an admin.
	StartedBy string `json:"started_by"`
	// Shard is the part of the subscribers this request plans, when Sharded.
	Shard   int  `json:"shard"`
	Sharded bool `json:"sharded,omitempty"`
}

// Automatic reports whether nobody asked for the run: a schedule's hour or
// an ingest's alerts. Those are kept in the history only when they found
// somebody to mail.
func (r Request) Automatic() bool {
	return r.Target.Kind == TargetDue || r.Target.Kind == TargetInstant
}

// shards returns the requests for every shard of r.
func (r Request) shards() []Request {
	reqs := make([]Request, Shards)
	for i := range reqs {
		reqs[i] = r
		reqs[i].Shard, reqs[i].Sharded = i, true
	}
	return reqs
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
	// Recipients details each candidate in a dry run: a sample of at most
	// maxReportedRecipients of them, the same share from every shard.
	Recipients []PlannedRecipient `json:"recipients,omitempty"`
	// PlanningMS is how long planning took, summed over the shards.
	PlanningMS int64 `json:"planning_ms"`
}

func newReport(req Request) Report {
	return Report{RunID: req.RunID, Target: req.Target, Until: req.Until.UTC(), DryRun: req.DryRun, Skipped: map[string]int{}, Topics: map[string]int{}}
}

// Merge adds another shard's report to rep.
func (rep *Report) Merge(o Report) {
	rep.Candidates += o.Candidates
	rep.Planned += o.Planned
	rep.Jobs += o.Jobs
	rep.PlanningMS += o.PlanningMS
	for k, v := range o.Skipped {
		rep.Skipped[k] += v
	}
	for k, v := range o.Topics {
		rep.Topics[k] += v
	}
	room := maxReportedRecipients - len(rep.Recipients)
	rep.Recipients = append(rep.Recipients, o.Recipients[:min(room, len(o.Recipients))]...)
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

// sampleOf is how many recipients one shard of a dry run details.
func sampleOf(req Request) int {
	if req.Sharded {
		return maxReportedRecipients / Shards
	}
	return maxReportedRecipients
}

// ErrUnknownSubscriber is returned for a subscriber target nobody holds.
var ErrUnknownSubscriber = errors.New("no confirmed subscriber with that address")

// RunRecorder keeps the history of runs. It names subscribers by id only:
// a recorded report leaves out the recipients' addresses (Redacted).
type RunRecorder interface {
	// StartRun lists a run in the history before any of its shards is
	// planned; a second call for the run changes nothing.
	StartRun(ctx context.Context, req Request) error
	// RecordRun keeps the report of one shard of a run (or of a whole
	// unsharded run), and lists the run if it is not yet.
	RecordRun(ctx context.Context, req Request, rep Report) error
}

// Planner finds who gets what and queues it.
type Planner struct {
	Subscribers  SubscriberIndex
	Items        ItemReader
	Suppressions SuppressionChecker
	Hasher       subscribers.AddressHasher // keys addresses in Suppressions
	Queue        Queue
	// Plans carries the shards of a run to planner invocations of their
	// own (Start); nil plans every shard in this process.
	Plans PlanQueue
	Runs  RunRecorder // optional
	// Concurrency bounds the shards one process plans at once (Plan).
	Concurrency int
	Log         *slog.Logger
	Now         func() time.Time // for the planning time; time.Now if nil
}

// Start begins a run. A run for one subscriber is planned at once. Any
// other is split into Shards requests on the plan queue, each planned by a
// planner invocation of its own, so that nothing an admin or a schedule
// asks for waits on the size of the list. An admin's run is listed in the
// history at once, and its counts grow as its shards are planned.
func (p *Planner) Start(ctx context.Context, req Request) (Report, error) {
	if req.Target.Kind == TargetSubscriber || p.Plans == nil {
		return p.Plan(ctx, req)
	}
	if p.Runs != nil && !req.Automatic() {
		if err := p.Runs.StartRun(ctx, req); err != nil {
			return Report{}, fmt.Errorf("record run: %w", err)
		}
	}
	if err := p.Plans.EnqueuePlans(ctx, req.shards()); err != nil {
		return Report{}, fmt.Errorf("queue the shards of run %s: %w", req.RunID, err)
	}
	return newReport(req), nil
}

// Plan plans a request: one shard when it names one, else every shard in
// this process, at most Concurrency at a time. Each shard's report is
// recorded as it is done, so a retried run redoes only what failed, and
// queues nothing twice that the ledger would not then skip.
func (p *Planner) Plan(ctx context.Context, req Request) (Report, error) {
	if req.Sharded || req.Target.Kind == TargetSubscriber {
		return p.planShard(ctx, req)
	}
	total := newReport(req)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, max(1, p.Concurrency))
	for _, shard := range req.shards() {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rep, err := p.planShard(ctx, shard)
			mu.Lock()
			defer mu.Unlock()
			total.Merge(rep)
			if err != nil {
				errs = append(errs, fmt.Errorf("shard %d: %w", shard.Shard, err))
			}
		})
	}
	wg.Wait()
	slices.SortFunc(total.Recipients, func(a, b PlannedRecipient) int { return strings.Compare(a.SubscriberID, b.SubscriberID) })
	return total, errors.Join(errs...)
}

// planShard plans one shard (or a one-subscriber run) and records it.
func (p *Planner) planShard(ctx context.Context, req Request) (Report, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	began := now()
	rep, err := p.plan(ctx, req)
	rep.PlanningMS = now().Sub(began).Milliseconds()
	if err != nil || p.Runs == nil || (req.Automatic() && rep.Candidates == 0) {
		return rep, err // an hour or an ingest with nobody to mail is not worth a line in the history
	}
	if err := p.Runs.RecordRun(ctx, req, rep); err != nil {
		return rep, fmt.Errorf("record run: %w", err)
	}
	return rep, nil
}

func (p *Planner) plan(ctx context.Context, req Request) (Report, error) {
	rep := newReport(req)
	candidates, err := p.candidates(ctx, req)
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

	emails := make([]string, len(candidates))
	for i, c := range candidates {
		emails[i] = c.Subscriber.Email
	}
	hashes := p.Hasher.HashEmails(emails)
	suppressed, err := p.Suppressions.Suppressed(ctx, hashes)
	if err != nil {
		return rep, fmt.Errorf("check suppressions: %w", err)
	}
	sinces, all, err := p.periods(ctx, candidates, rep.Until, req.Target.Kind == TargetInstant)
	if err != nil {
		return rep, err
	}

	jobs := jobGrouper{template: Job{RunID: req.RunID, Kind: kind, Until: rep.Until}, open: map[string]*Job{}}
	selections := selector{run: digest.NewRun(all), until: rep.Until, kind: kind, cache: map[string]*selection{}, stories: p.storyMembers(ctx, all)}
	// Nothing to send: a digest subscriber's period just ends, and their
	// next due hour is set. An alert subscriber's is left as it is: their
	// next alert looks back no further than its lookback anyway, and a
	// write per alert subscriber after every ingest would cost more than
	// all the alerts (docs/scale.md).
	var closed []subscribers.Subscriber
	closes := kind == digest.KindDigest
	for i, c := range candidates {
		sub := c.Subscriber
		detail := PlannedRecipient{SubscriberID: sub.ID, Email: sub.Email}
		sel := selections.of(sub.Preferences, sinces[i], c)
		switch {
		case suppressed[hashes[i]] != "":
			detail.Skip = SkipSuppressed + " (" + string(suppressed[hashes[i]]) + ")"
			rep.Skipped[SkipSuppressed]++
			if closes {
				closed = append(closed, sub)
			}
		case len(sel.keys) == 0:
			detail.Skip = SkipNothingNew
			rep.Skipped[SkipNothingNew]++
			if closes {
				closed = append(closed, sub)
			}
		default:
			rep.Planned++
			for _, t := range sel.topics {
				rep.Topics[t]++
			}
			detail.Items, detail.Titles = len(sel.keys), sel.titles
			jobs.add(sub, sinces[i], sel)
		}
		if req.DryRun && len(rep.Recipients) < sampleOf(req) {
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
	p.Log.InfoContext(ctx, "send planned", "run", req.RunID, "target", req.Target.Kind, "shard", req.Shard, "candidates", rep.Candidates,
		"planned", rep.Planned, "jobs", rep.Jobs, "skipped", rep.Skipped)
	return rep, nil
}

// periods returns where each candidate's period starts (their watermark,
// at most one period back; for the alerts after an ingest, a first alert
// at the confirmation) and the items of all those periods, read in one go.
func (p *Planner) periods(ctx context.Context, candidates []Candidate, until time.Time, afterIngest bool) ([]time.Time, []items.Item, error) {
	sinces := make([]time.Time, len(candidates))
	earliest := until
	for i, c := range candidates {
		if afterIngest {
			sinces[i] = digest.AlertSince(c.Subscriber, c.Watermark, until)
		} else {
			sinces[i] = digest.Since(c.Watermark, until, c.Subscriber.Preferences.Frequency)
		}
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

// selection is what subscribers of the same matching preferences and
// period get.
type selection struct {
	keys    []string // the items, newest first
	titles  []string // the first few, for a dry run's detail
	topics  []string // the subscribers' topics with an item among them
	content string   // the job content key (digest.ContentKey)
	// keywords are the subscribers' keywords that match an item: their
	// mail says "You follow: …" for those items.
	keywords []string
}

// selector selects items once per distinct preferences and period: a list
// of a million subscribers has a few thousand distinct choices, and
// selecting per subscriber would cost a million passes over the items.
type selector struct {
	run   *digest.Run // the items, with phrases matched once per run
	until time.Time
	kind  digest.Kind
	cache map[string]*selection
	buf   []byte           // where keys are built
	keys  digest.MatchKeys // digest.MatchKey, each list of phrases sorted once
	// stories are the members of the stories with more than one item
	// (storyMembers): an item whose story a subscriber was already mailed
	// is not sent again.
	stories map[string][]items.Item
}

func (s *selector) of(p subscribers.Preferences, since time.Time, c Candidate) *selection {
	sentAfter, sentUntil := s.sentBefore(c, since)
	// The key is built in one buffer: a lookup that finds its selection
	// allocates nothing, which counts with a million subscribers.
	s.buf = since.AppendFormat(s.buf[:0], time.RFC3339Nano)
	s.buf = append(append(append(s.buf, '|'), p.Format...), '|')
	s.buf = s.keys.Append(s.buf, p)
	if !sentUntil.IsZero() {
		s.buf = sentAfter.AppendFormat(append(s.buf, '|'), time.RFC3339Nano)
		s.buf = sentUntil.AppendFormat(append(s.buf, '|'), time.RFC3339Nano)
	}
	if sel, ok := s.cache[string(s.buf)]; ok {
		return sel
	}
	key := string(s.buf)
	picked := s.dropSentStories(p, s.run.Pick(p, since, s.until), sentAfter, sentUntil)
	sel := &selection{keys: make([]string, len(picked)), titles: make([]string, 0, min(5, len(picked))), keywords: s.run.Followed(p.Keywords, picked)}
	all := s.run.Items()
	for i, n := range picked {
		it := &all[n]
		sel.keys[i] = it.Key
		if i < 5 {
			sel.titles = append(sel.titles, it.Title)
		}
		for _, t := range it.Topics {
			if slices.Contains(p.Topics, t.ID) && !slices.Contains(sel.topics, t.ID) {
				sel.topics = append(sel.topics, t.ID)
			}
		}
	}
	sel.content = digest.ContentKey(string(s.kind), p.Format, p.Topics, sel.keys)
	s.cache[key] = sel
	return sel
}

// jobGrouper puts recipients of identical content into the same jobs, of
// at most MaxRecipients each.
type jobGrouper struct {
	template Job             // run, kind and period of every job
	open     map[string]*Job // the job still taking recipients, by content
	all      []*Job
}

func (g *jobGrouper) add(sub subscribers.Subscriber, since time.Time, sel *selection) {
	// Recipients who chose societies read "from a society you follow" on
	// their items: they share a job only with those who chose the same.
	key := sel.content
	var societies []string
	if len(sub.Preferences.Societies) > 0 {
		societies = slices.Sorted(slices.Values(sub.Preferences.Societies))
		key += "|" + strings.Join(societies, ",")
	}
	// So do recipients whose keywords matched items: their mail names the
	// keyword. Phrases hold no control characters to confuse the key.
	if len(sel.keywords) > 0 {
		key += "|k:" + strings.Join(sel.keywords, "\x1f")
	}
	job := g.open[key]
	if job == nil || len(job.Recipients) == MaxRecipients {
		j := g.template
		j.Format, j.Topics, j.Societies, j.ItemKeys = sub.Preferences.Format, sub.Preferences.Topics, societies, sel.keys
		j.Keywords = sel.keywords
		job = &j
		g.open[key] = job
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

func (p *Planner) candidates(ctx context.Context, req Request) ([]Candidate, error) {
	t := req.Target
	switch t.Kind {
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
	case TargetDue:
		return p.Subscribers.Due(ctx, t.Slot, req.Shard)
	case TargetInstant:
		return p.Subscribers.Instant(ctx, req.Shard)
	case TargetAll:
		return p.Subscribers.Active(ctx, req.Shard)
	case TargetTopic:
		active, err := p.Subscribers.Active(ctx, req.Shard)
		if err != nil {
			return nil, err
		}
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

// RunSchedule starts every due slot since the last planned one, up to now:
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
		rep, err := p.Start(ctx, Request{RunID: "schedule-" + slot, Target: Target{Kind: TargetDue, Slot: slot}, Until: until, StartedBy: "schedule"})
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

// AlertAfterIngest starts instant alerts after an ingest run that finished
// at until having stored newItems new items: nothing when it found no news.
// Its run id names the run's end to the second. A failure is logged, not
// returned: the ingest has done its part regardless.
func (p *Planner) AlertAfterIngest(ctx context.Context, newItems int, until time.Time) {
	if newItems <= 0 {
		return
	}
	rep, err := p.Start(ctx, Request{
		RunID: "alerts-" + until.UTC().Format("20060102T150405"), Target: Target{Kind: TargetInstant}, Until: until,
		StartedBy: "ingest",
	})
	if err != nil {
		p.Log.ErrorContext(ctx, "plan alerts", "err", err)
		return
	}
	p.Log.InfoContext(ctx, "alerts started", "run", rep.RunID, "planned", rep.Planned, "jobs", rep.Jobs)
}
