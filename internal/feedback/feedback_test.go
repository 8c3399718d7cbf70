package feedback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/subscribers"
)

// memSuppressions is an in-memory Suppressor; Put fails for hashes in fail.
type memSuppressions struct {
	mu   sync.Mutex
	got  map[string]subscribers.Suppression
	fail map[string]bool
}

func (m *memSuppressions) Put(_ context.Context, s subscribers.Suppression) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail[s.EmailHash] {
		return errors.New("table unavailable")
	}
	if m.got == nil {
		m.got = make(map[string]subscribers.Suppression)
	}
	m.got[s.EmailHash] = s
	return nil
}

// memTransients keeps the times of each address's transient bounces and
// counts those within the window, a repeated time once.
type memTransients struct {
	mu    sync.Mutex
	times map[string][]time.Time
	calls int
}

func (m *memTransients) AddTransient(_ context.Context, hash string, at time.Time, window time.Duration) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.times == nil {
		m.times = make(map[string][]time.Time)
	}
	if !slices.ContainsFunc(m.times[hash], at.Equal) {
		m.times[hash] = append(m.times[hash], at)
	}
	n := 0
	for _, t := range m.times[hash] {
		if !t.After(at) && at.Sub(t) < window {
			n++
		}
	}
	return n, nil
}

type memSendLog struct {
	mu     sync.Mutex
	events []Event
}

func (m *memSendLog) RecordFeedback(_ context.Context, messageID string, e Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if messageID != e.MessageID {
		return fmt.Errorf("message id %q for event of %q", messageID, e.MessageID)
	}
	m.events = append(m.events, e)
	return nil
}

func (m *memSendLog) kinds() []Kind {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Kind
	for _, e := range m.events {
		out = append(out, e.Kind)
	}
	return out
}

type fixture struct {
	p            *Processor
	suppressions *memSuppressions
	transients   *memTransients
	sendLog      *memSendLog
	logs         *bytes.Buffer
}

