package app

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/feedback"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/lambdaevents"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// The SNS certificate host of the feedback tests: the verifier trusts it
// and fetches from it through an injected function, never the network.
const (
	testCertHost = "sns-certs.radiogram.test"
	testCertURL  = "https://" + testCertHost + "/SimpleNotificationService-test.pem"
)

// snsSigner signs SNS messages with a self-signed certificate, as SNS does
// with its own.
type snsSigner struct {
	topic string // the ARN messages come from
	key   *rsa.PrivateKey
	cert  []byte // PEM
	seq   atomic.Int64
}

func newSNSSigner(t *testing.T, topic string) *snsSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &snsSigner{topic: topic, key: key, cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// verifier checks signatures against the signer's certificate.
func (s *snsSigner) verifier() *feedback.Verifier {
	return &feedback.Verifier{
		CertHost: func(host string) bool { return host == testCertHost },
		Fetch: func(_ context.Context, url string) ([]byte, error) {
			if url != testCertURL {
				return nil, fmt.Errorf("%s: 404 Not Found", url)
			}
			return s.cert, nil
		},
	}
}

// record wraps an SES event in a signed SNS notification, as the Lambda
// event delivers it.
func (s *snsSigner) record(t *testing.T, sesEvent any) events.SNSEventRecord {
	t.Helper()
	body, err := json.Marshal(sesEvent)
	if err != nil {
		t.Fatal(err)
	}
	// SNS timestamps carry milliseconds, and the signature covers that text.
	sent := time.Now().UTC().Truncate(time.Millisecond)
	e := events.SNSEntity{
		Type:             feedback.TypeNotification,
		MessageID:        fmt.Sprintf("0b6e3c2a-6f1d-5a4b-9c8e-%012d", s.seq.Add(1)),
		TopicArn:         s.topic,
		Message:          string(body),
		Timestamp:        sent,
		SignatureVersion: "2",
		SigningCertURL:   testCertURL,
	}
	canonical := "Message\n" + e.Message + "\nMessageId\n" + e.MessageID + "\nTimestamp\n" + sent.Format("2006-01-02T15:04:05.000Z") +
		"\nTopicArn\n" + e.TopicArn + "\nType\n" + e.Type + "\n"
	sum := sha256.Sum256([]byte(canonical))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	e.Signature = base64.StdEncoding.EncodeToString(sig)
	return events.SNSEventRecord{EventVersion: "1.0", EventSource: "aws:sns", SNS: e}
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

// TestBounceFeedbackSuppresses sends real digests, then feeds SES bounce
// and complaint events for them through signed SNS notifications to the
// feedback processor: permanent bounces, complaints and repeated transient
// bounces suppress, the ledger notes the feedback, a forged notification
// changes nothing, and the next send skips the suppressed.
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

	signer := newSNSSigner(t, stackOf(a).env.Outputs["FeedbackTopicArn"])
	processor := a.Feedback()
	processor.Verifier = signer.verifier()
	handleSNS := lambdaevents.Feedback(processor, a.Log)
	now := time.Now().UTC()
	transient := func(email string, ago time.Duration) map[string]any {
		return sesBounce(messageIDs[email], email, "Transient", "MailboxFull", now.Add(-ago))
	}
	twice := signer.record(t, transient(transient2, 2*time.Hour))
	notifications := []events.SNSEventRecord{
		signer.record(t, sesBounce(messageIDs[bounced], bounced, "Permanent", "General", now)),
		signer.record(t, sesComplaint(messageIDs[complained], complained, now)),
		signer.record(t, transient(transient3, 3*time.Hour)),
		signer.record(t, transient(transient3, 2*time.Hour)),
		signer.record(t, transient(transient3, time.Hour)),
		twice,
		twice, // SNS and Lambda deliver at least once
		signer.record(t, transient(stale, 40*24*time.Hour)),
		signer.record(t, transient(stale, 2*time.Hour)),
		signer.record(t, transient(stale, time.Hour)),
	}
	for i, rec := range notifications {
		if err := handleSNS(ctx, events.SNSEvent{Records: []events.SNSEventRecord{rec}}); err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
	}

	// A forged bounce: signed for one message, then altered to suppress
	// another reader.
	forged := signer.record(t, sesBounce(messageIDs[bounced], bounced, "Permanent", "General", now))
	forged.SNS.Message = strings.ReplaceAll(forged.SNS.Message, bounced, reader)
	forged.SNS.Message = strings.ReplaceAll(forged.SNS.Message, messageIDs[bounced], messageIDs[reader])
	if err := handleSNS(ctx, events.SNSEvent{Records: []events.SNSEventRecord{forged}}); !errors.Is(err, feedback.ErrUntrusted) {
		t.Errorf("a forged notification: %v, want ErrUntrusted", err)
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
