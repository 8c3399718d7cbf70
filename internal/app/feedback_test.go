package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/radiogram/radiogram/internal/config"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/lambdaevents"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// feedbackPipe is the feedback path of a test stack as the cloud runs it:
// SES's events are published to the stack's feedback topic on moto, moto's
// SNS delivers each, signed, to the feedback queue, and the feedback
// function's handler consumes the queue in-process, verifying each
// signature against the certificate moto serves.
type feedbackPipe struct {
	t        *testing.T
	a        *App
	sqs      *sqs.Client
	topic    string
	queueURL string
	dlqURL   string
	mu       sync.Mutex
	received map[string]int    // SQS bodies handed to the handler, by SNS message id
	bodies   map[string]string // the last body of each SNS message id
}

func newFeedbackPipe(t *testing.T, a *App) *feedbackPipe {
	t.Helper()
	out := stackOf(a).env.Outputs
	p := &feedbackPipe{
		t: t, a: a, sqs: sqs.NewFromConfig(a.AWS),
		topic: out["FeedbackTopicArn"], queueURL: out["FeedbackQueueUrl"], dlqURL: out["FeedbackDeadLetterQueueUrl"],
		received: map[string]int{}, bodies: map[string]string{},
	}
	if p.topic == "" || p.queueURL == "" || p.dlqURL == "" {
		t.Fatalf("the stack lacks a feedback output: %v", out)
	}
	return p
}

// publish publishes an SES event to the feedback topic, as the
// configuration set's event destination does, and returns SNS's message id.
func (p *feedbackPipe) publish(sesEvent any) string {
	p.t.Helper()
	body, err := json.Marshal(sesEvent)
	if err != nil {
		p.t.Fatal(err)
	}
	id, err := stackOf(p.a).env.Publish(context.Background(), p.topic, string(body))
	if err != nil {
		p.t.Fatal(err)
	}
	return id
}

// drain consumes the feedback queue with the feedback function's handler
// until it stays empty, failed records visible again at once.
func (p *feedbackPipe) drain() {
	p.t.Helper()
	handle := lambdaevents.Feedback(p.a.Feedback(), p.a.Log)
	consume(p.t, &lambdaevents.SQSSource{Queue: p.a.QueueAt(p.queueURL), Log: p.a.Log, RetryDelay: 0,
		Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			p.mu.Lock()
			for _, r := range ev.Records {
				var m struct{ MessageId string }
				_ = json.Unmarshal([]byte(r.Body), &m)
				p.received[m.MessageId]++
				p.bodies[m.MessageId] = r.Body
			}
			p.mu.Unlock()
			return handle(ctx, ev)
		},
	}, time.Minute)
}

// maxReceiveCount is the feedback queue's, as deployed.
func (p *feedbackPipe) maxReceiveCount() int {
	p.t.Helper()
	attrs, err := p.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: &p.queueURL, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		p.t.Fatal(err)
	}
	var redrive struct {
		DeadLetterTargetArn string      `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.Number `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &redrive); err != nil {
		p.t.Fatalf("redrive policy %q: %v", attrs.Attributes["RedrivePolicy"], err)
	}
	if !strings.HasSuffix(redrive.DeadLetterTargetArn, ":"+p.dlqURL[strings.LastIndex(p.dlqURL, "/")+1:]) {
		p.t.Fatalf("the feedback queue redrives to %s, not its dead-letter queue %s", redrive.DeadLetterTargetArn, p.dlqURL)
	}
	n, err := strconv.Atoi(redrive.MaxReceiveCount.String())
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

// sesBounce is an SES bounce event as the configuration set publishes it.
func sesBounce(messageID, to, bounceType, subType string, at time.Time) map[string]any {
	status, diagnostic := "5.1.1", "smtp; 550 5.1.1 <"+to+">: user unknown"
	if bounceType != "Permanent" {
		status, diagnostic = "4.2.2", "smtp; 452 4.2.2 mailbox full"
	}
	return map[string]any{
		"eventType": "Bounce",
		"bounce": map[string]any{
			"bounceType": bounceType, "bounceSubType": subType, "timestamp": at.UTC().Format(time.RFC3339Nano),
			"bouncedRecipients": []map[string]any{{"emailAddress": to, "action": "failed", "status": status, "diagnosticCode": diagnostic}},
		},
		"mail": sesMail(messageID, to, at),
	}
}

