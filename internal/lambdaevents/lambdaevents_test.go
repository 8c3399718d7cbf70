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
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/sqsqueue"
	"github.com/radiogram/radiogram/internal/subscribers"
)

var errSend = errors.New("SES throttled")

// jobSender records the jobs it is sent and fails those of run "fail"
// (and with the errors in errs, by run id). Begin fails with beginErr;
// Continue fails from the stopAt-th call on (0: never).
type jobSender struct {
	runs      []string
	errs      map[string]error
	beginErr  error
	stopAt    int
	continues int
	ends      int
}

func (s *jobSender) Begin(ctx context.Context) (context.Context, error) { return ctx, s.beginErr }

func (s *jobSender) Continue(context.Context) error {
	s.continues++
	if s.stopAt > 0 && s.continues >= s.stopAt {
		return delivery.ErrDeadline
	}
	return nil
}

func (s *jobSender) End(context.Context) error {
	s.ends++
	return nil
}

func (s *jobSender) Send(_ context.Context, job delivery.Job) error {
	s.runs = append(s.runs, job.RunID)
	if job.RunID == "fail" {
		return errSend
	}
	return s.errs[job.RunID]
}

// postponer records the delays records are given.
type postponer struct{ delays map[string]time.Duration }

func (p *postponer) Retry(_ context.Context, m sqsqueue.Message, delay time.Duration) error {
	if p.delays == nil {
		p.delays = map[string]time.Duration{}
	}
	p.delays[m.ID] = delay.Round(time.Minute)
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
		sender      jobSender
		wantDelays  map[string]time.Duration // records postponed, by id
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
		{
			name:       "sending paused: nothing sent, every record hidden until the pause ends",
			sender:     jobSender{beginErr: &delivery.PausedError{Until: time.Now().Add(2 * time.Hour)}},
			records:    []events.SQSMessage{sqsRecord("job", jobBody(t, "r1")), sqsRecord("request", requestBody(t, "ada@example.org"))},
			wantFailed: []string{"job", "request"},
			wantDelays: map[string]time.Duration{"job": 2 * time.Hour, "request": 2 * time.Hour},
			wantLogged: []string{`"msg":"sending paused: every record goes back unsent"`},
		},
		{
			name:       "a pause of more than 12 hours hides them 12",
			sender:     jobSender{beginErr: &delivery.PausedError{Until: time.Now().Add(20 * time.Hour)}},
			records:    []events.SQSMessage{sqsRecord("job", jobBody(t, "r1"))},
			wantFailed: []string{"job"},
			wantDelays: map[string]time.Duration{"job": 12 * time.Hour},
		},
		{
			name:   "deadline near: the records not started go back at once",
			sender: jobSender{stopAt: 2},
			records: []events.SQSMessage{
				sqsRecord("started", jobBody(t, "r1")), sqsRecord("late", jobBody(t, "r2")), sqsRecord("late-request", requestBody(t, "ada@example.org")),
			},
			wantSent:   []string{"r1"},
			wantFailed: []string{"late", "late-request"},
			wantDelays: map[string]time.Duration{"late": 0, "late-request": 0},
			wantLogged: []string{`"msg":"stopping before the deadline: records go back unstarted"`, `"records":2`},
		},
		{
			name:   "a job cut short by the deadline goes back at once, with the rest",
			sender: jobSender{errs: map[string]error{"r2": fmt.Errorf("3 of 5 left: %w", delivery.ErrDeadline)}},
			records: []events.SQSMessage{
				sqsRecord("done", jobBody(t, "r1")), sqsRecord("cut", jobBody(t, "r2")), sqsRecord("late", jobBody(t, "r3")),
			},
			wantSent:   []string{"r1", "r2"},
			wantFailed: []string{"cut", "late"},
			wantDelays: map[string]time.Duration{"cut": 0, "late": 0},
		},
		{
			name:   "SES keeps throttling: the rest waits for the visibility timeout",
			sender: jobSender{errs: map[string]error{"r1": fmt.Errorf("subscriber ada: %w", delivery.ErrThrottled)}},
			records: []events.SQSMessage{
				sqsRecord("throttled", jobBody(t, "r1")), sqsRecord("next", jobBody(t, "r2")), sqsRecord("request", requestBody(t, "ada@example.org")),
			},
			wantSent:   []string{"r1"},
			wantFailed: []string{"throttled", "next", "request"},
			wantLogged: []string{`"msg":"stopping: the rest goes back for later"`},
		},
		{
			name:   "the quota runs out mid-batch: the rest hidden until the pause ends",
			sender: jobSender{errs: map[string]error{"r2": &delivery.PausedError{Until: time.Now().Add(time.Hour), Cause: errors.New("Daily message quota exceeded")}}},
			records: []events.SQSMessage{
				sqsRecord("done", jobBody(t, "r1")), sqsRecord("refused", jobBody(t, "r2")), sqsRecord("next", jobBody(t, "r3")),
			},
			wantSent:   []string{"r1", "r2"},
			wantFailed: []string{"refused", "next"},
			wantDelays: map[string]time.Duration{"refused": time.Hour, "next": time.Hour},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s, h, q := &tt.sender, &requestHandler{}, &postponer{}
			resp, err := SendJobs(s, h, q, slog.New(slog.NewJSONHandler(&logs, nil)))(context.Background(), events.SQSEvent{Records: tt.records})
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
			if s.ends != 1 {
				t.Errorf("End called %d times, want once per invocation", s.ends)
			}
			if fmt.Sprint(q.delays) != fmt.Sprint(tt.wantDelays) && len(q.delays)+len(tt.wantDelays) > 0 {
				t.Errorf("postponed %v, want %v", q.delays, tt.wantDelays)
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

// snsBody is an SQS body as SNS delivers a notification to a queue without
// raw message delivery (the layout and field names SNS uses).
func snsBody(t *testing.T, id string) string {
	t.Helper()
	b, err := json.MarshalIndent(map[string]any{
		"Type":             "Notification",
		"MessageId":        id,
		"TopicArn":         "arn:aws:sns:eu-west-1:111122223333:radiogram-ses-feedback",
		"Subject":          "Amazon SES Email Event Notification",
		"Message":          `{"eventType":"Bounce"}`,
		"Timestamp":        "2026-03-02T07:28:30.100Z",
		"SignatureVersion": "2",
		"Signature":        "c2lnbmF0dXJl",
		"SigningCertURL":   "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
		"UnsubscribeURL":   "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:111122223333:radiogram-ses-feedback:8a21d249",
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFeedbackHandsOverTheSignedText: the message handed on is the one SNS
// signed, every signed field exactly as SNS wrote it (the Timestamp's
// trailing zero too).
func TestFeedbackHandsOverTheSignedText(t *testing.T) {
	h := &messageHandler{}
	resp, err := Feedback(h, nil)(context.Background(), events.SQSEvent{Records: []events.SQSMessage{sqsRecord("m1", snsBody(t, "sns-1"))}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Feedback = %+v, %v", resp, err)
	}
	want := feedback.Message{
		Type:             "Notification",
		MessageId:        "sns-1",
		TopicArn:         "arn:aws:sns:eu-west-1:111122223333:radiogram-ses-feedback",
		Subject:          "Amazon SES Email Event Notification",
		Message:          `{"eventType":"Bounce"}`,
		Timestamp:        "2026-03-02T07:28:30.100Z",
		SignatureVersion: "2",
		Signature:        "c2lnbmF0dXJl",
		SigningCertURL:   "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
		UnsubscribeURL:   "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:111122223333:radiogram-ses-feedback:8a21d249",
	}
	if len(h.got) != 1 || h.got[0] != want {
		t.Errorf("handled %+v\nwant %+v", h.got, want)
	}
}

// TestFeedbackPartialBatch: a record that failed for a reason a retry may
// cure is reported back alone; one not provably from SNS is dropped with a
// log line, never retried.
func TestFeedbackPartialBatch(t *testing.T) {
	errForged := fmt.Errorf("verify SNS message: %w", feedback.ErrSignature)
	errTopic := fmt.Errorf("message x: %w", feedback.ErrTopic)
	errStore := errors.New("suppress bounced address: table unavailable")
	errCert := errors.New("fetch signing certificate: connection reset")
	tests := []struct {
		name        string
		records     []events.SQSMessage
		fail        map[string]error // by SNS message id
		wantHandled []string         // SNS message ids, in order
		wantFailed  []string         // SQS message ids reported back
		wantLogged  []string
		wantNoLines bool
	}{
		{name: "no records", wantNoLines: true},
		{
			name:        "all handled",
			records:     []events.SQSMessage{sqsRecord("q1", snsBody(t, "a")), sqsRecord("q2", snsBody(t, "b"))},
			wantHandled: []string{"a", "b"},
			wantNoLines: true,
		},
		{
			name: "a store failure among successes",
			records: []events.SQSMessage{
				sqsRecord("q1", snsBody(t, "a")), sqsRecord("q2", snsBody(t, "store")), sqsRecord("q3", snsBody(t, "b")),
			},
			fail:        map[string]error{"store": errStore},
			wantHandled: []string{"a", "store", "b"},
			wantFailed:  []string{"q2"},
			wantLogged:  []string{`"msg":"feedback failed"`, `"message":"q2"`, `"sns_message_id":"store"`, `"receive_count":"2"`, "table unavailable"},
		},
		{
			name:        "a certificate that could not be fetched is retried",
			records:     []events.SQSMessage{sqsRecord("q1", snsBody(t, "cert"))},
			fail:        map[string]error{"cert": errCert},
			wantHandled: []string{"cert"},
			wantFailed:  []string{"q1"},
			wantLogged:  []string{`"msg":"feedback failed"`, "connection reset"},
		},
		{
			name: "forged and foreign messages are dropped",
			records: []events.SQSMessage{
				sqsRecord("q1", snsBody(t, "forged")), sqsRecord("q2", snsBody(t, "a")), sqsRecord("q3", snsBody(t, "elsewhere")),
			},
			fail:        map[string]error{"forged": errForged, "elsewhere": errTopic},
			wantHandled: []string{"forged", "a", "elsewhere"},
			wantLogged:  []string{`"msg":"feedback dropped: not provably from the feedback topic"`, `"message":"q1"`, `"message":"q3"`, "signature does not verify", "topic not accepted"},
		},
		{
			name: "a body that is no SNS message is dropped unhandled",
			records: []events.SQSMessage{
				sqsRecord("q1", `{"Type": "Notification", "Message": `), sqsRecord("q2", snsBody(t, "a")),
			},
			wantHandled: []string{"a"},
			wantLogged:  []string{`"msg":"feedback dropped: not provably from the feedback topic"`, `"message":"q1"`, "not an SNS message"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := &messageHandler{fail: tt.fail}
			resp, err := Feedback(h, slog.New(slog.NewJSONHandler(&logs, nil)))(context.Background(), events.SQSEvent{Records: tt.records})
			if err != nil {
				t.Fatalf("handler error %v: a failed record must fail alone, not the batch", err)
			}
			var handled, failed []string
			for _, m := range h.got {
				handled = append(handled, m.MessageId)
			}
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if !slices.Equal(handled, tt.wantHandled) {
				t.Errorf("handled %v, want %v", handled, tt.wantHandled)
			}
			if !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("batchItemFailures %v, want %v", failed, tt.wantFailed)
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

// summaryRuns runs every scheduled ingest to the summary it holds.
type summaryRuns struct{ sum ingest.Summary }

func (r summaryRuns) RunScheduled(_ context.Context, startedBy string, _ ingest.Trigger) (ingestruns.Run, bool, error) {
	return ingestruns.Run{ID: "ingest-1", Status: ingestruns.StatusDone, StartedBy: startedBy, Summary: r.sum}, true, nil
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
			run, err := Ingest(summaryRuns{tt.sum})(context.Background(), IngestEvent{Source: "schedule"})
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ingest.ErrAllFeedsFailed)) {
				t.Fatalf("Ingest error = %v, want an error: %v", err, tt.wantErr)
			}
			if sum := run.Summary; sum.FeedsFailed != tt.sum.FeedsFailed || sum.FeedsSkipped != tt.sum.FeedsSkipped {
				t.Errorf("answered %+v, want the run's summary", sum)
			}
		})
	}
}
