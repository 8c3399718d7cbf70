package lambdaevents

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/ingestruns"
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

// ingestRuns records the scheduled runs and the queued runs it carries
// out; run "fail" fails, run "busy" is being carried out elsewhere.
type ingestRuns struct {
	triggers  []ingest.Trigger
	startedBy []string
	executed  []string
	status    ingestruns.Status
}

func (r *ingestRuns) RunScheduled(_ context.Context, startedBy string, trigger ingest.Trigger) (ingestruns.Run, bool, error) {
	r.triggers, r.startedBy = append(r.triggers, trigger), append(r.startedBy, startedBy)
	status := cmp.Or(r.status, ingestruns.StatusDone)
	run := ingestruns.Run{ID: "ingest-1", Status: status, StartedBy: startedBy, Summary: ingest.Summary{Trigger: trigger, FeedsOK: 3}}
	if status == ingestruns.StatusFailed {
		run.Error = "seed feed registry: table unavailable"
	}
	return run, true, nil
}

func (r *ingestRuns) Execute(_ context.Context, id string) error {
	r.executed = append(r.executed, id)
	switch id {
	case "fail":
		return errors.New("record outcome: throttled")
	case "busy":
		return ingestruns.ErrBusy
	}
	return nil
}

func TestIngest(t *testing.T) {
	tests := []struct {
		event     string
		want      ingest.Trigger
		startedBy string
	}{
		{`{"source":"schedule"}`, ingest.TriggerSchedule, "schedule"},
		{`{"source":"manual"}`, ingest.TriggerManual, "manual invocation"},
		{`{}`, ingest.TriggerSchedule, "schedule"},
		{`{"source":"aws.events","detail-type":"Scheduled Event"}`, ingest.TriggerSchedule, "schedule"},
		{`{"source":"MANUAL"}`, ingest.TriggerSchedule, "schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			var ev IngestEvent
			if err := json.Unmarshal([]byte(tt.event), &ev); err != nil {
				t.Fatal(err)
			}
			r := &ingestRuns{}
			run, err := Ingest(r)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.triggers, []ingest.Trigger{tt.want}) || !slices.Equal(r.startedBy, []string{tt.startedBy}) {
				t.Errorf("ran with %v started by %v, want once with %s by %s", r.triggers, r.startedBy, tt.want, tt.startedBy)
			}
			if run.Summary.Trigger != tt.want || run.Summary.FeedsOK != 3 || run.Status != ingestruns.StatusDone {
				t.Errorf("answered %+v, want the run with its summary", run)
			}
		})
	}
}

func TestIngestReturnsRunError(t *testing.T) {
	r := &ingestRuns{status: ingestruns.StatusFailed}
	run, err := Ingest(r)(context.Background(), IngestEvent{Source: "manual"})
	if err == nil || !strings.Contains(err.Error(), "table unavailable") || run.Status != ingestruns.StatusFailed {
		t.Errorf("Ingest = %+v, %v; want the failed run and its error, so that Lambda retries", run, err)
	}
}

func TestIngestRequests(t *testing.T) {
	r := &ingestRuns{}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		sqsRecord("m-ok", `{"run_id":"ingest-20261122T093000-abcdef"}`),
		sqsRecord("m-fail", `{"run_id":"fail"}`),
		sqsRecord("m-busy", `{"run_id":"busy"}`),
		sqsRecord("m-broken", `{"run_id":`),
		sqsRecord("m-empty", `{}`),
	}}
	var logs bytes.Buffer
	resp, err := IngestRequests(r, slog.New(slog.NewJSONHandler(&logs, nil)))(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if want := []string{"m-fail", "m-busy", "m-broken", "m-empty"}; !slices.Equal(failed, want) {
		t.Errorf("batch item failures %v, want %v", failed, want)
	}
	if want := []string{"ingest-20261122T093000-abcdef", "fail", "busy"}; !slices.Equal(r.executed, want) {
		t.Errorf("executed %v, want %v", r.executed, want)
	}
	if !strings.Contains(logs.String(), `"receive_count":"2"`) {
		t.Errorf("failures logged without their receive count: %s", logs.String())
	}
}

// The ingest function is invoked by the schedule and by the ingest queue:
// one handler tells the two apart.
func TestIngestFunctionDispatches(t *testing.T) {
	r := &ingestRuns{}
	h := IngestFunction(r, nil)
	out, err := h(context.Background(), json.RawMessage(`{"source":"schedule"}`))
	if run, ok := out.(ingestruns.Run); err != nil || !ok || run.ID != "ingest-1" {
		t.Errorf("schedule event answered %#v, %v; want the run", out, err)
	}
	sqsEvent, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{sqsRecord("m-1", `{"run_id":"r-1"}`), sqsRecord("m-2", `{"run_id":"fail"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	out, err = h(context.Background(), sqsEvent)
	resp, ok := out.(events.SQSEventResponse)
	if err != nil || !ok || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-2" {
		t.Errorf("SQS event answered %#v, %v; want m-2 reported back", out, err)
	}
	if !slices.Equal(r.executed, []string{"r-1", "fail"}) || len(r.triggers) != 1 {
		t.Errorf("executed %v and ran %d scheduled; want r-1 and fail executed, one scheduled run", r.executed, len(r.triggers))
	}
	if _, err := h(context.Background(), json.RawMessage(`[1,2]`)); err == nil {
		t.Error("an event that is neither was accepted")
	}
}
