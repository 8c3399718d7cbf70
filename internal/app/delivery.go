package app

import (
	"context"
	"encoding/json"
	"time"

	"golang.org/x/time/rate"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digestmail"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/lambdaevents"
	"github.com/radiogram/radiogram/internal/metrics"
	"github.com/radiogram/radiogram/internal/sesmail"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// planConcurrency bounds the shards one process plans at once when it
// plans a whole run itself (a plan queue's absence, the tests).
const planConcurrency = 4

// Planner returns the delivery planner. Runs it starts are split into
// shards on the plan queue, for planner invocations of their own.
func (a *App) Planner() *delivery.Planner {
	p := &delivery.Planner{
		Subscribers:  a.Subscribers,
		Items:        a.Items,
		Suppressions: a.Suppressions,
		Hasher:       a.Hasher,
		Queue:        a.Queue,
		Runs:         a.AdminStore,
		Concurrency:  planConcurrency,
		Log:          a.Log,
	}
	if a.PlanQueue != nil {
		p.Plans = a.PlanQueue
	}
	return p
}

// PlannerHandler is the planner function's handler: the schedule's event
// starts every due hour; a batch from the plan queue plans its shards.
func (a *App) PlannerHandler() func(context.Context, json.RawMessage) (any, error) {
	return lambdaevents.ScheduleOrQueue(func(ctx context.Context, _ json.RawMessage) (any, error) { return a.PlanSchedule(ctx) }, a.PlanShards())
}

// PlanShards handles the plan queue's messages, one shard of a run each.
func (a *App) PlanShards() lambdaevents.SQSHandler {
	return lambdaevents.PlanShards(a.Planner(), a.recordPlanMetrics, a.Log)
}

// recordPlanMetrics writes a planned shard's figures as metrics.
func (a *App) recordPlanMetrics(ctx context.Context, rep delivery.Report) {
	err := a.Metrics.Emit(
		metrics.Metric{Name: "PlanningDuration", Unit: metrics.Milliseconds, Value: float64(rep.PlanningMS)},
		metrics.Metric{Name: "Candidates", Unit: metrics.Count, Value: float64(rep.Candidates)},
		metrics.Metric{Name: "Planned", Unit: metrics.Count, Value: float64(rep.Planned)},
		metrics.Metric{Name: "Jobs", Unit: metrics.Count, Value: float64(rep.Jobs)},
	)
	if err != nil {
		a.Log.WarnContext(ctx, "metrics", "err", err)
	}
}

// Sender returns the job sender, mailing through SES at the configured rate.
func (a *App) Sender(ctx context.Context) (*delivery.Sender, error) {
	svc, err := a.SubscriberService(ctx)
	if err != nil {
		return nil, err
	}
	return &delivery.Sender{
		Subscribers:  a.Subscribers,
		Items:        a.Items,
		Suppressions: a.Suppressions,
		Hasher:       a.Hasher,
		Ledger:       a.Ledger,
		Renderer:     a.digestRenderer(svc),
		Mail:         a.MailSender,
		Limiter:      rate.NewLimiter(rate.Limit(a.Config.SendRate), 1),
		Retryable:    sesmail.Retryable,
		Lease:        5 * time.Minute,
	}, nil
}

// digestRenderer renders digests and alerts with links signed by svc.
func (a *App) digestRenderer(svc *subscribers.Service) *digestmail.JobRenderer {
	return digestmail.NewJobRenderer(digestmail.NewRenderer(a.product, a.Config.UnsubscribeMailto), a.Taxonomy, a.catalog, svc.Links)
}

// AdminService returns the admin actions: feeds, ingest, items, sends,
// previews, history, audit.
func (a *App) AdminService(svc *subscribers.Service) *admin.Service {
	return &admin.Service{
		FeedStore:        a.Feeds,
		Ingest:           a.IngestRuns(),
		ItemStore:        a.Items,
		SubscriberStore:  a.Subscribers,
		SuppressionStore: a.Suppressions,
		Hasher:           a.Hasher,
		SendStore:        a.Ledger,
		RunStore:         a.AdminStore,
		Planner:          a.Planner(),
		DeadLetters:      a.DeadLetters,
		Renderer:         a.digestRenderer(svc),
		Mail:             a.MailSender,
		KnownTopic:       a.catalog.KnownTopic,
		TestRecipients:   a.Config.AdminEmails,
		PreviewLinks:     svc.PreviewLinks,
		Now:              time.Now,
		Log:              a.Log,
	}
}

// IngestRuns returns the ingest runs: one at a time under the lock in the
// admin table, queued by the API on the ingest queue and carried out, like
// the schedule's, by the ingest function with the ingest runner.
func (a *App) IngestRuns() *ingestruns.Service {
	s := &ingestruns.Service{Store: a.AdminStore, Runner: a.Ingest, Now: time.Now, Log: a.Log}
	if a.IngestQueue != nil { // never a typed nil in the interface
		s.Queue = a.IngestQueue
	}
	return s
}

// PlanSchedule starts every due slot up to now, catching up hours that
// were missed.
func (a *App) PlanSchedule(ctx context.Context) ([]delivery.Report, error) {
	return a.Planner().RunSchedule(ctx, a.Ledger, time.Now())
}