func newFixture(t testing.TB) fixture {
	v, _ := newTestVerifier(t)
	f := fixture{
		suppressions: &memSuppressions{},
		transients:   &memTransients{},
		sendLog:      &memSendLog{},
		logs:         &bytes.Buffer{},
	}
	f.p = &Processor{
		Verifier:     v,
		Suppressions: f.suppressions,
		Transients:   f.transients,
		Hasher:       testHasher,
		SendLog:      f.sendLog,
		Log:          slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return f
}

// testHasher keys addresses in the tests' suppressions.
var testHasher = func() subscribers.AddressHasher {
	h, err := subscribers.NewAddressHasher(strings.Repeat("pepper-", 6))
	if err != nil {
		panic(err)
	}
	return h
}()

// signedFixture is a genuine SNS notification carrying a testdata file.
func signedFixture(t testing.TB, name string) Message {
	return sign(t, notification(readFixture(t, name)))
}

func TestHandle(t *testing.T) {
	hash := testHasher.HashEmail
	bounceAt := time.Date(2026, 3, 2, 7, 5, 44, 20e6, time.UTC) // of event-bounce-transient.json
	tests := []struct {
		name  string
		msg   func(t *testing.T) Message
		setup func(f fixture)
		// wantSuppressed maps each address that must end up suppressed to
		// its reason; no other address may be.
		wantSuppressed map[string]subscribers.Reason
		wantAt         time.Time // of every suppression, if set
		wantCounts     int       // calls to the transient counter
		wantSendLog    []Kind
		wantErr        error // nil: success
		wantAnyErr     bool  // an error that is not ErrUntrusted
	}{
		{
			name: "permanent bounce suppresses each recipient",
			msg:  func(t *testing.T) Message { return signedFixture(t, "event-bounce-permanent.json") },
			wantSuppressed: map[string]subscribers.Reason{
				"jane.roe@hospital.example": subscribers.ReasonBounced,
				"j.doe@clinic.example":      subscribers.ReasonBounced,
			},
			wantAt:      time.Date(2026, 3, 2, 7, 1, 12, 431e6, time.UTC),
			wantSendLog: []Kind{KindPermanentBounce},
		},
		{
			name:           "classic bounce notification suppresses",
			msg:            func(t *testing.T) Message { return signedFixture(t, "notification-bounce.json") },
			wantSuppressed: map[string]subscribers.Reason{"former.member@society.example": subscribers.ReasonBounced},
			wantSendLog:    []Kind{KindPermanentBounce},
		},
		{
			name:           "complaint suppresses",
			msg:            func(t *testing.T) Message { return signedFixture(t, "event-complaint.json") },
			wantSuppressed: map[string]subscribers.Reason{"angry.reader@mail.example": subscribers.ReasonComplained},
			wantAt:         time.Date(2026, 3, 3, 12, 30, 15, 0, time.UTC),
			wantSendLog:    []Kind{KindComplaint},
		},
		{
			name: "classic complaint notification with subject suppresses",
			msg: func(t *testing.T) Message {
				m := notification(readFixture(t, "notification-complaint.json"))
				m.Subject = "Amazon SES Email Event Notification"
				return sign(t, m)
			},
			wantSuppressed: map[string]subscribers.Reason{"reader@isp.example": subscribers.ReasonComplained},
			wantSendLog:    []Kind{KindComplaint},
		},
		{
			name:        "first transient bounce only counts",
			msg:         func(t *testing.T) Message { return signedFixture(t, "event-bounce-transient.json") },
			wantCounts:  1,
			wantSendLog: []Kind{KindTransientBounce},
		},
		{
			name: "transient bounce below threshold only counts",
			msg:  func(t *testing.T) Message { return signedFixture(t, "event-bounce-transient.json") },
			setup: func(f fixture) {
				// One old enough to have left the window, one within it.
				f.transients.times = map[string][]time.Time{hash("busy.reader@radiology.example"): {
					bounceAt.AddDate(0, 0, -45), bounceAt.AddDate(0, 0, -3),
				}}
			},
			wantCounts:  1,
			wantSendLog: []Kind{KindTransientBounce},
		},
		{
			name: "transient bounce reaching the threshold suppresses",
			msg:  func(t *testing.T) Message { return signedFixture(t, "event-bounce-transient.json") },
			setup: func(f fixture) {
				f.transients.times = map[string][]time.Time{hash("busy.reader@radiology.example"): {
					bounceAt.AddDate(0, 0, -20), bounceAt.AddDate(0, 0, -3),
				}}
			},
			wantSuppressed: map[string]subscribers.Reason{"busy.reader@radiology.example": subscribers.ReasonBounced},
			wantAt:         bounceAt,
			wantCounts:     1,
			wantSendLog:    []Kind{KindTransientBounce},
		},
		{
			name:           "undetermined bounce counts as transient, custom threshold",
			msg:            func(t *testing.T) Message { return signedFixture(t, "event-bounce-undetermined.json") },
			setup:          func(f fixture) { f.p.TransientThreshold = 1 },
			wantSuppressed: map[string]subscribers.Reason{"unsure@imaging.example": subscribers.ReasonBounced},
			wantCounts:     1,
			wantSendLog:    []Kind{KindTransientBounce},
		},
		{
			name:        "delivery goes to the send log only",
			msg:         func(t *testing.T) Message { return signedFixture(t, "event-delivery.json") },
			wantSendLog: []Kind{KindDelivery},
		},
		{
			name:        "send goes to the send log only",
			msg:         func(t *testing.T) Message { return signedFixture(t, "event-send.json") },
			wantSendLog: []Kind{KindSend},
		},
		{
			name:        "reject changes nothing but the send log",
			msg:         func(t *testing.T) Message { return signedFixture(t, "event-reject.json") },
			wantSendLog: []Kind{KindReject},
		},
		{
			name:        "open changes nothing but the send log",
			msg:         func(t *testing.T) Message { return signedFixture(t, "event-open.json") },
			wantSendLog: []Kind{KindOther},
		},
		{
			name: "SES test notification changes nothing",
			msg:  func(t *testing.T) Message { return signedFixture(t, "notification-subscription-succeeded.json") },
		},
		{
			name:  "no send log is fine",
			msg:   func(t *testing.T) Message { return signedFixture(t, "event-delivery.json") },
			setup: func(f fixture) { f.p.SendLog = nil },
		},
		{
			name: "forged message changes nothing",
			msg: func(t *testing.T) Message {
				m := signedFixture(t, "event-delivery.json")
				m.Message = readFixture(t, "event-bounce-permanent.json")
				return m
			},
			wantErr: ErrSignature,
		},
		{
			name: "unsigned message changes nothing",
			msg: func(t *testing.T) Message {
				return notification(readFixture(t, "event-complaint.json"))
			},
			wantErr: ErrSignature,
		},
		{
			name: "replayed message changes nothing",
			msg: func(t *testing.T) Message {
				m := notification(readFixture(t, "event-complaint.json"))
				m.Timestamp = snsTime(testNow.Add(-2 * time.Hour))
				return sign(t, m)
			},
			wantErr: ErrTimestamp,
		},
		{
			name:    "genuine message from a topic not accepted changes nothing",
			msg:     func(t *testing.T) Message { return signedFixture(t, "event-complaint.json") },
			setup:   func(f fixture) { f.p.TopicARNs = []string{"arn:aws:sns:eu-west-1:111122223333:other"} },
			wantErr: ErrTopic,
		},
		{
			name:       "genuine message that is not an SES event is an error",
			msg:        func(t *testing.T) Message { return sign(t, notification("hello")) },
			wantAnyErr: true,
		},
		{
			name: "store failure for one recipient still suppresses the other",
			msg:  func(t *testing.T) Message { return signedFixture(t, "event-bounce-permanent.json") },
			setup: func(f fixture) {
				f.suppressions.fail = map[string]bool{hash("jane.roe@hospital.example"): true}
			},
			wantSuppressed: map[string]subscribers.Reason{"j.doe@clinic.example": subscribers.ReasonBounced},
			wantSendLog:    []Kind{KindPermanentBounce},
			wantAnyErr:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			err := f.p.Handle(context.Background(), tt.msg(t))
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrUntrusted) {
					t.Fatalf("Handle = %v, want %v", err, tt.wantErr)
				}
			case tt.wantAnyErr:
				if err == nil || errors.Is(err, ErrUntrusted) {
					t.Fatalf("Handle = %v, want an error that is not ErrUntrusted", err)
				}
			case err != nil:
				t.Fatalf("Handle: %v", err)
			}

			want := map[string]subscribers.Reason{}
			for addr, reason := range tt.wantSuppressed {
				want[hash(addr)] = reason
			}
			got := map[string]subscribers.Reason{}
			for h, s := range f.suppressions.got {
				got[h] = s.Reason
				if !tt.wantAt.IsZero() && !s.At.Equal(tt.wantAt) {
					t.Errorf("suppression at %v, want the event's time %v", s.At, tt.wantAt)
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("suppressions = %v, want %v", got, want)
			}
			if f.transients.calls != tt.wantCounts {
				t.Errorf("transient counter called %d times, want %d", f.transients.calls, tt.wantCounts)
			}
			if got := f.sendLog.kinds(); !slices.Equal(got, tt.wantSendLog) {
				t.Errorf("send log = %v, want %v", got, tt.wantSendLog)
			}
		})
	}
}

