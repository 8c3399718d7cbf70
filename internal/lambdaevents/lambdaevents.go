// Package lambdaevents owns the translation between Lambda's event payloads
// and the domain's plain calls: an SQS batch of the send queue becomes
// delivery jobs handed to the sender, one of the feedback queue becomes SNS
// messages handed to the feedback processor, the schedule's event becomes an
// ingest trigger, an SES receipt event becomes mails handed to the inbound
// processor. It also runs, for `make run` and the tests, the in-process
// SQS source that hands a queue's messages to its function's handler as
// Lambda's SQS event source does.
//
// It is the only package besides functions/* that imports aws-lambda-go's
// events; the domain packages (delivery, feedback, ingest) take and return
// their own types.
package lambdaevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/inbound"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/sqsqueue"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// SQSHandler is the shape of a Lambda SQS handler with partial batch
// failures: the records it reports in BatchItemFailures come back; the
// others are deleted.
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// JobSender sends the delivery jobs of one invocation (*delivery.Sender).
type JobSender interface {
	// Begin starts an invocation; the context it returns goes to the
	// calls below. It fails with a *delivery.PausedError while sending is
	// paused.
	Begin(ctx context.Context) (context.Context, error)
	// Continue reports whether another record may start: an error
	// (delivery.ErrDeadline) once the invocation is within its margin
	// before the Lambda deadline.
	Continue(ctx context.Context) error
	Send(ctx context.Context, job delivery.Job) error
	// End reports the invocation's metrics.
	End(ctx context.Context) error
}

// RequestHandler handles one queued subscriber request
// (*subscribers.Service).
type RequestHandler interface {
	HandleRequest(ctx context.Context, req subscribers.Request) error
}

// Postponer makes a record the handler gives back visible again after
// delay rather than after the queue's visibility timeout
// (*sqsqueue.Queue).
type Postponer interface {
	Retry(ctx context.Context, m sqsqueue.Message, delay time.Duration) error
}

// maxVisibility is the longest SQS hides a message (12 hours).
const maxVisibility = 12 * time.Hour

// SendJobs is the sender function's handler: a record whose body has a
// "request" field is a subscriber request, handed to requests; any other
// is one delivery.Job, handed to jobs. Only the records that failed (a body
// that is neither, a failed send) are reported back for redelivery, and
// with them every record the invocation did not start:
//   - while sending is paused (the daily quota), all of them, each hidden
//     until the pause ends, so that waiting costs no receives towards the
//     dead-letter queue;
//   - near the Lambda deadline, the records not yet started (and the job
//     cut short), made visible again at once: the ledger skips the mails
//     already sent;
//   - when SES keeps throttling, the rest, for the queue's visibility
//     timeout: a backoff of minutes.
//
// queue may be nil: records then come back after the visibility timeout.
func SendJobs(jobs JobSender, requests RequestHandler, queue Postponer, log *slog.Logger) SQSHandler {
	log = orDiscard(log)
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		fail := func(recs ...events.SQSMessage) {
			for _, rec := range recs {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			}
		}
		ctx, err := jobs.Begin(ctx)
		defer func() {
			if err := jobs.End(ctx); err != nil {
				log.WarnContext(ctx, "sender metrics", "err", err)
			}
		}()
		if err != nil {
			var paused *delivery.PausedError
			if errors.As(err, &paused) {
				log.WarnContext(ctx, "sending paused: every record goes back unsent", "until", paused.Until, "records", len(ev.Records))
				postpone(ctx, queue, log, ev.Records, time.Until(paused.Until))
			} else {
				log.ErrorContext(ctx, "sender cannot start", "records", len(ev.Records), "err", err)
			}
			fail(ev.Records...)
			return resp, nil
		}
		for i, rec := range ev.Records {
			if err := jobs.Continue(ctx); err != nil {
				log.WarnContext(ctx, "stopping before the deadline: records go back unstarted", "records", len(ev.Records)-i, "err", err)
				fail(ev.Records[i:]...)
				postpone(ctx, queue, log, ev.Records[i:], 0)
				break
			}
			err := handleRecord(ctx, jobs, requests, rec.Body)
			if err == nil {
				continue
			}
			// Never dropped: a record that keeps failing ends in the dead-letter queue.
			log.ErrorContext(ctx, "job failed", "message", rec.MessageId, "receive_count", rec.Attributes["ApproximateReceiveCount"], "err", err)
			fail(rec)
			if !delivery.Halts(err) && ctx.Err() == nil {
				continue
			}
			rest := ev.Records[i+1:]
			fail(rest...)
			var paused *delivery.PausedError
			switch {
			case errors.As(err, &paused):
				log.WarnContext(ctx, "sending paused: the rest goes back unsent", "until", paused.Until, "records", len(rest))
				postpone(ctx, queue, log, ev.Records[i:], time.Until(paused.Until))
			case errors.Is(err, delivery.ErrDeadline):
				log.WarnContext(ctx, "stopping before the deadline: records go back unstarted", "records", len(rest))
				postpone(ctx, queue, log, ev.Records[i:], 0)
			default: // throttling, or the invocation cut short
				log.WarnContext(ctx, "stopping: the rest goes back for later", "records", len(rest), "err", err)
			}
			break
		}
		return resp, nil
	}
}

