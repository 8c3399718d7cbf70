package console

import (
	"context"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

var testTopics = []topics.Topic{
	{ID: "ai", Name: "AI & informatics", Group: "Modalities & technology"},
	{ID: "cancer", Name: "Cancer imaging", Group: "Clinical"},
	{ID: "screening", Name: "Screening & early detection", Group: "Clinical"},
}

// member is one subscriber as the fake plans for them.
type member struct {
	detail admin.SubscriberDetail
	// failWith makes every real send to them fail with this reason.
	failWith string
}

// fakeAdmin plans and "sends" over its own subscribers and items, and
// records every call that changes something.
type fakeAdmin struct {
	now func() time.Time

	mu        sync.Mutex
	feeds     []feeds.Feed
	items     []items.Item
	members   []member
	runs      []admin.RunDetail // newest first
	byKey     map[string]string // idempotency key → run id
	triggers  []admin.TriggerRequest
	testSends []testSend
	audit     []admin.AuditEntry
	dead      int        // jobs in the dead-letter queue
	paused    *time.Time // end of the sending pause, if any
	// ingests are the ingest runs by id; the one running, if any, holds
	// the lock and is named to every later request.
	ingests  map[string]ingestruns.Run
	ingestID int
	// errs makes the named method fail.
	errs map[string]error

	// corrections are the items' topic corrections, oldest first.
	corrections []admin.Correction
}

type testSend struct {
	req       admin.PreviewRequest
	to, actor string
}

func newFakeAdmin(now func() time.Time) *fakeAdmin {
	return &fakeAdmin{now: now, byKey: map[string]string{}, errs: map[string]error{}, ingests: map[string]ingestruns.Run{}}
}

func (f *fakeAdmin) failing(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs[method]
}

func (f *fakeAdmin) setError(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[method] = err
}

func (f *fakeAdmin) Feeds(ctx context.Context) ([]feeds.Feed, error) {
	if err := f.failing("Feeds"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.feeds), nil
}

func (f *fakeAdmin) SocietyIDs(ctx context.Context) ([]string, error) {
	list, err := f.Feeds(ctx)
	var ids []string
	for _, feed := range list {
		if !slices.Contains(ids, feed.Society) {
			ids = append(ids, feed.Society)
		}
	}
	slices.Sort(ids)
	return ids, err
}

// Items pages through f.items; its cursor is the offset of the next page.
func (f *fakeAdmin) Items(ctx context.Context, topic, society, cursor string, limit int) (items.Page, error) {
	if err := f.failing("Items"); err != nil {
		return items.Page{}, err
	}
	if topic != "" && !slices.ContainsFunc(testTopics, func(t topics.Topic) bool { return t.ID == topic }) {
		return items.Page{}, fmt.Errorf("%w %q", admin.ErrUnknownTopic, topic)
	}
	skip := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return items.Page{}, fmt.Errorf("%w: cursor: not a cursor this listing handed out", admin.ErrBadRequest)
		}
		skip = n
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var match []items.Item
	for _, it := range f.items {
		if (topic == "" || slices.Contains(it.TopicIDs(), topic)) && (society == "" || it.Society == society) {
			match = append(match, it)
		}
	}
	var page items.Page
	page.Items = match[min(skip, len(match)):min(skip+limit, len(match))]
	if skip+limit < len(match) {
		page.Next = strconv.Itoa(skip + limit)
	}
	return page, nil
}