func sesComplaint(messageID, to string, at time.Time) map[string]any {
	return map[string]any{
		"eventType": "Complaint",
		"complaint": map[string]any{
			"complaintFeedbackType": "abuse", "timestamp": at.UTC().Format(time.RFC3339Nano),
			"complainedRecipients": []map[string]any{{"emailAddress": to}},
		},
		"mail": sesMail(messageID, to, at),
	}
}

func sesMail(messageID, to string, at time.Time) map[string]any {
	return map[string]any{
		"timestamp": at.Add(-time.Minute).UTC().Format(time.RFC3339Nano), "messageId": messageID,
		"source": "news@radiogram.test", "destination": []string{to},
		"tags": map[string][]string{"kind": {"digest"}},
	}
}

// newsServer serves one society feed whose news grows by one AI item each
// time publish is called.
func newsServer(t *testing.T) (*feedServer, func()) {
	t.Helper()
	var published atomic.Int64
	published.Store(2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>ESR news</title><link>https://esr.example/</link>`)
		for i := range published.Load() {
			fmt.Fprintf(w, `<item><guid>esr-ai-%d</guid><title>Artificial intelligence triage study %d</title><link>https://esr.example/news/%d</link>`+
				`<description>A deep learning algorithm for AI triage of chest radiographs, validated in a multicentre study.</description></item>`, i, i, i)
		}
		fmt.Fprint(w, `</channel></rss>`)
	}))
	t.Cleanup(srv.Close)
	return &feedServer{Server: srv}, func() { published.Add(1) }
}

