// Package sqs is the Amazon SQS adapter: it queues delivery jobs, and for
// local runs and tests consumes them the way Lambda's event source does.
package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/radiogram/radiogram/internal/delivery"
)

// API is the part of the SQS client the adapter uses.
type API interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Queue is one SQS queue of delivery jobs.
type Queue struct {
	api API
	url string
}

// New returns the queue at url.
func New(api API, url string) *Queue {
	return &Queue{api: api, url: url}
}

var _ delivery.Queue = (*Queue)(nil)

// depthAttributes are the counts whose sum Depth reports.
var depthAttributes = []types.QueueAttributeName{
	types.QueueAttributeNameApproximateNumberOfMessages,
	types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
}

// Depth is about how many messages wait in the queue, visible or in flight.
func (q *Queue) Depth(ctx context.Context) (int, error) {
	out, err := q.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &q.url, AttributeNames: depthAttributes})
	if err != nil {
		return 0, fmt.Errorf("read queue depth: %w", err)
	}
	n := 0
	for _, name := range depthAttributes {
		v, err := strconv.Atoi(out.Attributes[string(name)])
		if err == nil {
			n += v
		}
	}
	return n, nil
}

// maxBody is SQS's message size limit.
const maxBody = 256 << 10

// Enqueue sends jobs ten to a request, retrying the entries SQS refuses
// for a moment (throttling, an internal error) with backoff.
func (q *Queue) Enqueue(ctx context.Context, jobs []delivery.Job) error {
	for batch := range slices.Chunk(jobs, 10) {
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for i, job := range batch {
			body, err := json.Marshal(job)
			if err != nil {
				return fmt.Errorf("encode job: %w", err)
			}
			if len(body) > maxBody {
				return fmt.Errorf("job of run %s is %d bytes, over the SQS limit", job.RunID, len(body))
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		}
		if err := q.sendBatch(ctx, entries); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queue) sendBatch(ctx context.Context, entries []types.SendMessageBatchRequestEntry) error {
	for attempt := 0; ; attempt++ {
		out, err := q.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.url, Entries: entries})
		if err != nil {
			return fmt.Errorf("send to queue: %w", err)
		}
		if len(out.Failed) == 0 {
			return nil
		}
		var retry []types.SendMessageBatchRequestEntry
		for _, f := range out.Failed {
			if f.SenderFault {
				return fmt.Errorf("queue refused a job: %s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
			}
			for _, e := range entries {
				if aws.ToString(e.Id) == aws.ToString(f.Id) {
					retry = append(retry, e)
				}
			}
		}
		if attempt == 5 {
			return fmt.Errorf("send to queue: %d jobs still refused after %d attempts", len(retry), attempt+1)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(rand.N(time.Duration(100<<attempt) * time.Millisecond)):
		}
		entries = retry
	}
}

// Handler is the shape of a Lambda SQS handler with partial batch failures.
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Consumer polls a queue and hands batches to a handler as Lambda would:
// records the handler does not report as failed are deleted; failed ones
// come back after RetryDelay, and the queue's redrive policy moves a record
// that keeps failing to the dead-letter queue.
type Consumer struct {
	Queue      *Queue
	Handler    Handler
	RetryDelay time.Duration
	Wait       time.Duration // long-poll time per receive
	Log        *slog.Logger
}

// Run consumes until ctx is done.
func (c *Consumer) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if _, err := c.Poll(ctx); err != nil && ctx.Err() == nil {
			c.Log.ErrorContext(ctx, "consume queue", "err", err)
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
func (c *Consumer) Poll(ctx context.Context) (int, error) {
	q := c.Queue
	out, err := q.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    &q.url,
		MaxNumberOfMessages:         10,
		WaitTimeSeconds:             int32(c.Wait / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return 0, fmt.Errorf("receive: %w", err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(out.Messages))}
	for i, m := range out.Messages {
		attrs := map[string]string{}
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		ev.Records[i] = events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body), Attributes: attrs}
	}
	resp, err := c.Handler(ctx, ev)
	failed := map[string]bool{}
	if err != nil { // a handler error fails the whole batch, as in Lambda
		for _, r := range ev.Records {
			failed[r.MessageId] = true
		}
	}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var done []types.DeleteMessageBatchRequestEntry
	var errs []error
	for i, r := range ev.Records {
		if failed[r.MessageId] {
			_, err := q.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: &q.url, ReceiptHandle: &r.ReceiptHandle, VisibilityTimeout: int32(c.RetryDelay / time.Second),
			})
			errs = append(errs, err)
			continue
		}
		done = append(done, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)})
	}
	if len(done) > 0 {
		if _, err := q.api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &q.url, Entries: done}); err != nil {
			errs = append(errs, fmt.Errorf("delete handled messages: %w", err))
		}
	}
	return len(ev.Records), errors.Join(errs...)
}
