package app

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/digestmail"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/letters"
	"github.com/radiogram/radiogram/internal/sesmail"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// Planner returns the delivery planner.
func (a *App) Planner() *delivery.Planner {
	return &delivery.Planner{
		Subscribers:  a.Subscribers,
		Items:        a.Items,
		Suppressions: a.Suppressions,
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
		Ledger:       a.Ledger,
		Renderer:     a.digestRenderer(svc),
		Mail:         a.MailSender,
		Limiter:      rate.NewLimiter(rate.Limit(a.Config.SendRate), 1),
		Retryable:    sesmail.Retryable,
		Lease:        5 * time.Minute,
		Log:          a.Log,
	}, nil
}

// digestRenderer renders digests and alerts with links signed by svc.
func (a *App) digestRenderer(svc *subscribers.Service) *digestRenderer {
	r := &digestRenderer{
		mail: digestmail.NewRenderer(letters.Product{
			Name: "Radiogram", Link: a.Config.BaseURL, PostalAddress: a.Config.PostalAddress,
			From: a.Config.MailFrom, ReplyTo: a.Config.MailReplyTo,
		}, a.Config.UnsubscribeMailto),
		taxonomy:   a.Taxonomy,
		topicNames: map[string]string{},
		catalog:    a.catalog,
		links:      svc.Links,
	}
	for _, t := range a.Taxonomy.Topics() {
		r.topicOrder = append(r.topicOrder, t.ID)
		r.topicNames[t.ID] = t.Name
	}
	return r
}

// AdminService returns the admin actions: sends, previews, history, audit.
func (a *App) AdminService(svc *subscribers.Service) *admin.Service {
	return &admin.Service{
		FeedStore:        a.Feeds,
		ItemStore:        a.Items,
		SubscriberStore:  a.Subscribers,
		SuppressionStore: a.Suppressions,
		SendStore:        a.Ledger,
		RunStore:         a.AdminStore,
		Planner:          a.Planner(),
		DeadLetters:      a.DeadLetters,
		Renderer:         a.digestRenderer(svc),
		Mail:             a.MailSender,
		KnownTopic:       a.catalog.KnownTopic,
		TestRecipients:   a.Config.AdminEmails,
		Now:              time.Now,
		Log:              a.Log,
	}
}

// AlertAfterIngest plans instant alerts when an ingest run found news.
func (a *App) AlertAfterIngest(ctx context.Context, until time.Time) {
	rep, err := a.Planner().Plan(ctx, delivery.Request{
		RunID: "alerts-" + until.UTC().Format("20060102T150405"), Target: delivery.Target{Kind: delivery.TargetInstant}, Until: until,
		StartedBy: "ingest",
	})
	if err != nil {
		a.Log.ErrorContext(ctx, "plan alerts", "err", err)
		return
	}
	a.Log.InfoContext(ctx, "alerts planned", "planned", rep.Planned, "jobs", rep.Jobs)
}

// digestRenderer adapts package digestmail to the sender: sections grouped
// by the recipients' topics, and each recipient's period, reason and
// signed links filled in.
type digestRenderer struct {
	mail       *digestmail.Renderer
	taxonomy   *topics.Taxonomy
	topicOrder []string          // display order of every topic id
	topicNames map[string]string // by id, for badges and the why line
	catalog    *catalog
	links      func(context.Context, subscribers.Subscriber) subscribers.Links
}

// Compile renders a job once; what differs per recipient is filled in by
// the template, which reuses what Compile looked up.
func (r *digestRenderer) Compile(ctx context.Context, job delivery.Job, list []items.Item) (delivery.Template, error) {
	societies := r.societyNames(ctx)
	content := digestmail.Content{Kind: job.Kind, Format: job.Format, SocietyNames: societies, TopicNames: r.topicNames}
	for _, sec := range digest.GroupByTopic(job.Topics, r.topicOrder, list) {
		topic, _ := r.taxonomy.Lookup(sec.Topic)
		content.Sections = append(content.Sections, digestmail.Section{Topic: topic, Items: sec.Items})
	}
	tmpl, err := r.mail.Compile(content)
	if err != nil {
		return nil, err
	}
	return &digestTemplate{renderer: r, tmpl: tmpl, societies: societies}, nil
}

func (r *digestRenderer) societyNames(ctx context.Context) map[string]string {
	societies, _ := r.catalog.Societies(ctx)
	names := make(map[string]string, len(societies))
	for _, s := range societies {
		names[s.ID] = s.Name
	}
	return names
}

type digestTemplate struct {
	renderer  *digestRenderer
	tmpl      *digestmail.Template
	societies map[string]string // names by id, read once per job
}

func (t *digestTemplate) Fill(ctx context.Context, sub subscribers.Subscriber, since, until time.Time) (email.Message, error) {
	loc, err := subscribers.LoadLocation(sub.Preferences.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return t.tmpl.Fill(digestmail.Recipient{
		Email:  sub.Email,
		Period: digest.PeriodLabel(since, until, loc),
		Why:    t.why(sub),
		Links:  t.renderer.links(ctx, sub),
	})
}

// why tells a recipient, in one sentence, why this mail reached them.
func (t *digestTemplate) why(sub subscribers.Subscriber) string {
	p := sub.Preferences
	var what string
	switch p.Frequency {
	case subscribers.Instant:
		what = "these alerts"
	case subscribers.Weekly:
		what = "this weekly digest"
	default:
		what = "this daily digest"
	}
	topicNames := make([]string, 0, len(p.Topics))
	for _, id := range p.Topics {
		if name := t.renderer.topicNames[id]; name != "" {
			topicNames = append(topicNames, name)
		}
	}
	from := "all societies"
	if len(p.Societies) > 0 {
		list := make([]string, len(p.Societies))
		for i, id := range p.Societies {
			list[i] = cmp.Or(t.societies[id], strings.ToUpper(id))
		}
		from = joinWords(list)
	}
	return fmt.Sprintf("You get %s because you subscribed to %s from %s.", what, joinWords(topicNames), from)
}

// joinWords joins "a", "a and b", "a, b and c".
func joinWords(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
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
		SendLog:      a.Ledger,
		TopicARNs:    topics,
		Log:          a.Log,
	}
}