// TestBounceFeedbackSuppresses sends real digests, then publishes SES
// bounce and complaint events for them to the stack's feedback topic on
// moto, which delivers them, signed, to the feedback queue that the
// feedback function's handler consumes: permanent bounces, complaints and
// repeated transient bounces suppress, the ledger notes the feedback, a
// forged notification slipped into the queue is dropped and changes
// nothing, a genuine notification that cannot be handled ends in the
// dead-letter queue after maxReceiveCount receives, and the next send skips
// the suppressed.
func TestBounceFeedbackSuppresses(t *testing.T) {
	t.Parallel()
	fs, publish := newsServer(t)
	a := newTestApp(t, fs.writeRegistry(t, []feedDef{{society: "esr", path: "/esr/news"}}))
	newTestAPI(t, a)
	ctx := context.Background()
	if sum, err := a.Ingest.Run(ctx, ingest.TriggerSchedule); err != nil || sum.ItemsNew != 2 {
		t.Fatalf("first ingest: %+v, %v", sum, err)
	}

	var every []string // every topic: each item is for everyone
	for _, topic := range a.Taxonomy.Topics() {
		every = append(every, topic.ID)
	}
	const (
		bounced    = "bounced@hospital.test"
		complained = "complained@hospital.test"
		transient3 = "transient3@hospital.test" // three transient bounces: suppressed
		transient2 = "transient2@hospital.test" // two, one of them delivered twice: not
		stale      = "stale@hospital.test"      // three, one outside the window: not
		reader     = "reader@hospital.test"     // a forged bounce only
	)
	ids := map[string]string{}
	for _, email := range []string{bounced, complained, transient3, transient2, stale, reader} {
		ids[email] = addConfirmed(t, a, email, subscribers.Preferences{Topics: every, Frequency: subscribers.Daily, Hour: 7, TimeZone: "UTC"}).ID
	}
	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sendNow := func(runID string) delivery.Report {
		t.Helper()
		rep, err := a.Planner().Plan(ctx, delivery.Request{RunID: runID, Target: delivery.Target{Kind: delivery.TargetAll}, Until: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		drain(t, a, sender)
		return rep
	}
	if rep := sendNow("first"); rep.Planned != len(ids) {
		t.Fatalf("first send: %+v; want all %d planned", rep, len(ids))
	}

	// SES's message id of each reader's digest, from the ledger.
	messageIDs := map[string]string{}
	for email, id := range ids {
		history, err := a.Ledger.History(ctx, id, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(history) != 1 || history[0].Status != delivery.LedgerSent || history[0].MessageID == "" {
			t.Fatalf("%s: ledger %+v; want one sent entry with a message id", email, history)
		}
		messageIDs[email] = history[0].MessageID
	}

	pipe := newFeedbackPipe(t, a)
	now := time.Now().UTC()
	transient := func(email string, ago time.Duration) map[string]any {
		return sesBounce(messageIDs[email], email, "Transient", "MailboxFull", now.Add(-ago))
	}
	genuine := []string{
		pipe.publish(sesBounce(messageIDs[bounced], bounced, "Permanent", "General", now)),
		pipe.publish(sesComplaint(messageIDs[complained], complained, now)),
		pipe.publish(transient(transient3, 3*time.Hour)),
		pipe.publish(transient(transient3, 2*time.Hour)),
		pipe.publish(transient(transient3, time.Hour)),
		pipe.publish(transient(transient2, 2*time.Hour)),
		pipe.publish(transient(transient2, 2*time.Hour)), // SES and SNS deliver at least once
		pipe.publish(transient(stale, 40*24*time.Hour)),
		pipe.publish(transient(stale, 2*time.Hour)),
		pipe.publish(transient(stale, time.Hour)),
	}
	// A poison notification: genuine, signed, but no SES event Radiogram
	// can read (a bounce without its bounce object).
	poison := pipe.publish(map[string]any{"eventType": "Bounce", "mail": sesMail(messageIDs[reader], reader, now)})
	maxReceives := pipe.maxReceiveCount()
	pipe.drain()

	for i, id := range genuine {
		if n := pipe.received[id]; n != 1 {
			t.Errorf("notification %d was received %d times, want once (handled the first time)", i, n)
		}
	}
	if n := pipe.received[poison]; n != maxReceives {
		t.Errorf("the poison notification was received %d times, want maxReceiveCount %d", n, maxReceives)
	}
	dead := receiveAll(t, pipe.sqs, pipe.dlqURL)
	if len(dead) != 1 || dead[pipe.bodies[poison]] != 1 {
		t.Errorf("the feedback dead-letter queue holds %d bodies, want only the poison notification once", len(dead))
	}

	// A forged bounce: a genuine notification's body, altered to suppress
	// another reader, sent straight to the queue (which only the topic
	// could in the cloud). It is dropped: received once, never retried,
	// never kept.
	forged := strings.ReplaceAll(pipe.bodies[genuine[0]], bounced, reader)
	forged = strings.ReplaceAll(forged, messageIDs[bounced], messageIDs[reader])
	if forged == pipe.bodies[genuine[0]] {
		t.Fatal("the forgery changed nothing")
	}
	if _, err := pipe.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &pipe.queueURL, MessageBody: &forged}); err != nil {
		t.Fatal(err)
	}
	pipe.drain()
	if n := pipe.received[genuine[0]]; n != 2 {
		t.Errorf("the forged notification was received %d times, want once (dropped, not retried)", n-1)
	}
	if left := receiveAll(t, pipe.sqs, pipe.queueURL); len(left) != 0 {
		t.Errorf("the feedback queue still holds %d notifications", len(left))
	}
	if dead := receiveAll(t, pipe.sqs, pipe.dlqURL); len(dead) != 0 {
		t.Errorf("the forgery went to the dead-letter queue: %d bodies there", len(dead))
	}

	wantSuppressed := map[string]subscribers.Reason{
		bounced: subscribers.ReasonBounced, complained: subscribers.ReasonComplained, transient3: subscribers.ReasonBounced,
	}
	wantFeedback := map[string]string{
		bounced: "bounce-permanent", complained: "complaint", transient3: "bounce-transient",
		transient2: "bounce-transient", stale: "bounce-transient", reader: "",
	}
	for email, id := range ids {
		supp, ok, err := a.Suppressions.Get(ctx, a.Hasher.HashEmail(email))
		if err != nil {
			t.Fatal(err)
		}
		if want, suppressed := wantSuppressed[email]; ok != suppressed || supp.Reason != want {
			t.Errorf("%s: suppression %+v (found %v), want reason %q", email, supp, ok, want)
		}
		history, err := a.Ledger.History(ctx, id, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := history[0].Feedback; !strings.HasPrefix(got, wantFeedback[email]) || (got == "") != (wantFeedback[email] == "") {
			t.Errorf("%s: ledger feedback %q, want %q…", email, got, wantFeedback[email])
		}
	}

	// The next send, with news, skips the suppressed.
	publish()
	if sum, err := a.Ingest.Run(ctx, ingest.TriggerManual); err != nil || sum.ItemsNew != 1 {
		t.Fatalf("second ingest: %+v, %v", sum, err)
	}
	rep := sendNow("second")
	if rep.Candidates != len(ids) || rep.Skipped[delivery.SkipSuppressed] != len(wantSuppressed) || rep.Planned != len(ids)-len(wantSuppressed) {
		t.Errorf("second send: %+v; want %d suppressed skipped and %d planned", rep, len(wantSuppressed), len(ids)-len(wantSuppressed))
	}
	for email := range ids {
		want := 2
		if _, suppressed := wantSuppressed[email]; suppressed {
			want = 1
		}
		if n := len(mailbox(t, a, email)); n != want {
			t.Errorf("%s got %d mails, want %d", email, n, want)
		}
	}
}

// sesRecorder is a proxy in front of moto that keeps the SES v2 SendEmail
// requests passing through it: moto accepts a configuration set's name and
// keeps no trace of it, so the request is what proves it was named.
type sesRecorder struct {
	mu    sync.Mutex
	sends []map[string]any
}

func newSESRecorder(t *testing.T, endpoint string) (*sesRecorder, string) {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rec := &sesRecorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v2/email/outbound-emails" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Error(err)
			}
			var in map[string]any
			if err := json.Unmarshal(body, &in); err != nil {
				t.Errorf("SendEmail body %q: %v", body, err)
			}
			rec.mu.Lock()
			rec.sends = append(rec.sends, in)
			rec.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func (r *sesRecorder) Sends() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sends)
}