// With TopicARNs set, a message from another topic is refused on its topic
// alone: whatever it claims, it costs no certificate download (which an
// attacker could otherwise trigger at will) and no signature check.
func TestHandleRefusesForeignTopicBeforeFetching(t *testing.T) {
	f := newFixture(t)
	f.p.TopicARNs = []string{"arn:aws:sns:eu-west-1:111122223333:other"}
	f.p.Verifier.Fetch = func(_ context.Context, url string) ([]byte, error) {
		t.Errorf("certificate %s fetched for a message from a topic not accepted", url)
		return nil, errors.New("no fetch expected")
	}
	for name, m := range map[string]Message{
		"genuine":                   signedFixture(t, "event-complaint.json"),
		"unsigned":                  notification(readFixture(t, "event-complaint.json")),
		"subscription confirmation": sign(t, subscriptionConfirmation(goodSubscribeURL)),
	} {
		err := f.p.Handle(context.Background(), m)
		if !errors.Is(err, ErrTopic) || !errors.Is(err, ErrUntrusted) {
			t.Errorf("%s: Handle = %v, want ErrTopic", name, err)
		}
	}
	if len(f.suppressions.got) > 0 || f.transients.calls > 0 || len(f.sendLog.kinds()) > 0 {
		t.Errorf("a refused message changed state: %v suppressions, %d counts, send log %v",
			f.suppressions.got, f.transients.calls, f.sendLog.kinds())
	}
}

