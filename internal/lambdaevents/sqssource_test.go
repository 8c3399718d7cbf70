package lambdaevents

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/sqsqueue"
)

// memQueue hands out one batch and records what becomes of each message.
type memQueue struct {
	batch      []sqsqueue.Message
	receiveErr error
	deleteErr  error
	waits      []time.Duration
	deleted    []string
	retried    map[string]time.Duration
}

func (q *memQueue) Receive(_ context.Context, wait time.Duration) ([]sqsqueue.Message, error) {
	q.waits = append(q.waits, wait)
	batch := q.batch
	q.batch = nil
	return batch, q.receiveErr
}

func (q *memQueue) Delete(_ context.Context, msgs []sqsqueue.Message) error {
	for _, m := range msgs {
		q.deleted = append(q.deleted, m.ID)
	}
	return q.deleteErr
}

func (q *memQueue) Retry(_ context.Context, m sqsqueue.Message, delay time.Duration) error {
	if q.retried == nil {
		q.retried = map[string]time.Duration{}
	}
	q.retried[m.ID] = delay
	return nil
}

func message(id string) sqsqueue.Message {
	return sqsqueue.Message{ID: id, ReceiptHandle: "rh-" + id, Body: "body-" + id, Attributes: map[string]string{"ApproximateReceiveCount": "3"}}
}

func TestSQSSourcePoll(t *testing.T) {
	errReceive := errors.New("throttled")
	errHandler := errors.New("handler crashed")
	errDelete := errors.New("delete refused")
	failing := func(ids ...string) SQSHandler {
		return func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			var resp events.SQSEventResponse
			for _, id := range ids {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
			}
			return resp, nil
		}
	}
	tests := []struct {
		name        string
		queue       memQueue
		handler     SQSHandler
		wantN       int
		wantErr     error
		wantDeleted []string
		wantRetried []string
	}{
		{name: "empty queue", handler: failing()},
		{name: "receive fails", queue: memQueue{receiveErr: errReceive}, handler: failing(), wantErr: errReceive},
		{
			name: "all handled", queue: memQueue{batch: []sqsqueue.Message{message("a"), message("b")}}, handler: failing(),
			wantN: 2, wantDeleted: []string{"a", "b"},
		},
		{
			name: "partial failure", queue: memQueue{batch: []sqsqueue.Message{message("a"), message("b"), message("c")}}, handler: failing("b"),
			wantN: 3, wantDeleted: []string{"a", "c"}, wantRetried: []string{"b"},
		},
		{
			name:  "handler error fails the batch",
			queue: memQueue{batch: []sqsqueue.Message{message("a"), message("b")}},
			handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
				return events.SQSEventResponse{}, errHandler
			},
			wantN: 2, wantRetried: []string{"a", "b"},
		},
		{
			name: "delete fails", queue: memQueue{batch: []sqsqueue.Message{message("a")}, deleteErr: errDelete}, handler: failing(),
			wantN: 1, wantErr: errDelete, wantDeleted: []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.queue
			var got []events.SQSMessage
			src := &SQSSource{Queue: &q, RetryDelay: 7 * time.Second, Wait: 5 * time.Second,
				Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
					got = append(got, ev.Records...)
					return tt.handler(ctx, ev)
				},
			}
			batch := slices.Clone(q.batch)
			n, err := src.Poll(context.Background())
			if n != tt.wantN {
				t.Errorf("Poll = %d records, want %d", n, tt.wantN)
			}
			if (tt.wantErr == nil) != (err == nil) || !errors.Is(err, tt.wantErr) {
				t.Errorf("Poll error %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(q.waits, []time.Duration{5 * time.Second}) {
				t.Errorf("receive waits %v, want one of Wait", q.waits)
			}
			// The handler sees each message as Lambda's event source hands it over.
			if len(got) != len(batch) {
				t.Fatalf("handler got %d records, want %d", len(got), len(batch))
			}
			for i, m := range batch {
				r := got[i]
				if r.MessageId != m.ID || r.ReceiptHandle != m.ReceiptHandle || r.Body != m.Body || !maps.Equal(r.Attributes, m.Attributes) {
					t.Errorf("record %d = %+v, want message %+v", i, r, m)
				}
			}
			if !slices.Equal(q.deleted, tt.wantDeleted) {
				t.Errorf("deleted %v, want %v", q.deleted, tt.wantDeleted)
			}
			if retried := slices.Sorted(maps.Keys(q.retried)); !slices.Equal(retried, tt.wantRetried) {
				t.Errorf("retried %v, want %v", retried, tt.wantRetried)
			}
			for id, delay := range q.retried {
				if delay != 7*time.Second {
					t.Errorf("%s retried after %s, want RetryDelay", id, delay)
				}
			}
		})
	}
}

func TestSQSSourceRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	q := &memQueue{batch: []sqsqueue.Message{message("a")}}
	src := &SQSSource{Queue: q, Handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		cancel()
		return events.SQSEventResponse{}, nil
	}}
	done := make(chan error)
	go func() { done <- src.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
	if !slices.Equal(q.deleted, []string{"a"}) {
		t.Errorf("deleted %v, want the handled message", q.deleted)
	}
}

// TestSQSSourceLeavesRetriesToTheQueue: with a negative RetryDelay a failed
// record is neither deleted nor made visible: it keeps the visibility the
// queue or the handler gave it, as under Lambda.
func TestSQSSourceLeavesRetriesToTheQueue(t *testing.T) {
	q := &memQueue{batch: []sqsqueue.Message{message("a"), message("b")}}
	src := &SQSSource{Queue: q, RetryDelay: -1, Handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "b"}}}, nil
	}}
	if _, err := src.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.deleted, []string{"a"}) || len(q.retried) != 0 {
		t.Errorf("deleted %v, retried %v; want a deleted and b left alone", q.deleted, q.retried)
	}
}
