// Package delivery owns getting digests and alerts out: the planner finds
// who is due and what they get and queues the work, the sender renders and
// mails each queued job exactly once. The same planner and sender serve the
// schedule, instant alerts, admin sends, `make run` and the tests.
package delivery

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// Job is one queued unit of work: one distinct content for up to
// MaxRecipients subscribers. It carries the item keys, not the items, so a
// job stays small and the sender reads each item once per job.
type Job struct {
	RunID      string             `json:"run_id"`
	Kind       digest.Kind        `json:"kind"`
	Until      time.Time          `json:"until"` // the period's end; with the subscriber it keys the ledger
	Format     subscribers.Format `json:"format"`
	Topics     []string           `json:"topics"` // the recipients' chosen topics, which order the sections
	ItemKeys   []string           `json:"item_keys"`
	Recipients []Recipient        `json:"recipients"`
	// Societies are the recipients' chosen societies, when they chose
	// some: their items then say they come from a society they follow.
	Societies []string `json:"societies,omitempty"`
	// Keywords are the recipients' keywords that match the job's items:
	// those items say "You follow: <keyword>", and an item outside the
	// recipients' topics is shown under them.
	Keywords []string `json:"keywords,omitempty"`
}

// Recipient is one subscriber of a job, with the start of their period.
type Recipient struct {
	SubscriberID string    `json:"subscriber_id"`
	Since        time.Time `json:"since"`
}

// MaxRecipients bounds a job so that one SQS message is sent well within
// the sender's timeout, and one failure retries few mails' worth of work.
const MaxRecipients = 50

// Candidate is a subscriber as the planner reads it from an index.
type Candidate struct {
	Subscriber subscribers.Subscriber
	// Watermark is the end of the period of their last recorded send.
	Watermark time.Time
}

// Shards is how many parts every index of subscribers is split into: a run
// for many subscribers is planned shard by shard, each by its own planner
// invocation, so that no invocation holds more than a sixteenth of the list.
const Shards = 16

// ShardOf is the shard a subscriber belongs to, in every index.
func ShardOf(subscriberID string) int {
	h := fnv.New32a()
	h.Write([]byte(subscriberID))
	return int(h.Sum32() % Shards)
}

// SubscriberIndex finds subscribers to send to without scanning, one shard
// (0 ≤ shard < Shards) at a time.
type SubscriberIndex interface {
	// Due lists the shard's confirmed digest subscribers whose next digest
	// falls in slot.
	Due(ctx context.Context, slot string, shard int) ([]Candidate, error)
	// Active lists the shard's confirmed subscribers.
	Active(ctx context.Context, shard int) ([]Candidate, error)
	// Instant lists the shard's confirmed subscribers who want alerts, from
	// an index that holds only them.
	Instant(ctx context.Context, shard int) ([]Candidate, error)
	// GetMany returns the subscribers with these ids that still exist.
	GetMany(ctx context.Context, ids []string) (map[string]Candidate, error)
	// RecordSent advances a subscriber's watermark to until and moves their
	// next due slot (nextSlot "" for none); a watermark never moves back.
	RecordSent(ctx context.Context, id string, until time.Time, nextSlot string) error
}

// ItemReader reads items.
type ItemReader interface {
	// IngestedBetween returns the items first seen in (since, until].
	IngestedBetween(ctx context.Context, since, until time.Time) ([]items.Item, error)
	// GetMany returns the items with these keys.
	GetMany(ctx context.Context, keys []string) ([]items.Item, error)
}

// SuppressionChecker says which addresses must not be mailed.
type SuppressionChecker interface {
	// Suppressed returns the subset of email hashes that are suppressed,
	// with the reason.
	Suppressed(ctx context.Context, emailHashes []string) (map[string]subscribers.Reason, error)
}

// Queue carries jobs from the planner to the sender.
type Queue interface {
	Enqueue(ctx context.Context, jobs []Job) error
}

// PlanQueue carries the shards of a run to the planner function.
type PlanQueue interface {
	EnqueuePlans(ctx context.Context, reqs []Request) error
}

// LedgerStatus is the state of one (subscriber, period) send.
type LedgerStatus string

const (
	LedgerSending LedgerStatus = "sending" // claimed by a sender now
	LedgerSent    LedgerStatus = "sent"
	LedgerFailed  LedgerStatus = "failed" // a retry may claim it again
	LedgerSkipped LedgerStatus = "skipped"
)

// Entry is one line of the send ledger.
type Entry struct {
	SubscriberID string       `json:"subscriber_id"`
	Period       string       `json:"period"`
	RunID        string       `json:"run_id"`
	Kind         digest.Kind  `json:"kind"`
	Status       LedgerStatus `json:"status"`
	Attempts     int          `json:"attempts"`
	MessageID    string       `json:"message_id,omitempty"`
	ItemCount    int          `json:"item_count"`
	Reason       string       `json:"reason,omitempty"` // why skipped or failed
	Feedback     string       `json:"feedback,omitempty"`
	At           time.Time    `json:"at"`
}

// Ledger records each (subscriber, period) send, so that a retried or
// duplicated job never mails anyone twice.
type Ledger interface {
	// Claim takes the send for this sender. It reports false when the send
	// is already done, or claimed by another sender less than lease ago.
	Claim(ctx context.Context, e Entry, lease time.Duration) (claimed bool, current Entry, err error)
	// Finish records the outcome of a claimed send.
	Finish(ctx context.Context, e Entry) error
}

// PeriodKey names a send in the ledger: the end of its period, to the
// nanosecond and fixed-width (so keys sort as times do), and its kind. Two
// sends a moment apart are two periods: a coarser key would let the second
// pass for the first and lose its items.
func PeriodKey(kind digest.Kind, until time.Time) string {
	return until.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + string(kind)
}
