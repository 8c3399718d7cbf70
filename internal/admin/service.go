package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// Stores and collaborators the service depends on, declared here by what
// it uses of them (the feed registry and the ingest in feeds.go).
type (
	ItemLister interface {
		// Page reports an error matching items.ErrBadCursor for a
		// cursor it did not hand out for this listing.
		Page(ctx context.Context, q items.PageQuery) (items.Page, error)
		IngestedBetween(ctx context.Context, since, until time.Time) ([]items.Item, error)
	}
	SubscriberReader interface {
		ByEmail(ctx context.Context, email string) (delivery.Candidate, error)
		GetMany(ctx context.Context, ids []string) (map[string]delivery.Candidate, error)
		// Count tallies every subscriber; it reads the whole table, so the
		// service caches its answer.
		Count(ctx context.Context) (Summary, error)
	}
	SuppressionReader interface {
		Get(ctx context.Context, emailHash string) (subscribers.Suppression, bool, error)
	}
	SendLog interface {
		History(ctx context.Context, subscriberID string, limit int) ([]delivery.Entry, error)
		ByRun(ctx context.Context, runID string) ([]delivery.Entry, error)
	}
	RunStore interface {
		Run(ctx context.Context, id string) (Run, error)
		Runs(ctx context.Context, limit int) ([]Run, error)
		ClaimIdempotencyKey(ctx context.Context, key, runID string) (string, error)
		ReleaseIdempotencyKey(ctx context.Context, key string) error
		Record(ctx context.Context, e AuditEntry) error
		Audit(ctx context.Context, limit int) ([]AuditEntry, error)
	}
	Planner interface {
		// Start plans a run for one subscriber at once, and queues any
		// other's shards for the planner function.
		Start(ctx context.Context, req delivery.Request) (delivery.Report, error)
	}
	// SocietyCatalog lists the societies of the registered feeds.
	SocietyCatalog interface {
		Societies(ctx context.Context) ([]feeds.Society, error)
	}
	// QueueDepth counts the messages waiting in a queue.
	QueueDepth interface {
		Depth(ctx context.Context) (int, error)
	}
	// SendingPause reads the pause the senders start when the account's
	// daily SES quota is used up.
	SendingPause interface {
		SendingPausedUntil(ctx context.Context) (time.Time, error)
	}
)

// Service carries out admin actions. Its fields are set once at start-up.
type Service struct {
	FeedStore        FeedRegistry
	Ingest           IngestRuns
	ItemStore        ItemLister
	SubscriberStore  SubscriberReader
	SuppressionStore SuppressionReader
	// Hasher keys addresses in SuppressionStore.
	Hasher      subscribers.AddressHasher
	SendStore   SendLog
	RunStore    RunStore
	Planner     Planner
	DeadLetters QueueDepth   // optional
	Pause       SendingPause // optional
	Renderer    delivery.Renderer
	Mail        email.Sender
	KnownTopic  func(id string) bool
	// CorrectionStore applies admins' corrections of items' topics, of
	// which an item has at most MaxTopics (items.MaxTopics).
	CorrectionStore CorrectionStore
	MaxTopics       int
	// Catalog lists the societies (*feeds.Catalog, which reads the feed
	// registry at most once a minute); without it the registry is read.
	Catalog SocietyCatalog
	// TestRecipients are the only addresses a preview may be test-sent to.
	TestRecipients []string
	// PreviewLinks returns the inert links a preview carries in place of
	// the subscriber's own (svc.PreviewLinks); without it, links to
	// previewLinkBase.
	PreviewLinks func(ctx context.Context) subscribers.Links
	Now          func() time.Time
	Log          *slog.Logger

	summaryMu sync.Mutex
	summary   Summary
}

// summaryTTL is how long a subscriber count is reused.
const summaryTTL = time.Minute

// Items lists one page of stored items, newest first: of a topic and a
// society, either "" for any. cursor is the Next of the page before.
func (s *Service) Items(ctx context.Context, topic, society, cursor string, limit int) (items.Page, error) {
	if topic != "" && !s.KnownTopic(topic) {
		return items.Page{}, fmt.Errorf("%w %q", ErrUnknownTopic, topic)
	}
	q := items.PageQuery{Topic: topic, Cursor: cursor, Limit: limit}
	if society != "" {
		q.Societies = []string{society}
	}
	return s.itemPage(ctx, q)
}

