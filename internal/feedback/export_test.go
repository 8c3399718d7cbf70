package feedback

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// SNSEventHandler is the feedback function's Lambda handler,
// lambdaevents.Feedback, set by lambdaevents_test.go: package lambdaevents
// imports this one, so only the external test package can import it. The
// tests here drive a Processor through it, the path a real SNS event takes
// (Lambda's decoding of the event, the Timestamp written back for the
// signature, the records' errors joined and logged).
var SNSEventHandler func(p *Processor, log *slog.Logger) func(context.Context, events.SNSEvent) error

// handleSNSEvent hands ev to p through the Lambda handler, logging to p's log.
func handleSNSEvent(ctx context.Context, p *Processor, ev events.SNSEvent) error {
	return SNSEventHandler(p, p.Log)(ctx, ev)
}
