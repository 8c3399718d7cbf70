package feedback_test

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/lambdaevents"
)

// The tests of package feedback reach the Lambda handler through this hook
// (see export_test.go).
func init() {
	feedback.SQSEventHandler = func(p *feedback.Processor, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return lambdaevents.Feedback(p, log)
	}
}