// postpone makes records visible again after delay (at most 12 hours);
// without a queue, or when that fails, they come back after the queue's
// visibility timeout, which is merely later.
func postpone(ctx context.Context, queue Postponer, log *slog.Logger, recs []events.SQSMessage, delay time.Duration) {
	if queue == nil {
		return
	}
	delay = min(max(delay, 0), maxVisibility)
	// Still done when the invocation is being cut short.
	ctx = context.WithoutCancel(ctx)
	for _, rec := range recs {
		if err := queue.Retry(ctx, sqsqueue.Message{ID: rec.MessageId, ReceiptHandle: rec.ReceiptHandle}, delay); err != nil {
			log.WarnContext(ctx, "postpone record", "message", rec.MessageId, "err", err)
		}
	}
}

func handleRecord(ctx context.Context, jobs JobSender, requests RequestHandler, body string) error {
	// One decoding reads either kind: their fields do not overlap.
	var msg struct {
		sqsqueue.RequestMessage
		delivery.Job
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		return err
	}
	if msg.Request != nil {
		return requests.HandleRequest(ctx, *msg.Request)
	}
	return jobs.Send(ctx, msg.Job)
}

// MessageHandler handles one SNS message (*feedback.Processor).
type MessageHandler interface {
	Handle(ctx context.Context, m feedback.Message) error
}

// Feedback is the feedback function's handler for its SQS queue, which the
// SES feedback topic feeds without raw message delivery: each record's
// body is the SNS notification as SNS wrote it, JSON with its signature,
// handed to h, which verifies it before acting on it.
//
// A record h fails on is reported back, to be received again, and after
// the queue's maxReceiveCount it waits in the dead-letter queue: a
// DynamoDB failure, a certificate that could not be fetched, or a genuine
// notification Radiogram cannot read. A record that is not provably from
// SNS (not an SNS message, a signature or certificate that does not
// verify, another topic, too old) is logged and deleted: no retry makes a
// forged message genuine, and keeping it would only let a forger fill the
// dead-letter queue that means "feedback we lost".
func Feedback(h MessageHandler, log *slog.Logger) SQSHandler {
	log = orDiscard(log)
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, rec := range ev.Records {
			m, err := snsMessage(rec.Body)
			if err == nil {
				err = h.Handle(ctx, m)
			}
			switch {
			case err == nil:
			case errors.Is(err, feedback.ErrUntrusted):
				log.ErrorContext(ctx, "feedback dropped: not provably from the feedback topic",
					"message", rec.MessageId, "sns_message_id", m.MessageId, "err", err)
			default:
				log.ErrorContext(ctx, "feedback failed", "message", rec.MessageId, "sns_message_id", m.MessageId,
					"receive_count", rec.Attributes["ApproximateReceiveCount"], "err", err)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			}
		}
		return resp, nil
	}
}

// snsMessage decodes an SQS body SNS delivered. The signature covers the
// fields' text as SNS wrote it, which the JSON string values keep exactly.
func snsMessage(body string) (feedback.Message, error) {
	var m feedback.Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return feedback.Message{}, fmt.Errorf("%w: the body is not an SNS message: %v", feedback.ErrMalformed, err)
	}
	return m, nil
}

// IngestEvent is what the schedule (or `sam local invoke`) hands the ingest
// function: {"source":"schedule"}, or {"source":"manual"} to fetch every
// enabled feed now.
type IngestEvent struct {
	Source string `json:"source"`
}

// ScheduledIngester runs an ingest under the one-run-at-a-time lock and
// records it (*ingestruns.Service).
type ScheduledIngester interface {
	RunScheduled(ctx context.Context, startedBy string, trigger ingest.Trigger) (ingestruns.Run, bool, error)
}