// Summary counts subscribers by status, topic and frequency, and says
// whether sending is paused. The counts are reused for a minute; the pause
// is read every time, so that the overview shows it as soon as it starts
// and no longer once it ends.
func (s *Service) Summary(ctx context.Context) (Summary, error) {
	sum, err := s.counts(ctx)
	if err != nil {
		return Summary{}, err
	}
	if s.Pause != nil {
		until, err := s.Pause.SendingPausedUntil(ctx)
		if err != nil {
			return Summary{}, fmt.Errorf("read the sending pause: %w", err)
		}
		if until.After(s.Now()) {
			until = until.UTC()
			sum.SendingPausedUntil = &until
		}
	}
	return sum, nil
}

func (s *Service) counts(ctx context.Context) (Summary, error) {
	s.summaryMu.Lock()
	defer s.summaryMu.Unlock()
	if !s.summary.CountedAt.IsZero() && s.Now().Sub(s.summary.CountedAt) < summaryTTL {
		return s.summary, nil
	}
	sum, err := s.SubscriberStore.Count(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("count subscribers: %w", err)
	}
	if s.DeadLetters != nil {
		if sum.DeadLetterJobs, err = s.DeadLetters.Depth(ctx); err != nil {
			return Summary{}, fmt.Errorf("count dead letters: %w", err)
		}
	}
	sum.CountedAt = s.Now().UTC()
	s.summary = sum
	return sum, nil
}

