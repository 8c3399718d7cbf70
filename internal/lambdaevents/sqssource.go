package lambdaevents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/sqsqueue"
)

// Queue is the queue an SQSSource polls (*sqsqueue.Queue).
type Queue interface {
	// Receive waits up to wait for messages and returns up to ten.
	Receive(ctx context.Context, wait time.Duration) ([]sqsqueue.Message, error)
	// Delete removes handled messages.
	Delete(ctx context.Context, msgs []sqsqueue.Message) error
	// Retry makes a message visible again after delay.
	Retry(ctx context.Context, m sqsqueue.Message, delay time.Duration) error
}

// SQSSource polls a queue and hands batches to an SQS handler in-process,
// as Lambda's SQS event source does (`make run` and the tests): records the
// handler does not report as failed are deleted; failed ones come back
// after RetryDelay, and the queue's redrive policy moves a record that
// keeps failing to the dead-letter queue.
type SQSSource struct {
	Queue   Queue
	Handler SQSHandler
	// RetryDelay is when a failed record comes back; a negative one leaves
	// it to the queue's visibility timeout, or to the delay the handler
	// gave it, as Lambda's event source does.
	RetryDelay time.Duration
	Wait       time.Duration // long-poll time per receive
	Log        *slog.Logger
}

// Run consumes until ctx is done.
func (s *SQSSource) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if _, err := s.Poll(ctx); err != nil && ctx.Err() == nil {
			orDiscard(s.Log).ErrorContext(ctx, "consume queue", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// Poll receives one batch (up to 10 records), handles it, and reports how
// many records it received.
func (s *SQSSource) Poll(ctx context.Context) (int, error) {
	msgs, err := s.Queue.Receive(ctx, s.Wait)
	if err != nil {
		return 0, fmt.Errorf("receive: %w", err)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	resp, err := s.Handler(ctx, sqsEvent(msgs))
	failed := map[string]bool{}
	if err != nil { // a handler error fails the whole batch, as in Lambda
		for _, m := range msgs {
			failed[m.ID] = true
		}
	}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var done []sqsqueue.Message
	var errs []error
	for _, m := range msgs {
		if failed[m.ID] {
			if s.RetryDelay >= 0 {
				errs = append(errs, s.Queue.Retry(ctx, m, s.RetryDelay))
			}
			continue
		}
		done = append(done, m)
	}
	if len(done) > 0 {
		if err := s.Queue.Delete(ctx, done); err != nil {
			errs = append(errs, fmt.Errorf("delete handled messages: %w", err))
		}
	}
	return len(msgs), errors.Join(errs...)
}

// sqsEvent is the event Lambda's SQS source would hand the handler for msgs.
func sqsEvent(msgs []sqsqueue.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, m := range msgs {
		ev.Records[i] = events.SQSMessage{MessageId: m.ID, ReceiptHandle: m.ReceiptHandle, Body: m.Body, Attributes: m.Attributes}
	}
	return ev
}

var _ Queue = (*sqsqueue.Queue)(nil)