// Ingest is the handler of the schedule's event: it runs the ingest the
// event asks for, a scheduled one unless the source is "manual", and
// answers with the recorded run. While another run holds the lock it
// skips its turn and answers with that run. A failed run, or one that
// fetched feeds and saw every one fail (Summary.Err), is an error, so that
// Lambda counts it in the function's Errors, retries the event, and keeps
// it in the failed-invocations queue if it keeps failing.
func Ingest(r ScheduledIngester) func(ctx context.Context, ev IngestEvent) (ingestruns.Run, error) {
	return func(ctx context.Context, ev IngestEvent) (ingestruns.Run, error) {
		trigger, startedBy := ingest.TriggerSchedule, ingestruns.StartedBySchedule
		if ev.Source == string(ingest.TriggerManual) {
			trigger, startedBy = ingest.TriggerManual, "manual invocation"
		}
		run, _, err := r.RunScheduled(ctx, startedBy, trigger)
		if err == nil && run.Status == ingestruns.StatusFailed {
			err = fmt.Errorf("ingest run %s failed: %s", run.ID, run.Error)
		}
		if err == nil {
			// Every fetched feed failing is an outage, not a quiet run.
			if ferr := run.Summary.Err(); ferr != nil {
				err = fmt.Errorf("ingest run %s: %w", run.ID, ferr)
			}
		}
		return run, err
	}
}

// IngestExecutor carries out a queued ingest run (*ingestruns.Service).
type IngestExecutor interface {
	Execute(ctx context.Context, runID string) error
}

// IngestRequests is the handler of the ingest queue's SQS event: each
// record names a run (sqsqueue.IngestMessage) for runs to carry out. A
// record whose run could not be carried out or recorded, or that another
// invocation is carrying out now, is reported back and comes back later.
func IngestRequests(runs IngestExecutor, log *slog.Logger) SQSHandler {
	return eachRecord("ingest request failed", orDiscard(log), func(ctx context.Context, rec events.SQSMessage) error {
		var msg sqsqueue.IngestMessage
		if err := json.Unmarshal([]byte(rec.Body), &msg); err != nil {
			return err
		}
		if msg.RunID == "" {
			return errors.New(`the body names no run ("run_id")`)
		}
		if err := runs.Execute(ctx, msg.RunID); err != nil {
			return fmt.Errorf("run %s: %w", msg.RunID, err)
		}
		return nil
	})
}

// IngestRuns is everything the ingest function does (*ingestruns.Service).
type IngestRuns interface {
	ScheduledIngester
	IngestExecutor
}

// IngestFunction is the ingest function's handler. It is invoked two ways:
// by the schedule, with {"source":"schedule"}, and by the ingest queue's
// event source, with an SQS event ({"Records": [...]}), and answers each
// as Ingest and IngestRequests do.
func IngestFunction(runs IngestRuns, log *slog.Logger) func(ctx context.Context, raw json.RawMessage) (any, error) {
	scheduled := Ingest(runs)
	return ScheduleOrQueue(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var ev IngestEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decode schedule event: %w", err)
		}
		return scheduled(ctx, ev)
	}, IngestRequests(runs, log))
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// MailHandler handles one mail SES received (*inbound.Processor).
type MailHandler interface {
	Handle(ctx context.Context, m inbound.Mail) (inbound.Outcome, error)
}

// SESHandler is the shape of the handler of an SES receipt rule's Lambda
// action, invoked asynchronously (InvocationType Event).
type SESHandler func(ctx context.Context, ev events.SimpleEmailEvent) error

// Inbound hands each mail of an SES receipt event to h. A mail that asks
// for nothing is h's to log and drop; only a failure to act on one is
// returned, so that Lambda retries the invocation (twice at most, then the
// failed-invocations queue) — unsubscribing again is harmless.
func Inbound(h MailHandler, log *slog.Logger) SESHandler {
	log = orDiscard(log)
	return func(ctx context.Context, ev events.SimpleEmailEvent) error {
		var errs []error
		for _, rec := range ev.Records {
			if _, err := h.Handle(ctx, inboundMail(rec)); err != nil {
				log.ErrorContext(ctx, "inbound mail failed", "message", rec.SES.Mail.MessageID, "err", err)
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

func inboundMail(rec events.SimpleEmailRecord) inbound.Mail {
	r := rec.SES.Receipt
	return inbound.Mail{
		MessageID:  rec.SES.Mail.MessageID,
		From:       rec.SES.Mail.CommonHeaders.From,
		Subject:    rec.SES.Mail.CommonHeaders.Subject,
		Recipients: r.Recipients,
		Verdicts: map[string]string{
			"spam": r.SpamVerdict.Status, "virus": r.VirusVerdict.Status, "spf": r.SPFVerdict.Status,
			"dkim": r.DKIMVerdict.Status, "dmarc": r.DMARCVerdict.Status,
		},
	}
}
