package feedback

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// SQSEventHandler is the feedback function's Lambda handler,
// lambdaevents.Feedback, set by lambdaevents_test.go: package lambdaevents
// imports this one, so only the external test package can import it. The
// tests here drive a Processor through it, the path a real notification
// takes (SNS's JSON in an SQS body, decoded; failed records reported back,
// untrusted ones dropped and logged).
var SQSEventHandler func(p *Processor, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// handleSQSEvent hands ev to p through the Lambda handler, logging to p's log.
func handleSQSEvent(ctx context.Context, p *Processor, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return SQSEventHandler(p, p.Log)(ctx, ev)
}