func (f *fakeAdmin) Summary(ctx context.Context) (admin.Summary, error) {
	if err := f.failing("Summary"); err != nil {
		return admin.Summary{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := admin.Summary{ByStatus: map[string]int{}, ByTopic: map[string]int{}, ByFrequency: map[string]int{}, DeadLetterJobs: f.dead, CountedAt: f.now(), SendingPausedUntil: f.paused}
	for _, m := range f.members {
		sub := m.detail.Subscriber
		sum.ByStatus[string(sub.Status)]++
		if sub.Status != subscribers.StatusConfirmed {
			continue
		}
		sum.ByFrequency[string(sub.Preferences.Frequency)]++
		for _, t := range sub.Preferences.Topics {
			sum.ByTopic[t]++
		}
	}
	return sum, nil
}

func (f *fakeAdmin) Subscriber(ctx context.Context, email string) (admin.SubscriberDetail, error) {
	if err := f.failing("Subscriber"); err != nil {
		return admin.SubscriberDetail{}, err
	}
	m, ok := f.member(email)
	if !ok {
		return admin.SubscriberDetail{}, fmt.Errorf("subscriber: %w", admin.ErrNotFound)
	}
	return m.detail, nil
}

func (f *fakeAdmin) member(email string) (member, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.members, func(m member) bool { return strings.EqualFold(m.detail.Subscriber.Email, email) })
	if i < 0 {
		return member{}, false
	}
	return f.members[i], true
}

func (f *fakeAdmin) Runs(ctx context.Context, limit int) ([]admin.Run, error) {
	if err := f.failing("Runs"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []admin.Run
	for _, r := range f.runs[:min(limit, len(f.runs))] {
		out = append(out, r.Run)
	}
	return out, nil
}

func (f *fakeAdmin) Run(ctx context.Context, id string) (admin.RunDetail, error) {
	if err := f.failing("Run"); err != nil {
		return admin.RunDetail{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.ID == id {
			return r, nil
		}
	}
	return admin.RunDetail{}, fmt.Errorf("run %s: %w", id, admin.ErrNotFound)
}

// Trigger plans over the fake's confirmed members; a real run "sends" at
// once, failing for the members marked so.
func (f *fakeAdmin) Trigger(ctx context.Context, req admin.TriggerRequest) (admin.Run, error) {
	if err := f.failing("Trigger"); err != nil {
		return admin.Run{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.triggers = append(f.triggers, req)
	if id, ok := f.byKey[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
		for _, r := range f.runs {
			if r.ID == id {
				return r.Run, nil
			}
		}
	}

	kind, value, _ := strings.Cut(req.Target, ":")
	var audience []member
	switch kind {
	case "all":
		audience = f.members
	case "topic":
		if !slices.ContainsFunc(testTopics, func(t topics.Topic) bool { return t.ID == value }) {
			return admin.Run{}, fmt.Errorf("%w %q", admin.ErrUnknownTopic, value)
		}
		for _, m := range f.members {
			if slices.Contains(m.detail.Subscriber.Preferences.Topics, value) {
				audience = append(audience, m)
			}
		}
	case "subscriber":
		i := slices.IndexFunc(f.members, func(m member) bool { return m.detail.Subscriber.Email == value })
		if i < 0 {
			return admin.Run{}, fmt.Errorf("no subscriber %s: %w", value, admin.ErrNotFound)
		}
		audience = f.members[i : i+1]
	default:
		return admin.Run{}, fmt.Errorf("target %q: %w", req.Target, admin.ErrInvalidTarget)
	}

	run := admin.RunDetail{Run: admin.Run{
		ID:        fmt.Sprintf("run-%03d", f.triggered()),
		StartedBy: req.Actor,
		Target:    req.Target,
		DryRun:    req.DryRun,
		CreatedAt: f.now(),
		Skipped:   map[string]int{},
		Feedback:  map[string]int{},
		Plan:      delivery.Report{Until: f.now().Truncate(time.Hour), DryRun: req.DryRun, Skipped: map[string]int{}, Topics: map[string]int{}},
	}}
	for _, m := range audience {
		sub := m.detail.Subscriber
		if sub.Status != subscribers.StatusConfirmed {
			continue
		}
		run.Plan.Candidates++
		pr := delivery.PlannedRecipient{Email: sub.Email}
		var seen []string
		for _, it := range f.items {
			for _, t := range it.TopicIDs() {
				if slices.Contains(sub.Preferences.Topics, t) {
					pr.Titles = append(pr.Titles, it.Title)
					if !slices.Contains(seen, t) {
						seen = append(seen, t)
					}
					break
				}
			}
		}
		pr.Items = len(pr.Titles)
		switch {
		case m.detail.Suppression != nil:
			pr.Skip = delivery.SkipSuppressed + " (" + string(m.detail.Suppression.Reason) + ")"
			pr.Items, pr.Titles = 0, nil
			run.Plan.Skipped[delivery.SkipSuppressed]++
		case pr.Items == 0:
			pr.Skip = delivery.SkipNothingNew
			run.Plan.Skipped[delivery.SkipNothingNew]++
		default:
			run.Plan.Planned++
			for _, t := range seen {
				run.Plan.Topics[t]++
			}
			if req.DryRun {
				break
			}
			if m.failWith != "" {
				run.Failed++
				run.Failures = append(run.Failures, admin.Failure{SubscriberID: sub.ID, Email: sub.Email, Reason: m.failWith, At: f.now()})
			} else {
				run.Sent++
			}
		}
		if req.DryRun {
			run.Plan.Recipients = append(run.Plan.Recipients, pr)
		}
	}
	run.Plan.Jobs = (run.Plan.Planned + delivery.MaxRecipients - 1) / delivery.MaxRecipients
	run.Plan.RunID = run.ID
	f.runs = append([]admin.RunDetail{run}, f.runs...)
	if req.IdempotencyKey != "" {
		f.byKey[req.IdempotencyKey] = run.ID
	}
	return run.Run, nil
}

// triggered counts the runs Trigger started.
func (f *fakeAdmin) triggered() int {
	n := 0
	for _, r := range f.runs {
		if r.StartedBy != "schedule" {
			n++
		}
	}
	return n + 1
}

// realRuns counts the runs that were not dry runs.
func (f *fakeAdmin) realRuns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.runs {
		if !r.DryRun && r.StartedBy != "schedule" {
			n++
		}
	}
	return n
}

func (f *fakeAdmin) triggerCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.triggers)
}

// Preview renders a small mail of the items the subscriber or topic gets.
func (f *fakeAdmin) Preview(ctx context.Context, req admin.PreviewRequest) (email.Message, error) {
	if err := f.failing("Preview"); err != nil {
		return email.Message{}, err
	}
	var subject string
	var wanted []string
	textOnly := false
	switch {
	case req.Subscriber != "" && req.Topic != "":
		return email.Message{}, fmt.Errorf("%w: subscriber or topic, not both", admin.ErrBadRequest)
	case req.Subscriber != "":
		m, ok := f.member(req.Subscriber)
		if !ok {
			return email.Message{}, fmt.Errorf("preview for %s: %w", req.Subscriber, admin.ErrNotFound)
		}
		wanted = m.detail.Subscriber.Preferences.Topics
		textOnly = m.detail.Subscriber.Preferences.Format == subscribers.FormatText
		subject = "Your Radiogram digest"
	case req.Topic != "":
		i := slices.IndexFunc(testTopics, func(t topics.Topic) bool { return t.ID == req.Topic })
		if i < 0 {
			return email.Message{}, fmt.Errorf("%w %q", admin.ErrUnknownTopic, req.Topic)
		}
		wanted = []string{req.Topic}
		subject = "Radiogram sample: " + testTopics[i].Name
	default:
		return email.Message{}, fmt.Errorf("%w: name a subscriber or a topic", admin.ErrBadRequest)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var text, body strings.Builder
	text.WriteString(subject + "\n\n")
	for _, it := range f.items {
		if slices.ContainsFunc(it.TopicIDs(), func(t string) bool { return slices.Contains(wanted, t) }) {
			fmt.Fprintf(&text, "* %s\n  %s\n", it.Title, it.Link)
			fmt.Fprintf(&body, "<li><a href=\"%s\">%s</a></li>", html.EscapeString(it.Link), html.EscapeString(it.Title))
		}
	}
	m := email.Message{Subject: subject, Text: text.String()}
	if !textOnly {
		m.HTML = "<!doctype html><html><head><style>h1{color:#0b5cad}</style></head><body><h1 id=\"mail-subject\">" +
			html.EscapeString(subject) + "</h1><ul>" + body.String() + "</ul></body></html>"
	}
	return m, nil
}

func (f *fakeAdmin) TestSend(ctx context.Context, req admin.PreviewRequest, to, actor string) error {
	if err := f.failing("TestSend"); err != nil {
		return err
	}
	if _, err := f.Preview(ctx, req); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.testSends = append(f.testSends, testSend{req: req, to: to, actor: actor})
	return nil
}

func (f *fakeAdmin) sentTests() []testSend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.testSends)
}

func (f *fakeAdmin) Audit(ctx context.Context, limit int) ([]admin.AuditEntry, error) {
	if err := f.failing("Audit"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.audit)
	slices.Reverse(out)
	return out[:min(limit, len(out))], nil
}

func (f *fakeAdmin) Record(ctx context.Context, e admin.AuditEntry) error {
	if err := f.failing("Record"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, e)
	return nil
}

func (f *fakeAdmin) auditActions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.audit {
		out = append(out, e.Action)
	}
	return out
}

