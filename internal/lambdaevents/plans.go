package lambdaevents

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/delivery"
)

// ShardPlanner plans one shard of a run (*delivery.Planner).
type ShardPlanner interface {
	Plan(ctx context.Context, req delivery.Request) (delivery.Report, error)
}

// PlanShards is the SQS handler of the plan queue: each record is one
// shard of a run (delivery.Request). A shard that fails comes back; one
// that keeps failing ends in the failed-invocations queue. Planning a shard
// twice queues jobs whose sends the ledger then skips, so redelivery is
// safe. done, if set, sees every planned shard's report (for metrics).
func PlanShards(p ShardPlanner, done func(context.Context, delivery.Report), log *slog.Logger) SQSHandler {
	log = orDiscard(log)
	return eachRecord("plan failed", log, func(ctx context.Context, rec events.SQSMessage) error {
		rep, err := planShard(ctx, p, rec.Body)
		if err == nil && done != nil {
			done(ctx, rep)
		}
		return err
	})
}

// eachRecord is an SQS handler that hands each record to handle, and
// reports back, logged as failure with the record's receive count, each
// record handle failed on: it comes back, and after the queue's
// maxReceiveCount waits in its dead-letter queue.
func eachRecord(failure string, log *slog.Logger, handle func(context.Context, events.SQSMessage) error) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, rec := range ev.Records {
			if err := handle(ctx, rec); err != nil {
				log.ErrorContext(ctx, failure, "message", rec.MessageId, "receive_count", rec.Attributes["ApproximateReceiveCount"], "err", err)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			}
		}
		return resp, nil
	}
}

func planShard(ctx context.Context, p ShardPlanner, body string) (delivery.Report, error) {
	var req delivery.Request
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		return delivery.Report{}, fmt.Errorf("decode plan request: %w", err)
	}
	if req.RunID == "" || !req.Sharded || req.Shard < 0 || req.Shard >= delivery.Shards {
		return delivery.Report{}, fmt.Errorf("plan request %q names no shard of a run", body)
	}
	return p.Plan(ctx, req)
}

// ScheduleOrQueue is the handler of a function invoked both by a schedule
// (EventBridge Scheduler hands it the schedule's input) and by an SQS event
// source: an event with "Records" is an SQS batch, anything else the
// schedule's.
func ScheduleOrQueue(schedule func(context.Context, json.RawMessage) (any, error), queue SQSHandler) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Records []json.RawMessage `json:"Records"`
		}
		if json.Unmarshal(raw, &probe) == nil && probe.Records != nil {
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("decode SQS event: %w", err)
			}
			return queue(ctx, ev)
		}
		return schedule(ctx, raw)
	}
}
