// Package sqsqueue is the Amazon SQS adapter: it queues delivery jobs,
// subscriber requests and ingest requests, and
// receives, deletes and retries them for the in-process consumer of local
// runs and tests (lambdaevents.SQSSource, which plays Lambda's event source).
package sqsqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/subscribers"
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

var (
	_ delivery.Queue       = (*Queue)(nil)
	_ delivery.PlanQueue   = (*Queue)(nil)
	_ subscribers.Requests = (*Queue)(nil)
	_ ingestruns.Queue     = (*Queue)(nil)
)

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

// Enqueue sends delivery jobs.
func (q *Queue) Enqueue(ctx context.Context, jobs []delivery.Job) error {
	return sendAll(ctx, q, jobs)
}

// EnqueuePlans sends the shards of a run to the planner function.
func (q *Queue) EnqueuePlans(ctx context.Context, reqs []delivery.Request) error {
	return sendAll(ctx, q, reqs)
}

// sendConcurrency bounds the batches one call has in flight: a plan of a
// large list queues thousands of jobs, and one batch at a time would make
// its planning wait on SQS's round trips.
const sendConcurrency = 8

// sendAll sends messages ten to a request, several requests at once,
// retrying the entries SQS refuses for a moment (throttling, an internal
// error) with backoff.
func sendAll[T any](ctx context.Context, q *Queue, msgs []T) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	sem := make(chan struct{}, sendConcurrency)
	for batch := range slices.Chunk(msgs, 10) {
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for i, m := range batch {
			body, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("encode message: %w", err)
			}
			if len(body) > maxBody {
				return fmt.Errorf("a message of %d bytes is over the SQS limit", len(body))
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := q.sendBatch(ctx, entries); err != nil {
				errOnce.Do(func() { firstErr = err; cancel() })
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// RequestMessage is the body of a queued subscriber request; a body with
// a "request" field is one, any other a delivery job.
type RequestMessage struct {
	Request *subscribers.Request `json:"request"`
}

// EnqueueRequest queues one subscriber request for the sender function.
func (q *Queue) EnqueueRequest(ctx context.Context, r subscribers.Request) error {
	body, err := json.Marshal(RequestMessage{Request: &r})
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	return q.sendBatch(ctx, []types.SendMessageBatchRequestEntry{{Id: aws.String("0"), MessageBody: aws.String(string(body))}})
}

// IngestMessage is the body of a message on the ingest queue: the run the
// ingest function should carry out.
type IngestMessage struct {
	RunID string `json:"run_id"`
}

// RequestIngest queues a recorded ingest run for the ingest function.
func (q *Queue) RequestIngest(ctx context.Context, runID string) error {
	body, err := json.Marshal(IngestMessage{RunID: runID})
	if err != nil {
		return fmt.Errorf("encode ingest request: %w", err)
	}
	return q.sendBatch(ctx, []types.SendMessageBatchRequestEntry{{Id: aws.String("0"), MessageBody: aws.String(string(body))}})
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

// Message is one received message.
type Message struct {
	ID            string
	ReceiptHandle string
	Body          string
	// Attributes are the message's system attributes, among them
	// ApproximateReceiveCount; never nil.
	Attributes map[string]string
}

// maxReceive is the most messages one receive returns (SQS's limit, and
// the batch size of Lambda's SQS event source by default).
const maxReceive = 10

// Receive waits up to wait (whole seconds; zero returns at once) for
// messages and returns up to ten, each with its receive count. They stay
// invisible to other receivers for the queue's visibility timeout, until
// deleted or retried. Its errors, like Delete's and Retry's, are the SDK's,
// which name the operation.
func (q *Queue) Receive(ctx context.Context, wait time.Duration) ([]Message, error) {
	out, err := q.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    &q.url,
		MaxNumberOfMessages:         maxReceive,
		WaitTimeSeconds:             int32(wait / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, err
	}
	msgs := make([]Message, len(out.Messages))
	for i, m := range out.Messages {
		attrs := map[string]string{}
		maps.Copy(attrs, m.Attributes)
		msgs[i] = Message{ID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body), Attributes: attrs}
	}
	return msgs, nil
}

// Delete removes handled messages, up to ten (one receive's worth) in one
// request.
func (q *Queue) Delete(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	entries := make([]types.DeleteMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.ReceiptHandle)}
	}
	_, err := q.api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &q.url, Entries: entries})
	return err
}

// Retry makes a received message visible again after delay (whole
// seconds; zero at once). The queue's redrive policy moves a message
// received too often to its dead-letter queue.
func (q *Queue) Retry(ctx context.Context, m Message, delay time.Duration) error {
	_, err := q.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: &q.url, ReceiptHandle: &m.ReceiptHandle, VisibilityTimeout: int32(delay / time.Second),
	})
	return err
}
