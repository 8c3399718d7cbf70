package lambdaevents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/sqsqueue"
	"github.com/radiogram/radiogram/internal/subscribers"
)

var errSend = errors.New("SES throttled")

// jobSender records the jobs it is sent and fails those of run "fail".
type jobSender struct{ runs []string }

func (s *jobSender) Send(_ context.Context, job delivery.Job) error {
	s.runs = append(s.runs, job.RunID)
	if job.RunID == "fail" {
		return errSend
	}
	return nil
}

// requestHandler records the subscriber requests it handles (by address)
// and fails those for fail@example.org.
type requestHandler struct{ emails []string }

func (h *requestHandler) HandleRequest(_ context.Context, req subscribers.Request) error {
	h.emails = append(h.emails, req.Email)
	if req.Email == "fail@example.org" {
		return errSend
	}
	return nil
}

func requestBody(t *testing.T, email string) string {
	t.Helper()
	b, err := json.Marshal(sqsqueue.RequestMessage{Request: &subscribers.Request{Kind: subscribers.RequestSignUp, Email: email}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sqsRecord(id, body string) events.SQSMessage {
	return events.SQSMessage{MessageId: id, Body: body, Attributes: map[string]string{"ApproximateReceiveCount": "2"}}
}

func jobBody(t *testing.T, runID string) string {
	t.Helper()
	b, err := json.Marshal(delivery.Job{RunID: runID, Recipients: []delivery.Recipient{{SubscriberID: "ada"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSendJobs(t *testing.T) {
	tests := []struct {
		name        string
		records     []events.SQSMessage
		wantSent    []string // run ids handed to Send, in order
		wantReqs    []string // addresses of the requests handled, in order
		wantFailed  []string // message ids reported back
		wantLogged  []string
		wantNoLines bool
	}{
		{name: "no records", wantNoLines: true},
		{
			name:        "all good",
			records:     []events.SQSMessage{sqsRecord("m1", jobBody(t, "r1")), sqsRecord("m2", jobBody(t, "r2"))},
			wantSent:    []string{"r1", "r2"},
			wantNoLines: true,
		},
		{
			name: "partial batch",
			records: []events.SQSMessage{
				sqsRecord("good", jobBody(t, "r1")),
				sqsRecord("bad-json", `{"run_id": "truncated", "recipients": [`),
				sqsRecord("send-fails", jobBody(t, "fail")),
				sqsRecord("good-too", jobBody(t, "r2")),
			},
			wantSent:   []string{"r1", "fail", "r2"},
			wantFailed: []string{"bad-json", "send-fails"},
			wantLogged: []string{`"msg":"job failed"`, `"message":"bad-json"`, `"message":"send-fails"`, `"receive_count":"2"`, errSend.Error()},
		},
		{
			name: "subscriber requests among jobs",
			records: []events.SQSMessage{
				sqsRecord("job", jobBody(t, "r1")),
				sqsRecord("request", requestBody(t, "ada@example.org")),
				sqsRecord("request-fails", requestBody(t, "fail@example.org")),
				sqsRecord("job-too", jobBody(t, "r2")),
			},
			wantSent:   []string{"r1", "r2"},
			wantReqs:   []string{"ada@example.org", "fail@example.org"},
			wantFailed: []string{"request-fails"},
			wantLogged: []string{`"message":"request-fails"`, errSend.Error()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s, h := &jobSender{}, &requestHandler{}
			resp, err := SendJobs(s, h, slog.New(slog.NewJSONHandler(&logs, nil)))(context.Background(), events.SQSEvent{Records: tt.records})
			if err != nil {
				t.Fatalf("handler error %v: a failed record must fail alone, not the batch", err)
			}
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("batchItemFailures %v, want %v", failed, tt.wantFailed)
			}
			if !slices.Equal(s.runs, tt.wantSent) {
				t.Errorf("sent runs %v, want %v", s.runs, tt.wantSent)
			}
			if !slices.Equal(h.emails, tt.wantReqs) {
				t.Errorf("handled requests %v, want %v", h.emails, tt.wantReqs)
			}
			for _, want := range tt.wantLogged {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("logs lack %s:\n%s", want, &logs)
				}
			}
			if tt.wantNoLines && logs.Len() > 0 {
				t.Errorf("logged:\n%s", &logs)
			}
		})
	}
}

// messageHandler records the messages it handles and fails those whose id
// is in fail.
type messageHandler struct {
	got  []feedback.Message
	fail map[string]error
}

func (h *messageHandler) Handle(_ context.Context, m feedback.Message) error {
	h.got = append(h.got, m)
	return h.fail[m.MessageId]
}

// snsEvent decodes an SNS event as Lambda writes it, so that Timestamp goes
// through the same parsing as in production.
func snsEvent(t *testing.T, records ...map[string]any) events.SNSEvent {
	t.Helper()
	var recs []map[string]any
	for _, sns := range records {
		recs = append(recs, map[string]any{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": sns})
	}
	raw, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SNSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestFeedbackConvertsMessages(t *testing.T) {
	const topic = "arn:aws:sns:eu-west-1:111122223333:radiogram-ses-feedback"
	// The record's Sns object as Lambda receives it, and the message SNS
	// signed, which the handler must rebuild exactly.
	sns := func(timestamp any) map[string]any {
		m := map[string]any{
			"Type":              "Notification",
			"MessageId":         "5f1c3b9e-2d4a-5b6c-8e7f-9a0b1c2d3e4f",
			"TopicArn":          topic,
			"Subject":           "Amazon SES Email Event Notification",
			"Message":           `{"eventType":"Bounce"}`,
			"SignatureVersion":  "2",
			"Signature":         "c2lnbmF0dXJl",
			"SigningCertUrl":    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
			"UnsubscribeUrl":    "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topic + ":8a21d249",
			"MessageAttributes": map[string]any{},
		}
		if timestamp != nil {
			m["Timestamp"] = timestamp
		}
		return m
	}
	signed := func(timestamp string) feedback.Message {
		return feedback.Message{
			Type:             "Notification",
			MessageId:        "5f1c3b9e-2d4a-5b6c-8e7f-9a0b1c2d3e4f",
			TopicArn:         topic,
			Subject:          "Amazon SES Email Event Notification",
			Message:          `{"eventType":"Bounce"}`,
			Timestamp:        timestamp,
			SignatureVersion: "2",
			Signature:        "c2lnbmF0dXJl",
			SigningCertURL:   "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
			UnsubscribeURL:   "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topic + ":8a21d249",
		}
	}
	// The signature covers the Timestamp as SNS wrote it: milliseconds
	// always three digits, trailing zeros kept, in UTC with a Z.
	tests := []struct {
		name      string
		timestamp any
		want      feedback.Message
	}{
		{"milliseconds", "2026-03-02T07:28:30.123Z", signed("2026-03-02T07:28:30.123Z")},
		{"trailing zero", "2026-03-02T07:28:30.100Z", signed("2026-03-02T07:28:30.100Z")},
		{"whole second", "2026-03-02T07:29:00.000Z", signed("2026-03-02T07:29:00.000Z")},
		{"offset written as UTC", "2026-03-02T08:29:00.250+01:00", signed("2026-03-02T07:29:00.250Z")},
		{"no timestamp", nil, signed("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &messageHandler{}
			if err := Feedback(h, nil)(context.Background(), snsEvent(t, sns(tt.timestamp))); err != nil {
				t.Fatal(err)
			}
			if len(h.got) != 1 || h.got[0] != tt.want {
				t.Errorf("handled %+v\nwant %+v", h.got, tt.want)
			}
		})
	}
}

func TestFeedbackJoinsErrors(t *testing.T) {
	errForged := fmt.Errorf("verify SNS message: %w", feedback.ErrUntrusted)
	errStore := errors.New("table unavailable")
	rec := func(id string) map[string]any { return map[string]any{"Type": "Notification", "MessageId": id} }
	tests := []struct {
		name      string
		ids       []string
		fail      map[string]error
		wantIs    []error
		wantInErr []string
	}{
		{name: "no records"},
		{name: "all handled", ids: []string{"a", "b"}},
		{
			name: "failures among successes", ids: []string{"a", "forged", "b", "store"},
			fail:      map[string]error{"forged": errForged, "store": errStore},
			wantIs:    []error{feedback.ErrUntrusted, errStore},
			wantInErr: []string{"record 1 (message forged)", "record 3 (message store)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var recs []map[string]any
			for _, id := range tt.ids {
				recs = append(recs, rec(id))
			}
			var logs bytes.Buffer
			h := &messageHandler{fail: tt.fail}
			err := Feedback(h, slog.New(slog.NewJSONHandler(&logs, nil)))(context.Background(), snsEvent(t, recs...))
			if len(h.got) != len(tt.ids) {
				t.Errorf("%d records handled, want every one of %d", len(h.got), len(tt.ids))
			}
			if len(tt.wantIs) == 0 {
				if err != nil || logs.Len() > 0 {
					t.Errorf("error %v, logs %s; want neither", err, &logs)
				}
				return
			}
			for _, want := range tt.wantIs {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not wrap %v", err, want)
				}
			}
			for _, want := range tt.wantInErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v lacks %q", err, want)
				}
			}
			if n := strings.Count(logs.String(), `"msg":"SNS record failed"`); n != len(tt.wantIs) {
				t.Errorf("%d failures logged, want %d:\n%s", n, len(tt.wantIs), &logs)
			}
		})
	}
}

// ingestRunner records the trigger it runs with.
type ingestRunner struct{ triggers []ingest.Trigger }

func (r *ingestRunner) Run(_ context.Context, trigger ingest.Trigger) (ingest.Summary, error) {
	r.triggers = append(r.triggers, trigger)
	return ingest.Summary{Trigger: trigger, FeedsOK: 3}, nil
}

func TestIngest(t *testing.T) {
	tests := []struct {
		event string
		want  ingest.Trigger
	}{
		{`{"source":"schedule"}`, ingest.TriggerSchedule},
		{`{"source":"manual"}`, ingest.TriggerManual},
		{`{}`, ingest.TriggerSchedule},
		{`{"source":"aws.events","detail-type":"Scheduled Event"}`, ingest.TriggerSchedule},
		{`{"source":"MANUAL"}`, ingest.TriggerSchedule},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			var ev IngestEvent
			if err := json.Unmarshal([]byte(tt.event), &ev); err != nil {
				t.Fatal(err)
			}
			r := &ingestRunner{}
			sum, err := Ingest(r)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.triggers, []ingest.Trigger{tt.want}) {
				t.Errorf("ran with %v, want once with %s", r.triggers, tt.want)
			}
			if sum.Trigger != tt.want || sum.FeedsOK != 3 {
				t.Errorf("answered %+v, want the run's summary", sum)
			}
		})
	}
}

func TestIngestReturnsRunError(t *testing.T) {
	errSeed := errors.New("seed feed registry: table unavailable")
	want := ingest.Summary{Trigger: ingest.TriggerManual, StartedAt: time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)}
	sum, err := Ingest(runFunc(func(context.Context, ingest.Trigger) (ingest.Summary, error) { return want, errSeed }))(context.Background(), IngestEvent{Source: "manual"})
	if !errors.Is(err, errSeed) || !sum.StartedAt.Equal(want.StartedAt) || sum.Trigger != want.Trigger {
		t.Errorf("Ingest = %+v, %v; want the run's summary and error", sum, err)
	}
}

type runFunc func(context.Context, ingest.Trigger) (ingest.Summary, error)

func (f runFunc) Run(ctx context.Context, trigger ingest.Trigger) (ingest.Summary, error) {
	return f(ctx, trigger)
}

// An ingest where every feed fetched failed must not pass for a success:
// the handler fails, so that Lambda counts an error and, once retries are
// spent, the failed-invocations queue keeps the event. A run with no feed
// due, or with some feeds working, succeeds.
func TestIngestFailsWhenEveryFeedFailed(t *testing.T) {
	tests := []struct {
		name    string
		sum     ingest.Summary
		wantErr bool
	}{
		{"no feed due", ingest.Summary{FeedsSkipped: 5}, false},
		{"some feeds failed", ingest.Summary{FeedsOK: 1, FeedsFailed: 3}, false},
		{"every feed unchanged", ingest.Summary{FeedsUnchanged: 4}, false},
		{"every feed failed", ingest.Summary{FeedsFailed: 4, FeedsSkipped: 1, Feeds: []ingest.FeedResult{{Error: "dial tcp: i/o timeout"}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := runFunc(func(context.Context, ingest.Trigger) (ingest.Summary, error) { return tt.sum, nil })
			sum, err := Ingest(run)(context.Background(), IngestEvent{Source: "schedule"})
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ingest.ErrAllFeedsFailed)) {
				t.Fatalf("Ingest error = %v, want an error: %v", err, tt.wantErr)
			}
			if sum.FeedsFailed != tt.sum.FeedsFailed || sum.FeedsSkipped != tt.sum.FeedsSkipped {
				t.Errorf("answered %+v, want the run's summary", sum)
			}
		})
	}
}