func (f *fakeAdmin) StartIngest(ctx context.Context, actor string) (ingestruns.Run, error) {
	if err := f.failing("StartIngest"); err != nil {
		return ingestruns.Run{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, run := range f.ingests {
		if run.Status == ingestruns.StatusRunning {
			return run, nil
		}
	}
	f.ingestID++
	now := f.now()
	run := ingestruns.Run{ID: fmt.Sprintf("ingest-%d", f.ingestID), Status: ingestruns.StatusRunning, StartedBy: actor, StartedAt: now,
		Summary: ingest.Summary{Trigger: ingest.TriggerManual, StartedAt: now}}
	f.ingests[run.ID] = run
	return run, nil
}

func (f *fakeAdmin) IngestRun(ctx context.Context, id string) (ingestruns.Run, error) {
	if err := f.failing("IngestRun"); err != nil {
		return ingestruns.Run{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	run, ok := f.ingests[id]
	if !ok {
		return ingestruns.Run{}, fmt.Errorf("%w: no ingest run %q", admin.ErrNotFound, id)
	}
	return run, nil
}

// finishIngest ends a run as the ingest function would, with the seeded
// feeds' results: ESR fetched with news, RSNA failing.
func (f *fakeAdmin) finishIngest(id string, runErr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	run := f.ingests[id]
	done := f.now()
	run.FinishedAt = &done
	if runErr != "" {
		run.Status, run.Error = ingestruns.StatusFailed, runErr
	} else {
		run.Status = ingestruns.StatusDone
		run.Summary = ingest.Summary{Trigger: ingest.TriggerManual, StartedAt: run.StartedAt, FinishedAt: done,
			FeedsOK: 1, FeedsFailed: 1, FeedsSkipped: 1, ItemsNew: 4, ItemsUpdated: 1,
			Feeds: []ingest.FeedResult{
				{FeedID: "esr-1", Society: "esr", URL: "https://esr.example/news.rss", Status: feeds.StatusOK, New: 4, Updated: 1},
				{FeedID: "rsna-1", Society: "rsna", URL: "https://rsna.example/press.xml", Status: feeds.StatusFailed, Error: "GET https://rsna.example/press.xml: 503 Service Unavailable"},
			}}
	}
	f.ingests[id] = run
}