// Subscriber returns one subscriber with their send log.
func (s *Service) Subscriber(ctx context.Context, email string) (SubscriberDetail, error) {
	addr, err := subscribers.NormalizeEmail(email)
	if err != nil {
		return SubscriberDetail{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	c, err := s.SubscriberStore.ByEmail(ctx, addr)
	if errors.Is(err, subscribers.ErrNotFound) {
		return SubscriberDetail{}, fmt.Errorf("%w: no subscriber %s", ErrNotFound, addr)
	}
	if err != nil {
		return SubscriberDetail{}, err
	}
	d := SubscriberDetail{Subscriber: c.Subscriber}
	if supp, ok, err := s.SuppressionStore.Get(ctx, s.Hasher.HashEmail(addr)); err != nil {
		return d, err
	} else if ok {
		d.Suppression = &supp
	}
	if d.Sends, err = s.SendStore.History(ctx, c.Subscriber.ID, 100); err != nil {
		return d, err
	}
	return d, nil
}

// Runs lists the latest runs with what became of their sends.
func (s *Service) Runs(ctx context.Context, limit int) ([]Run, error) {
	runs, err := s.RunStore.Runs(ctx, limit)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		if _, err := s.outcomes(ctx, &runs[i]); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// Run returns one run with its failures. A dry run's sample of recipients
// is stored by subscriber id: their addresses are read back for the admin.
func (s *Service) Run(ctx context.Context, id string) (RunDetail, error) {
	run, err := s.RunStore.Run(ctx, id)
	if err != nil {
		return RunDetail{}, err
	}
	if err := s.addresses(ctx, run.Plan.Recipients); err != nil {
		return RunDetail{}, err
	}
	failures, err := s.outcomes(ctx, &run)
	return RunDetail{Run: run, Failures: failures}, err
}

// addresses fills in the recipients' addresses, of those not erased since.
func (s *Service) addresses(ctx context.Context, recipients []delivery.PlannedRecipient) error {
	if len(recipients) == 0 {
		return nil
	}
	ids := make([]string, len(recipients))
	for i, r := range recipients {
		ids[i] = r.SubscriberID
	}
	found, err := s.SubscriberStore.GetMany(ctx, ids)
	if err != nil {
		return fmt.Errorf("read the sample's addresses: %w", err)
	}
	for i, r := range recipients {
		recipients[i].Email = found[r.SubscriberID].Subscriber.Email
	}
	return nil
}

// outcomes fills a run's sender counts from its ledger entries and returns
// its failures. The ledger is the truth, so the counts cannot drift.
func (s *Service) outcomes(ctx context.Context, run *Run) ([]Failure, error) {
	run.Skipped, run.Feedback = map[string]int{}, map[string]int{}
	if run.DryRun {
		return nil, nil
	}
	entries, err := s.SendStore.ByRun(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	var failures []Failure
	for _, e := range entries {
		switch e.Status {
		case delivery.LedgerSent:
			run.Sent++
		case delivery.LedgerFailed:
			run.Failed++
			failures = append(failures, Failure{SubscriberID: e.SubscriberID, Reason: e.Reason, At: e.At})
		case delivery.LedgerSkipped:
			run.Skipped[e.Reason]++
		}
		if e.Feedback != "" {
			kind, _, _ := strings.Cut(e.Feedback, ":")
			run.Feedback[kind]++
		}
	}
	return failures, nil
}

// idempotencyKeyTimeout bounds claiming or releasing an idempotency key,
// which runs on past the request that asked for it.
const idempotencyKeyTimeout = 10 * time.Second

// Trigger plans a send now, through the same planner, queue, ledger and
// sender as the schedule. A repeated idempotency key returns the first run.
// A subscriber target is resolved to the subscriber's id here: the run
// record and the audit log name it by id, never by address, so that
// erasing the subscriber leaves no address behind. The answer shows the
// target as the admin wrote it.
func (s *Service) Trigger(ctx context.Context, req TriggerRequest) (Run, error) {
	target, err := s.parseTarget(ctx, req.Target)
	if err != nil {
		return Run{}, err
	}
	runID := "admin-" + s.Now().UTC().Format("20060102T150405") + "-" + strings.ToLower(rand.Text()[:6])
	if req.IdempotencyKey != "" && !req.DryRun {
		// The claim and its release run on a context that outlives the
		// request: a client that goes away mid-write must not leave a key
		// claimed, by a run that never happened, without our knowing.
		claimCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), idempotencyKeyTimeout)
		existing, err := s.RunStore.ClaimIdempotencyKey(claimCtx, req.IdempotencyKey, runID)
		cancel()
		if err != nil {
			return Run{}, err
		}
		if existing != "" {
			return s.RunStore.Run(ctx, existing)
		}
	}
	rep, err := s.Planner.Start(ctx, delivery.Request{RunID: runID, Target: target, Until: s.Now().UTC(), DryRun: req.DryRun, StartedBy: req.Actor})
	if err != nil {
		if req.IdempotencyKey != "" && !req.DryRun {
			// Released even when the plan failed because the client left
			// (ctx cancelled), so that its retry is sent.
			releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), idempotencyKeyTimeout)
			err = errors.Join(err, s.RunStore.ReleaseIdempotencyKey(releaseCtx, req.IdempotencyKey))
			cancel()
		}
		if errors.Is(err, delivery.ErrUnknownSubscriber) {
			return Run{}, fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return Run{}, err
	}
	action := "send.trigger"
	if req.DryRun {
		action = "send.dry_run"
	}
	run := Run{
		ID: runID, StartedBy: req.Actor, Target: req.Target, DryRun: req.DryRun, CreatedAt: s.Now().UTC(),
		Status: RunPlanned, Shards: 1, ShardsPlanned: 1, Plan: rep, Skipped: map[string]int{}, Feedback: map[string]int{},
	}
	if target.Kind == delivery.TargetSubscriber {
		s.audit(ctx, req.Actor, action, fmt.Sprintf("run %s, target %s, %d planned", runID, target.Name(), rep.Planned))
		return run, nil
	}
	// Its shards wait on the plan queue: what they find is in the history.
	run.Status, run.Shards, run.ShardsPlanned = RunPlanning, delivery.Shards, 0
	s.audit(ctx, req.Actor, action, fmt.Sprintf("run %s, target %s, %d shards queued", runID, target.Name(), delivery.Shards))
	return run, nil
}

// parseTarget reads a target as admins write it, resolving a subscriber's
// address to their id; an address with no confirmed subscriber is
// ErrNotFound.
func (s *Service) parseTarget(ctx context.Context, raw string) (delivery.Target, error) {
	kind, arg, _ := strings.Cut(strings.TrimSpace(raw), ":")
	switch {
	case kind == "all" && arg == "":
		return delivery.Target{Kind: delivery.TargetAll}, nil
	case kind == "topic" && arg != "":
		if !s.KnownTopic(arg) {
			return delivery.Target{}, fmt.Errorf("%w %q", ErrUnknownTopic, arg)
		}
		return delivery.Target{Kind: delivery.TargetTopic, Topic: arg}, nil
	case kind == "subscriber" && arg != "":
		addr, err := subscribers.NormalizeEmail(arg)
		if err != nil {
			return delivery.Target{}, fmt.Errorf("%w: %v", ErrInvalidTarget, err)
		}
		c, err := s.SubscriberStore.ByEmail(ctx, addr)
		if errors.Is(err, subscribers.ErrNotFound) || (err == nil && c.Subscriber.Status != subscribers.StatusConfirmed) {
			return delivery.Target{}, fmt.Errorf("%w: %v", ErrNotFound, delivery.ErrUnknownSubscriber)
		}
		if err != nil {
			return delivery.Target{}, err
		}
		return delivery.Target{Kind: delivery.TargetSubscriber, SubscriberID: c.Subscriber.ID}, nil
	}
	return delivery.Target{}, fmt.Errorf("%w, not %q", ErrInvalidTarget, raw)
}

// previewLookback is the period of a topic's sample digest.
const previewLookback = 7 * 24 * time.Hour

// Preview renders, without sending or changing anything, the mail a
// subscriber would get now, or a sample digest of a topic.
func (s *Service) Preview(ctx context.Context, req PreviewRequest) (email.Message, error) {
	msg, _, err := s.preview(ctx, req)
	return msg, err
}

// preview is Preview that also names what the preview shows as the audit
// log may: a topic, or a subscriber by id, never by address.
func (s *Service) preview(ctx context.Context, req PreviewRequest) (email.Message, string, error) {
	now := s.Now().UTC()
	var (
		sub      subscribers.Subscriber
		since    time.Time
		selected []items.Item
		kind     = digest.KindDigest
		shown    string
	)
	switch {
	case req.Subscriber != "" && req.Topic == "":
		addr, err := subscribers.NormalizeEmail(req.Subscriber)
		if err != nil {
			return email.Message{}, "", fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
		c, err := s.SubscriberStore.ByEmail(ctx, addr)
		if errors.Is(err, subscribers.ErrNotFound) {
			return email.Message{}, "", fmt.Errorf("%w: no subscriber %s", ErrNotFound, addr)
		}
		if err != nil {
			return email.Message{}, "", err
		}
		sub, shown = c.Subscriber, "subscriber-id:"+c.Subscriber.ID
		if sub.Preferences.Frequency == subscribers.Instant {
			kind = digest.KindAlert
		}
		since = digest.Since(c.Watermark, now, sub.Preferences.Frequency)
		all, err := s.ItemStore.IngestedBetween(ctx, since, now)
		if err != nil {
			return email.Message{}, "", err
		}
		selected = digest.Select(sub.Preferences, all, since, now)
		if len(selected) == 0 {
			return email.Message{}, "", fmt.Errorf("%w for %s since %s: no mail would go out now", ErrNothingNew, addr, since.Format(time.RFC3339))
		}
	case req.Topic != "" && req.Subscriber == "":
		if !s.KnownTopic(req.Topic) {
			return email.Message{}, "", fmt.Errorf("%w %q", ErrUnknownTopic, req.Topic)
		}
		since, shown = now.Add(-previewLookback), "topic:"+req.Topic
		sub = subscribers.Subscriber{ID: "preview", Email: "preview@radiogram.invalid", Status: subscribers.StatusConfirmed,
			Preferences: subscribers.Preferences{Topics: []string{req.Topic}, Frequency: subscribers.Weekly, Day: "monday", TimeZone: "UTC", Format: subscribers.FormatHTML}}
		page, err := s.Items(ctx, req.Topic, "", "", 10)
		if err != nil {
			return email.Message{}, "", err
		}
		selected = page.Items
		if len(selected) == 0 {
			return email.Message{}, "", fmt.Errorf("%w: no items on %s yet", ErrNothingNew, req.Topic)
		}
	default:
		return email.Message{}, "", fmt.Errorf("%w: preview either a subscriber or a topic", ErrBadRequest)
	}
	keys := make([]string, len(selected))
	for i, it := range selected {
		keys[i] = it.Key
	}
	tmpl, err := s.Renderer.Compile(ctx, delivery.Job{Kind: kind, Until: now, Format: sub.Preferences.Format, Topics: sub.Preferences.Topics, ItemKeys: keys, Keywords: sub.Preferences.Keywords}, selected)
	if err != nil {
		return email.Message{}, "", fmt.Errorf("render preview: %w", err)
	}
	// A preview never carries the subscriber's live links: whoever checks
	// it would unsubscribe them with a click. A renderer that cannot fill
	// in other links gets no preview at all.
	filler, ok := tmpl.(linkFiller)
	if !ok {
		return email.Message{}, "", fmt.Errorf("render preview: the renderer cannot fill in preview links")
	}
	links := s.previewLinks(ctx)
	msg, err := filler.FillWithLinks(ctx, sub, since, now, links)
	if err != nil {
		return email.Message{}, "", err
	}
	// The headers offer the inert link alone: no mailto to unsubscribe by.
	msg.Headers = slices.DeleteFunc(msg.Headers, func(h email.Header) bool {
		return strings.HasPrefix(strings.ToLower(h.Name), "list-unsubscribe")
	})
	msg.Headers = append(msg.Headers, email.UnsubscribeHeaders(links.Unsubscribe, "")...)
	return msg, shown, nil
}

// linkFiller is a delivery.Template that fills in given links in place of
// the recipient's own (the digest renderer's templates are).
type linkFiller interface {
	FillWithLinks(ctx context.Context, sub subscribers.Subscriber, since, until time.Time, links subscribers.Links) (email.Message, error)
}

// previewLinkBase is where preview links point when no PreviewLinks is set:
// a name that never resolves.
const previewLinkBase = "https://preview.invalid"

func (s *Service) previewLinks(ctx context.Context) subscribers.Links {
	if s.PreviewLinks != nil {
		// Relative when no public address is known: mails need absolute.
		if l := s.PreviewLinks(ctx); strings.HasPrefix(l.Unsubscribe, "https://") || strings.HasPrefix(l.Unsubscribe, "http://") {
			return l
		}
	}
	return subscribers.PreviewLinksAt(previewLinkBase)
}

// TestSend mails a preview to one of the configured test recipients.
func (s *Service) TestSend(ctx context.Context, req PreviewRequest, to, actor string) error {
	addr, err := mail.ParseAddress(strings.TrimSpace(to))
	if err != nil || !slices.Contains(s.TestRecipients, strings.ToLower(addr.Address)) {
		return fmt.Errorf("%w: previews go only to the configured test recipients (RADIOGRAM_ADMIN_EMAILS)", ErrBadRequest)
	}
	msg, subject, err := s.preview(ctx, req)
	if err != nil {
		return err
	}
	msg.To, msg.Subject = strings.ToLower(addr.Address), "[Preview] "+msg.Subject
	msg.Tags = map[string]string{"kind": "preview"}
	id, err := s.Mail.Send(ctx, msg)
	if err != nil {
		return fmt.Errorf("send preview: %w", err)
	}
	s.audit(ctx, actor, "preview.test_send", fmt.Sprintf("preview of %s to %s (message %s)", subject, msg.To, id))
	return nil
}

// Record adds an entry to the audit log.
func (s *Service) Record(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.Now().UTC()
	}
	return s.RunStore.Record(ctx, e)
}

// Audit lists the latest admin actions.
func (s *Service) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	return s.RunStore.Audit(ctx, limit)
}

// audit records an action; a failure to audit is logged, not fatal to the
// action already done.
func (s *Service) audit(ctx context.Context, actor, action, detail string) {
	if err := s.Record(ctx, AuditEntry{Actor: actor, Action: action, Detail: detail, Client: ClientFrom(ctx)}); err != nil {
		s.Log.ErrorContext(ctx, "audit", "action", action, "err", err)
	}
}

type clientKey struct{}

// WithClient records the client address of a request for the audit log.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientFrom returns the client address WithClient recorded.
func ClientFrom(ctx context.Context) string {
	v, _ := ctx.Value(clientKey{}).(string)
	return v
}
