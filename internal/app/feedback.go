package app

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/radiogram/radiogram/internal/awsconfig"
	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/sqsqueue"
)

// FeedbackMaxAge is how old a notification the feedback function still
// believes: the feedback dead-letter queue's retention in template.yaml,
// counted like it from when SNS queued the notification, so that one put
// aside and redriven by an operator still verifies. Only the feedback topic
// may send to the queue, so the hour an HTTP endpoint allows against
// replays would only turn a backlog into lost bounces.
const FeedbackMaxAge = 14 * 24 * time.Hour

// Feedback returns the processor of SES bounce, complaint and reject
// notifications.
func (a *App) Feedback() *feedback.Processor {
	var topics []string
	if a.Config.FeedbackTopicARN != "" {
		topics = []string{a.Config.FeedbackTopicARN}
	}
	verifier := &feedback.Verifier{MaxAge: FeedbackMaxAge}
	if a.Config.AWSEndpoint != "" {
		// Locally the emulator signs what it delivers, and serves the
		// certificate, as SNS does.
		verifier.Fetch = awsconfig.SNSCertificates(a.AWS, a.Config.AWSEndpoint)
	}
	return &feedback.Processor{
		Verifier:     verifier,
		Suppressions: a.Suppressions,
		Transients:   a.Suppressions,
		Hasher:       a.Hasher,
		SendLog:      a.Ledger,
		TopicARNs:    topics,
		Log:          a.Log,
	}
}

// QueueAt returns the SQS queue at url. `make run` and the tests consume
// the feedback queue through it in-process (the stack's FeedbackQueueUrl
// output), as Lambda's event source does in the cloud: the function itself
// never names its queue.
func (a *App) QueueAt(url string) *sqsqueue.Queue {
	return sqsqueue.New(sqs.NewFromConfig(a.AWS), url)
}