func TestHandleTransientBouncesAccumulate(t *testing.T) {
	f := newFixture(t)
	body := readFixture(t, "event-bounce-transient.json")
	first := time.Date(2026, 3, 2, 7, 5, 44, 20e6, time.UTC)
	addr := "busy.reader@radiology.example"
	for i := range DefaultTransientThreshold {
		// Each day another transient bounce of the same address.
		at := first.AddDate(0, 0, i).Format(time.RFC3339Nano)
		m := sign(t, notification(strings.ReplaceAll(body, "2026-03-02T07:05:44.020Z", at)))
		if err := f.p.Handle(context.Background(), m); err != nil {
			t.Fatalf("bounce %d: %v", i+1, err)
		}
		_, suppressed := f.suppressions.got[testHasher.HashEmail(addr)]
		if want := i+1 == DefaultTransientThreshold; suppressed != want {
			t.Fatalf("after %d transient bounces suppressed = %v, want %v", i+1, suppressed, want)
		}
	}
}

func TestHandleSubscriptionConfirmation(t *testing.T) {
	tests := []struct {
		name         string
		subscribeURL string
		nilConfirm   bool
		wantErr      error
		wantConfirm  bool
	}{
		{name: "SNS URL is confirmed", subscribeURL: goodSubscribeURL, wantConfirm: true},
		{name: "without ConfirmSubscription only logged", subscribeURL: goodSubscribeURL, nilConfirm: true},
		{name: "evil host refused", subscribeURL: "https://sns.eu-west-1.amazonaws.com.evil.example/?Action=ConfirmSubscription", wantErr: ErrSubscribeURL},
		{name: "evil host with SNS in path refused", subscribeURL: "https://evil.example/sns.eu-west-1.amazonaws.com/", wantErr: ErrSubscribeURL},
		{name: "http refused", subscribeURL: "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription", wantErr: ErrSubscribeURL},
		{name: "empty refused", subscribeURL: "", wantErr: ErrSubscribeURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var confirmed []string
			if !tt.nilConfirm {
				f.p.ConfirmSubscription = func(_ context.Context, url string) error {
					confirmed = append(confirmed, url)
					return nil
				}
			}
			err := f.p.Handle(context.Background(), sign(t, subscriptionConfirmation(tt.subscribeURL)))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrUntrusted) {
					t.Errorf("Handle = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Errorf("Handle: %v", err)
			}
			want := []string(nil)
			if tt.wantConfirm {
				want = []string{tt.subscribeURL}
			}
			if !slices.Equal(confirmed, want) {
				t.Errorf("confirmed %q, want %q", confirmed, want)
			}
			if len(f.suppressions.got) > 0 || len(f.sendLog.events) > 0 {
				t.Error("a subscription confirmation changed suppressions or the send log")
			}
		})
	}
}

func TestHandleRequiresVerifier(t *testing.T) {
	f := newFixture(t)
	f.p.Verifier = nil
	if err := f.p.Handle(context.Background(), signedFixture(t, "event-complaint.json")); err == nil {
		t.Fatal("Handle without a Verifier succeeded")
	}
	if len(f.suppressions.got) > 0 {
		t.Error("Handle without a Verifier suppressed an address")
	}
}

