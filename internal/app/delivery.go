package app

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digestmail"
	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/sesmail"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// Planner returns the delivery planner.
func (a *App) Planner() *delivery.Planner {
	return &delivery.Planner{
		Subscribers:  a.Subscribers,
		Items:        a.Items,
		Suppressions: a.Suppressions,
		Hasher:       a.Hasher,
		Queue:        a.Queue,
		Runs:         a.AdminStore,
		Log:          a.Log,
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

// PlanSchedule is the planner function's handler: it plans every due slot
// up to now, catching up hours that were missed.
func (a *App) PlanSchedule(ctx context.Context, _ struct{}) ([]delivery.Report, error) {
	return a.Planner().RunSchedule(ctx, a.Ledger, time.Now())
}

// Feedback returns the processor of SES bounce and complaint notifications.
func (a *App) Feedback() *feedback.Processor {
	var topics []string
	if a.Config.FeedbackTopicARN != "" {
		topics = []string{a.Config.FeedbackTopicARN}
	}
	return &feedback.Processor{
		Verifier:     &feedback.Verifier{},
		Suppressions: a.Suppressions,
		Transients:   a.Suppressions,
		Hasher:       a.Hasher,
		SendLog:      a.Ledger,
		TopicARNs:    topics,
		Log:          a.Log,
	}
}
