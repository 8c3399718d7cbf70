package feedback

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// seedBodies returns every SES event in testdata and the one in the sample
// Lambda event.
func seedBodies(f *testing.F) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no SES event fixtures: %v", err)
	}
	var bodies []string
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		bodies = append(bodies, string(b))
	}
	for _, m := range sampleLambdaMessages(f) {
		bodies = append(bodies, m.Message)
	}
	return bodies
}

// sampleLambdaMessages reads the SNS messages in the bodies of the sample
// Lambda event (events/feedback-sqs.json).
func sampleLambdaMessages(f *testing.F) []Message {
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "feedback-sqs.json"))
	if err != nil {
		f.Fatal(err)
	}
	var ev struct {
		Records []struct {
			Body string `json:"body"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) == 0 {
		f.Fatalf("sample SQS event: %v", err)
	}
	var out []Message
	for _, r := range ev.Records {
		var m Message
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
			f.Fatalf("sample SQS event: body is not an SNS message: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// FuzzParseSESEventStrict complements FuzzParseSESEvent (sesevent_test.go)
// with the sample Lambda event's body, hostile seeds and stricter checks:
// an error comes with no event; recipients are unique and trimmed; times
// are UTC; the detail has no control characters.
func FuzzParseSESEventStrict(f *testing.F) {
	for _, body := range seedBodies(f) {
		f.Add(body)
	}
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"eventType":""}`,
		`{"eventType":"Bounce"}`,
		`{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[]}}`,
		`{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"  "}]}}`,
		`{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"\"A B\" <A@B.example>"},{"emailAddress":"a@b.example"}]}}`,
		`{"eventType":"Delivery","delivery":{"smtpResponse":"250 ok x@y.example\n\u0000` + strings.Repeat("é", 150) + `"},"mail":{"destination":["Z@Y.example"],"timestamp":"not a time"}}`,
		`{"eventType":"Reject","reject":{"reason":"Bad content"},"mail":{"tags":{"k":["v"]}}}`,
		`{"eventType":"Open","mail":{"destination":[null]}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e, err := ParseSESEvent(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			if e.Kind != "" || e.Recipients != nil {
				t.Fatalf("event %+v returned with error %v", e, err)
			}
			return
		}
		switch e.Kind {
		case KindPermanentBounce, KindTransientBounce, KindComplaint, KindDelivery, KindSend, KindReject, KindOther:
		default:
			t.Fatalf("unknown kind %q", e.Kind)
		}
		if e.Kind.isBounceOrComplaint() && len(e.Recipients) == 0 {
			t.Fatalf("%s without recipients", e.Kind)
		}
		for i, r := range e.Recipients {
			if r == "" || r != strings.ToLower(r) || strings.TrimSpace(r) != r || slices.Contains(e.Recipients[:i], r) {
				t.Fatalf("recipients %q: empty, not lower-case, padded or repeated", e.Recipients)
			}
		}
		if !e.At.IsZero() && e.At.Location() != time.UTC {
			t.Fatalf("time %v is not UTC", e.At)
		}
		if len(e.Detail) > maxDetail+len("…") || !utf8.ValidString(e.Detail) ||
			strings.ContainsFunc(e.Detail, unicode.IsControl) || strings.TrimSpace(e.Detail) != e.Detail {
			t.Fatalf("detail %q is not short, clean, one-line text", e.Detail)
		}
	})
}

// FuzzVerifySNSMessage decodes arbitrary bytes as the SNS message JSON the
// feedback queue or an HTTP endpoint carries and verifies it, with the test
// certificate host (no network). Only a message as the seeds signed it may
// verify: no change to a signed field gets through.
func FuzzVerifySNSMessage(f *testing.F) {
	signed := map[string]bool{} // canonical texts of the messages signed here
	add := func(m Message) {
		b, err := json.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	addSigned := func(m Message) {
		m = sign(f, m)
		canonical, err := stringToSign(m)
		if err != nil {
			f.Fatal(err)
		}
		signed[canonical] = true
		add(m)
	}
	for _, body := range seedBodies(f) {
		addSigned(notification(body))
	}
	withSubject := notification(`{"eventType":"Send","mail":{"destination":["a@b.example"]}}`)
	withSubject.Subject = "Amazon SES Email Event Notification"
	addSigned(withSubject)
	addSigned(subscriptionConfirmation("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + testTopic + "&Token=2336412f"))
	unsub := subscriptionConfirmation("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription")
	unsub.Type = TypeUnsubscribeConfirmation
	addSigned(unsub)
	v1 := notification(`{"eventType":"Send"}`)
	v1.SignatureVersion = "1"
	add(sign(f, v1)) // SHA1: refused
	_, otherKey := testKeys()
	add(signWith(f, otherKey, notification(`{"eventType":"Send"}`)))
	stale := notification(`{"eventType":"Send"}`)
	stale.Timestamp = snsTime(testNow.Add(-2 * time.Hour))
	add(sign(f, stale))
	elsewhere := notification(`{"eventType":"Send"}`)
	elsewhere.SigningCertURL = "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem"
	add(sign(f, elsewhere))
	for _, m := range sampleLambdaMessages(f) {
		add(m)
	}
	for _, s := range []string{``, `{}`, `null`, `{"Type":"Notification"}`, `{"Type":"Notification","Signature":"!!","Timestamp":"x"}`} {
		f.Add([]byte(s))
	}

	v, _ := newTestVerifier(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var m Message
		if json.Unmarshal(raw, &m) != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := v.Verify(ctx, m)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			// Anything but a failed certificate download proves the
			// message untrusted.
			if !errors.Is(err, ErrUntrusted) && !strings.Contains(err.Error(), "404 Not Found") {
				t.Fatalf("error %v neither wraps ErrUntrusted nor is a fetch failure", err)
			}
			return
		}
		canonical, cerr := stringToSign(m)
		if cerr != nil || !signed[canonical] {
			t.Fatalf("message verified that was not signed as it is: %+v", m)
		}
		if m.SigningCertURL != testCertURL || m.SignatureVersion != "2" {
			t.Fatalf("verified with certificate %q, version %q", m.SigningCertURL, m.SignatureVersion)
		}
		if m.Type == TypeNotification {
			// What a verified notification carries is parsed next.
			if _, err := ParseSESEvent(m.Message); err != nil && err.Error() == "" {
				t.Fatal("empty error")
			}
		}
	})
}
