package infra

import (
	"slices"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/ingestruns"
)

// The ingest queue carries the runs admins ask for to the ingest function:
// encrypted, with a dead-letter queue, one run per invocation with partial
// batch failures, a visibility timeout of six times the function's
// timeout, and the run's lock lease between the two, so that a live run
// never loses its lock and a crashed run's lock is free before its message
// comes back.
func TestIngestQueueFeedsTheIngestFunction(t *testing.T) {
	tmpl := loadTemplate(t)
	q := tmpl.Resources["IngestQueue"]
	if q.Type != "AWS::SQS::Queue" || q.Properties["SqsManagedSseEnabled"] != true {
		t.Fatalf("IngestQueue: %s, SSE %v; want an encrypted SQS queue", q.Type, q.Properties["SqsManagedSseEnabled"])
	}
	redrive := resolved(t, tmpl, q.Properties["RedrivePolicy"])
	if _, dlq := target(t, tmpl, path(redrive, "deadLetterTargetArn")); dlq.Type != "AWS::SQS::Queue" {
		t.Errorf("IngestQueue's dead-letter target is a %s", dlq.Type)
	}
	if n, _ := path(redrive, "maxReceiveCount").(int); n < 1 {
		t.Errorf("IngestQueue maxReceiveCount = %v", path(redrive, "maxReceiveCount"))
	}

	fn := function(t, tmpl, "IngestFunction")
	timeout, _ := fn.Properties["Timeout"].(int)
	visibility, _ := q.Properties["VisibilityTimeout"].(int)
	if timeout == 0 || visibility < 6*timeout {
		t.Errorf("IngestQueue VisibilityTimeout %d s, want at least 6 × the ingest function's %d s", visibility, timeout)
	}
	if lease := ingestruns.DefaultLease; lease <= time.Duration(timeout)*time.Second || lease >= time.Duration(visibility)*time.Second {
		t.Errorf("lock lease %s: want longer than the function's %d s timeout and shorter than the queue's %d s visibility", lease, timeout, visibility)
	}

	var found bool
	events, _ := fn.Properties["Events"].(map[string]any)
	for name, ev := range events {
		if path(ev, "Type") != "SQS" {
			continue
		}
		props := resolved(t, tmpl, path(ev, "Properties"))
		if id, _ := target(t, tmpl, path(props, "Queue")); id != "IngestQueue" {
			continue
		}
		found = true
		if path(props, "BatchSize") != 1 || !slices.Contains(strs(path(props, "FunctionResponseTypes")), "ReportBatchItemFailures") {
			t.Errorf("IngestFunction.%s: BatchSize %v, FunctionResponseTypes %v; want 1 and ReportBatchItemFailures",
				name, path(props, "BatchSize"), path(props, "FunctionResponseTypes"))
		}
	}
	if !found {
		t.Error("IngestFunction has no SQS event on IngestQueue")
	}

	// Only the API sends to it.
	var sends bool
	for _, st := range statements(resolved(t, tmpl, function(t, tmpl, "ApiFunction").Properties["Policies"])) {
		if slices.Contains(strs(st["Action"]), "sqs:SendMessage") && slices.Contains(strs(st["Resource"]), "getatt:IngestQueue.Arn") {
			sends = true
		}
	}
	if !sends {
		t.Error("ApiFunction may not send to IngestQueue")
	}
}