// TestAPIMailsUseTheConfigurationSet runs the API as its function runs,
// with the environment the template gives the API function alone (not the
// union `make run` uses, in which the sender's would hide a gap), and has
// it mail an admin's test send: SES is asked to send it through the
// stack's configuration set, so that its bounces reach the feedback topic.
func TestAPIMailsUseTheConfigurationSet(t *testing.T) {
	t.Parallel()
	a, _ := newIngestedApp(t)
	ctx := context.Background()
	st := stackOf(a)
	configurationSet := st.env.FunctionEnv("SenderFunction")["RADIOGRAM_SES_CONFIGURATION_SET"]
	if configurationSet == "" {
		t.Fatal("the sender function has no configuration set")
	}

	recorder, endpoint := newSESRecorder(t, motoEndpoint)
	vars := st.env.FunctionEnv("ApiFunction")
	maps.Copy(vars, map[string]string{
		"RADIOGRAM_AWS_ENDPOINT": endpoint,
		// What the test app adds to any function's environment.
		"RADIOGRAM_ADMIN_TOKEN": testAdminToken,
		"RADIOGRAM_FEEDS":       st.vars["RADIOGRAM_FEEDS"],
	})
	api, err := load(ctx, func(k string) string { return vars[k] }, io.Discard, config.API)
	if err != nil {
		t.Fatalf("the API does not start with its function's environment: %v", err)
	}
	if api.Config.ConfigurationSet != configurationSet {
		t.Errorf("the API's configuration set is %q, want the stack's %q", api.Config.ConfigurationSet, configurationSet)
	}
	h, err := api.APIHandler(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	if status, body := adminCall(t, "POST", srv.URL+"/admin/preview/send", `{"topic":"ai","to":"staff@radiogram.test"}`); status != http.StatusAccepted {
		t.Fatalf("test send: %d %v", status, body)
	}
	sends := recorder.Sends()
	if len(sends) != 1 {
		t.Fatalf("%d SES sends, want the test send", len(sends))
	}
	if got := sends[0]["ConfigurationSetName"]; got != configurationSet {
		t.Errorf("the test send's ConfigurationSetName is %v, want %q", got, configurationSet)
	}
	if n := len(mailbox(t, a, "staff@radiogram.test")); n != 1 {
		t.Errorf("%d mails reached the admin, want the test send", n)
	}
}
