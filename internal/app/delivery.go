package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digestmail"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/items"
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

// Sender returns the job sender, pacing itself at its share of the
// account's SES rate (delivery.InstanceRate): the rate SES reports for the
// account, lowered by RADIOGRAM_SEND_RATE if that is set lower, divided by
// RADIOGRAM_SENDER_CONCURRENCY, the most senders that run at once.
func (a *App) Sender(ctx context.Context) (*delivery.Sender, error) {
	svc, err := a.SubscriberService(ctx)
	if err != nil {
		return nil, err
	}
	return a.sender(ctx, svc), nil
}

func (a *App) sender(ctx context.Context, svc *subscribers.Service) *delivery.Sender {
	account := sesmail.NewAccountReader(sesv2.NewFromConfig(a.AWS), a.AWS)
	accountRate := a.accountRate(ctx, account)
	share := delivery.InstanceRate(accountRate, float64(a.Config.SendRate), a.Config.SenderConcurrency)
	a.Log.InfoContext(ctx, "sending rate", "account_rate", accountRate, "cap", a.Config.SendRate,
		"senders", a.Config.SenderConcurrency, "instance_rate", share)
	return &delivery.Sender{
		Subscribers:  a.Subscribers,
		Items:        a.Items,
		Suppressions: a.Suppressions,
		Hasher:       a.Hasher,
		Ledger:       a.Ledger,
		Renderer:     a.digestRenderer(svc),
		Mail:         a.MailSender,
		Limiter:      delivery.NewRateLimiter(share), // no limit for 0: a local run without a cap
		Classify:     classifySES,
		Lease:        5 * time.Minute,
		Pauses:       a.AdminStore,
		Quota:        sesQuota{account},
		Rate:         share,
		AccountRate:  accountRate,
		Metrics:      a.Metrics,
		Now:          time.Now,
	}
}

// sandboxRate is SES's rate for an account still in the sandbox, the
// lowest any account has: the pace when the account's cannot be read.
const sandboxRate = 1

// accountRate is the account's maximum SES send rate, or 0 when only the
// configured cap should count.
func (a *App) accountRate(ctx context.Context, account *sesmail.AccountReader) float64 {
	acct, err := account.Read(ctx)
	switch {
	case a.Config.AWSEndpoint != "":
		// An emulator (moto) answers GetSendQuota with fixed sandbox
		// figures (1 mail/s, 200 a day) that no call changes; local runs
		// and tests would crawl at them. There the cap alone paces.
		a.Log.DebugContext(ctx, "the emulator's SES limits are not applied", "limits", acct, "err", err)
		return 0
	case err != nil:
		a.Log.WarnContext(ctx, "cannot read the account's SES limits: pacing at the sandbox's rate", "rate", sandboxRate, "err", err)
		return sandboxRate
	}
	a.Log.InfoContext(ctx, "SES account limits", "max_send_rate", acct.MaxSendRate, "max_24_hour_send", acct.Max24HourSend,
		"sent_last_24_hours", acct.SentLast24Hours, "source", acct.Source)
	return acct.MaxSendRate
}

// classifySES says what an SES error means for the sender.
func classifySES(err error) delivery.SendFailure {
	switch {
	case sesmail.DailyQuotaExceeded(err):
		return delivery.FailQuota
	case sesmail.Throttled(err):
		return delivery.FailThrottled
	case sesmail.Retryable(err):
		return delivery.FailTransient
	}
	return delivery.FailPermanent
}

// sesQuota reads the account's daily quota for the sender.
type sesQuota struct{ account *sesmail.AccountReader }

func (q sesQuota) Quota(ctx context.Context) (delivery.Quota, error) {
	acct, err := q.account.Read(ctx)
	if err != nil {
		return delivery.Quota{}, err
	}
	return delivery.Quota{Max24HourSend: acct.Max24HourSend, SentLast24Hours: acct.SentLast24Hours}, nil
}

// SendHandler is the sender function's handler: the queued jobs go to the
// sender, the queued subscriber requests to the subscriber flows, whose
// sign-up, manage and data-link mails wait for the same rate limiter as
// the digests.
func (a *App) SendHandler(ctx context.Context) (lambdaevents.SQSHandler, error) {
	plain, err := a.SubscriberService(ctx)
	if err != nil {
		return nil, err
	}
	sender := a.sender(ctx, plain)
	svc, err := a.subscriberService(ctx, pacedMail{mail: a.MailSender, limiter: sender.Limiter})
	if err != nil {
		return nil, err
	}
	var queue lambdaevents.Postponer // records handed back wait out the visibility timeout without it
	if a.Config.SendQueueURL != "" {
		queue = a.Queue
	}
	return lambdaevents.SendJobs(sender, svc, queue, a.Log), nil
}

// pacedMail waits for the limiter before each mail.
type pacedMail struct {
	mail    email.Sender
	limiter delivery.Limiter
}

func (p pacedMail) Send(ctx context.Context, m email.Message) (string, error) {
	if err := p.limiter.Wait(ctx); err != nil {
		return "", err
	}
	return p.mail.Send(ctx, m)
}

// digestRenderer renders digests and alerts with links signed by svc;
// the items a mail leaves out are behind a signed link to the reader's
// own filter of the archive for the mail's period.
func (a *App) digestRenderer(svc *subscribers.Service) *digestmail.JobRenderer {
	return a.previewRenderer(svc).WithArchive(svc)
}

// previewRenderer renders the admin's previews and test sends: their
// links are inert, and "more in the archive" goes to the public /news,
// never to the previewed reader's own signed filter.
func (a *App) previewRenderer(svc *subscribers.Service) *digestmail.JobRenderer {
	r := digestmail.NewRenderer(a.product, a.Config.UnsubscribeMailto, digestmail.MaxItems(a.Config.MailMaxItems))
	return digestmail.NewJobRenderer(r, a.Taxonomy, a.catalog, svc.Links)
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
		Pause:            a.AdminStore,
		Renderer:         a.previewRenderer(svc),
		Mail:             a.MailSender,
		KnownTopic:       a.catalog.KnownTopic,
		CorrectionStore:  a.Corrections,
		MaxTopics:        items.MaxTopics,
		Catalog:          a.catalog,
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
