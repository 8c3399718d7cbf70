package app

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/lambdaevents"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestPoisonJobGoesToDeadLetterQueue: a job the sender can never handle is
// received maxReceiveCount times, then moved by the queue's redrive policy
// to the dead-letter queue, while good jobs queued with it are delivered.
func TestPoisonJobGoesToDeadLetterQueue(t *testing.T) {
	t.Parallel()
	a, _ := newIngestedApp(t)
	ctx := context.Background()
	client := sqs.NewFromConfig(a.AWS)
	queueURL, dlqURL := a.Config.SendQueueURL, stackOf(a).env.Outputs["SendDeadLetterQueueUrl"]
	if dlqURL == "" {
		t.Fatal("the stack has no SendDeadLetterQueueUrl output")
	}

	// The deployed queue's redrive policy is the one under test.
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &queueURL, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		t.Fatal(err)
	}
	var redrive struct {
		DeadLetterTargetArn string      `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.Number `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &redrive); err != nil {
		t.Fatalf("redrive policy %q: %v", attrs.Attributes["RedrivePolicy"], err)
	}
	maxReceives, err := strconv.Atoi(redrive.MaxReceiveCount.String())
	if err != nil || maxReceives != 5 {
		t.Fatalf("maxReceiveCount %q, want 5 as template.yaml sets", redrive.MaxReceiveCount)
	}
	dlqAttrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &dlqURL, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	if arn := dlqAttrs.Attributes["QueueArn"]; redrive.DeadLetterTargetArn != arn {
		t.Fatalf("the send queue redrives to %q, not the dead-letter queue %q", redrive.DeadLetterTargetArn, arn)
	}

	// Good jobs: a due digest for two readers, planned as the schedule would.
	good := []string{"good1@hospital.test", "good2@hospital.test"}
	for _, email := range good {
		addConfirmed(t, a, email, nextHourPrefs([]string{"ai", "screening"}, nil, subscribers.FormatHTML))
	}
	slotTime := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	rep, err := a.Planner().Plan(ctx, delivery.Request{RunID: "dlq", Target: delivery.Target{Kind: delivery.TargetDue, Slot: digest.Slot(slotTime)}, Until: slotTime})
	if err != nil || rep.Planned != len(good) {
		t.Fatalf("plan: %+v, %v", rep, err)
	}

	// Poison: a body that is not JSON, and a well-formed job for a real,
	// confirmed reader whose kind no renderer knows.
	target := addConfirmed(t, a, "target@hospital.test", subscribers.Preferences{Topics: []string{"ai"}, Frequency: subscribers.Instant})
	stored := mustList(t, a, items.Query{Societies: []string{"esr", "rsna", "acr", "wfumb"}, Limit: 200})
	unknownKind, err := json.Marshal(delivery.Job{
		RunID: "poison", Kind: "newsletter", Until: time.Now().UTC(), Format: subscribers.FormatHTML, Topics: []string{"ai"},
		ItemKeys: []string{stored[0].Key}, Recipients: []delivery.Recipient{{SubscriberID: target.ID, Since: time.Now().Add(-24 * time.Hour)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	poison := []string{`{"run_id": "truncated", "recipients": [`, string(unknownKind)}
	for _, body := range poison {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &queueURL, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}

	// Consume as Lambda would, with failed records visible again at once.
	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	received := map[string]int{} // by body
	handle := sendHandler(t, a, sender)
	c := &lambdaevents.SQSSource{Queue: a.Queue, Log: a.Log, RetryDelay: 0,
		Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			mu.Lock()
			for _, r := range ev.Records {
				received[r.Body]++
			}
			mu.Unlock()
			return handle(ctx, ev)
		},
	}
	consume(t, c, time.Minute)

	for i, body := range poison {
		if received[body] != maxReceives {
			t.Errorf("poison job %d was received %d times, want %d", i, received[body], maxReceives)
		}
	}
	// Admins see them waiting.
	svc, err := a.SubscriberService(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := a.AdminService(svc).Summary(ctx); err != nil || sum.DeadLetterJobs != len(poison) {
		t.Errorf("admin summary: %d dead-letter jobs (%v), want %d", sum.DeadLetterJobs, err, len(poison))
	}

	dead := receiveAll(t, client, dlqURL)
	for i, body := range poison {
		if dead[body] != 1 {
			t.Errorf("poison job %d is %d times in the dead-letter queue, want once", i, dead[body])
		}
	}
	if len(dead) != len(poison) {
		t.Errorf("the dead-letter queue holds %d distinct jobs, want only the %d poison ones", len(dead), len(poison))
	}
	if left := receiveAll(t, client, queueURL); len(left) != 0 {
		t.Errorf("the send queue still holds %d jobs", len(left))
	}
	for _, email := range good {
		if n := len(mailbox(t, a, email)); n != 1 {
			t.Errorf("%s got %d mails, want their digest once", email, n)
		}
	}
	if n := len(mailbox(t, a, "target@hospital.test")); n != 0 {
		t.Errorf("the poison job's recipient got %d mails", n)
	}
}

// receiveAll drains a queue, counting the bodies it held.
func receiveAll(t *testing.T, client *sqs.Client, url string) map[string]int {
	t.Helper()
	bodies := map[string]int{}
	for {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies[aws.ToString(m.Body)]++
		}
	}
}
