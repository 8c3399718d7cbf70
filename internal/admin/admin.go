// Package admin owns what society staff do with Radiogram: register and
// delete feeds, run an ingest and list the items, trigger a send (to all, a
// topic or one subscriber), dry-run and preview it, and see afterwards what
// happened to every mail; every action is audited.
package admin

import (
	"errors"
	"time"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// Run is one planned send, scheduled or started by an admin, with what
// became of it so far.
type Run struct {
	ID        string    `json:"id"`
	StartedBy string    `json:"started_by"` // "schedule", "ingest" or the admin's name
	Target    string    `json:"target"`     // "all", "topic:ai", "subscriber:ada@example.org", "due:2026-11-22T07", "instant"
	DryRun    bool      `json:"dry_run"`
	CreatedAt time.Time `json:"created_at"`
	// Status is RunPlanning until every shard of the run is planned; the
	// plan's counts grow meanwhile.
	Status        RunStatus       `json:"status"`
	Shards        int             `json:"shards"`
	ShardsPlanned int             `json:"shards_planned"`
	Plan          delivery.Report `json:"plan"`
	// What the senders did: counted as each recipient's send is recorded.
	Sent     int            `json:"sent"`
	Failed   int            `json:"failed"` // failed attempts; a retry may still succeed
	Skipped  map[string]int `json:"skipped"`
	Feedback map[string]int `json:"feedback"` // bounces and complaints SES reported for this run's mails
}

// RunStatus says whether a run's plan is complete.
type RunStatus string

const (
	RunPlanning RunStatus = "planning"
	RunPlanned  RunStatus = "planned"
)

// Failure is one failed send of a run.
type Failure struct {
	SubscriberID string    `json:"subscriber_id"`
	Email        string    `json:"email,omitempty"`
	Reason       string    `json:"reason"`
	At           time.Time `json:"at"`
}

// RunDetail is a run with its failures.
type RunDetail struct {
	Run
	Failures []Failure `json:"failures"`
}

// SubscriberDetail is one subscriber and their send log, newest first.
type SubscriberDetail struct {
	Subscriber  subscribers.Subscriber   `json:"subscriber"`
	Suppression *subscribers.Suppression `json:"suppression,omitempty"`
	Sends       []delivery.Entry         `json:"sends"`
}

// Summary counts subscribers by status and, for confirmed ones, by topic
// and frequency.
type Summary struct {
	ByStatus    map[string]int `json:"by_status"`
	ByTopic     map[string]int `json:"by_topic"`
	ByFrequency map[string]int `json:"by_frequency"`
	// DeadLetterJobs are send jobs that failed five times and wait in the
	// dead-letter queue for someone to look at them.
	DeadLetterJobs int       `json:"dead_letter_jobs"`
	CountedAt      time.Time `json:"counted_at"`
	// SendingPausedUntil is set while sending is paused: SES refused a
	// mail for the account's used-up daily quota, and the senders send
	// nothing until then (absent when sending is not paused).
	SendingPausedUntil *time.Time `json:"sending_paused_until,omitempty"`
}

// TriggerRequest asks for a send now.
type TriggerRequest struct {
	// Target is "all", "topic:<id>" or "subscriber:<email>".
	Target string `json:"target"`
	DryRun bool   `json:"dry_run"`
	// IdempotencyKey makes a repeated request return the first run
	// instead of sending again.
	IdempotencyKey string `json:"-"`
	Actor          string `json:"-"`
}

// PreviewRequest names what to preview: one subscriber's mail as it would
// go out now, or a sample digest of one topic.
type PreviewRequest struct {
	Subscriber string `json:"subscriber,omitempty"` // email
	Topic      string `json:"topic,omitempty"`
}

// AuditEntry is one admin action.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"` // e.g. "send.trigger", "feed.delete", "signin"
	Detail string    `json:"detail"`
	Client string    `json:"client"` // client address
}

// Errors the service reports in terms the routes answer with.
var (
	ErrInvalidTarget = errors.New("target must be all, topic:<id> or subscriber:<email>")
	ErrUnknownTopic  = errors.New("unknown topic")
	ErrNotFound      = errors.New("not found")
	// ErrNothingNew: the subscriber or topic exists, but no mail would go
	// out now.
	ErrNothingNew = errors.New("nothing new")
	ErrBadRequest = errors.New("bad request")
	// ErrConflict: what was asked for exists already, e.g. a feed
	// registered twice.
	ErrConflict = errors.New("conflict")
)

// reasonError is an error whose text is the whole reason, worded for the
// caller, that still matches its kind (one of the errors above) and its
// cause with errors.Is.
type reasonError struct {
	kind, cause error
	reason      string
}

// because returns an error reading reason that matches kind and, when it
// is not nil, cause.
func because(kind, cause error, reason string) error {
	return &reasonError{kind: kind, cause: cause, reason: reason}
}

func (e *reasonError) Error() string { return e.reason }

func (e *reasonError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}