func TestHandleLogsNoAddresses(t *testing.T) {
	f := newFixture(t)
	f.p.TransientThreshold = 1
	fixtures := []string{"event-bounce-permanent.json", "event-complaint.json", "event-bounce-transient.json", "notification-bounce.json", "event-delivery.json"}
	for _, name := range fixtures {
		if err := f.p.Handle(context.Background(), signedFixture(t, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// A record dropped unsigned is logged with its error, not its body.
	handleSQSEvent(context.Background(), f.p, sqsEvent(t, Message{Type: TypeNotification, Message: readFixture(t, "event-complaint.json")}))

	logs := strings.ToLower(f.logs.String())
	for _, addr := range []string{"jane.roe@", "j.doe@", "angry.reader@", "busy.reader@", "former.member@", "reader@hospital"} {
		if strings.Contains(logs, addr) {
			t.Errorf("logs contain the address %s...:\n%s", addr, f.logs)
		}
	}
	for _, want := range []string{testHasher.HashEmail("jane.roe@hospital.example"), "hospital.example", "complained", "feedback dropped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, f.logs)
		}
	}
}

// sqsEvent is the event Lambda's SQS source hands the feedback function:
// each record's body is a message as SNS delivers it to the queue.
func sqsEvent(t *testing.T, msgs ...Message) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	for i, m := range msgs {
		body, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: fmt.Sprintf("sqs-%d", i), Body: string(body), EventSource: "aws:sqs",
			Attributes: map[string]string{"ApproximateReceiveCount": "1"},
		})
	}
	return ev
}

func failedIDs(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func TestHandleSQSEvent(t *testing.T) {
	// Milliseconds ending in zero: handed on any other way than SNS wrote
	// them, the signature would not match.
	bounce := notification(readFixture(t, "event-bounce-permanent.json"))
	bounce.Timestamp = "2026-03-02T07:28:30.100Z"
	complaint := notification(readFixture(t, "event-complaint.json"))
	complaint.MessageId = "0a7c8d3e-1111-5222-9333-444455556666"
	complaint.Timestamp = "2026-03-02T07:29:00.000Z"
	forged := signedFixture(t, "event-delivery.json")
	forged.Message = `{"eventType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"victim@hospital.example"}]},"mail":{"messageId":"x"}}`
	bounced := map[string]subscribers.Reason{
		testHasher.HashEmail("jane.roe@hospital.example"): subscribers.ReasonBounced,
		testHasher.HashEmail("j.doe@clinic.example"):      subscribers.ReasonBounced,
	}
	complained := map[string]subscribers.Reason{testHasher.HashEmail("angry.reader@mail.example"): subscribers.ReasonComplained}

	tests := []struct {
		name       string
		msgs       []Message
		failStore  string // an address hash whose suppression fails
		wantFailed []string
		want       map[string]subscribers.Reason
	}{
		{name: "no records", want: map[string]subscribers.Reason{}},
		{name: "all genuine", msgs: []Message{sign(t, bounce), sign(t, complaint)}, want: merged(bounced, complained)},
		{
			// Dropped, not reported: a retry would not make it genuine.
			name: "one forged among genuine", msgs: []Message{sign(t, bounce), forged, sign(t, complaint)},
			want: merged(bounced, complained),
		},
		{
			// Reported back alone, to be received again.
			name: "a suppression that fails", msgs: []Message{sign(t, bounce), sign(t, complaint)},
			failStore: testHasher.HashEmail("angry.reader@mail.example"), wantFailed: []string{"sqs-1"}, want: bounced,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.failStore != "" {
				f.suppressions.fail = map[string]bool{tt.failStore: true}
			}
			resp, err := handleSQSEvent(context.Background(), f.p, sqsEvent(t, tt.msgs...))
			if err != nil {
				t.Fatalf("handler error %v: records fail alone", err)
			}
			if got := failedIDs(resp); !slices.Equal(got, tt.wantFailed) {
				t.Errorf("batchItemFailures %v, want %v", got, tt.wantFailed)
			}
			got := map[string]subscribers.Reason{}
			for h, s := range f.suppressions.got {
				got[h] = s.Reason
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("suppressions = %v, want %v (a forged complaint must not count)", got, tt.want)
			}
		})
	}
}

func merged(ms ...map[string]subscribers.Reason) map[string]subscribers.Reason {
	out := map[string]subscribers.Reason{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}
