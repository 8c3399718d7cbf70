package feedback

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const goodSubscribeURL = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + testTopic + "&Token=2336412f37fb"

func TestStringToSign(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{
			name: "notification with subject",
			m: Message{Type: "Notification", MessageId: "id-1", TopicArn: "arn:t", Subject: "Hi",
				Message: "body\nline", Timestamp: "2026-03-02T07:29:00.000Z", SubscribeURL: "ignored", Token: "ignored"},
			want: "Message\nbody\nline\nMessageId\nid-1\nSubject\nHi\nTimestamp\n2026-03-02T07:29:00.000Z\nTopicArn\narn:t\nType\nNotification\n",
		},
		{
			name: "notification without subject",
			m:    Message{Type: "Notification", MessageId: "id-2", TopicArn: "arn:t", Message: "{}", Timestamp: "T"},
			want: "Message\n{}\nMessageId\nid-2\nTimestamp\nT\nTopicArn\narn:t\nType\nNotification\n",
		},
		{
			name: "subscription confirmation",
			m: Message{Type: "SubscriptionConfirmation", MessageId: "id-3", TopicArn: "arn:t", Subject: "ignored",
				Message: "confirm", Timestamp: "T", Token: "tok", SubscribeURL: "https://s"},
			want: "Message\nconfirm\nMessageId\nid-3\nSubscribeURL\nhttps://s\nTimestamp\nT\nToken\ntok\nTopicArn\narn:t\nType\nSubscriptionConfirmation\n",
		},
		{
			name: "unsubscribe confirmation",
			m:    Message{Type: "UnsubscribeConfirmation", MessageId: "id-4", TopicArn: "arn:t", Message: "bye", Timestamp: "T", Token: "tok", SubscribeURL: "https://s"},
			want: "Message\nbye\nMessageId\nid-4\nSubscribeURL\nhttps://s\nTimestamp\nT\nToken\ntok\nTopicArn\narn:t\nType\nUnsubscribeConfirmation\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stringToSign(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("stringToSign =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestVerifyAcceptsGenuineMessages(t *testing.T) {
	tests := []struct {
		name string
		m    Message
	}{
		{"notification, version 2, with subject", func() Message {
			m := notification(`{"eventType":"Send"}`)
			m.Subject = "Amazon SES Email Event Notification"
			return m
		}()},
		{"notification, version 2, no subject", notification(`{"eventType":"Send"}`)},
		{"subscription confirmation, version 2", subscriptionConfirmation(goodSubscribeURL)},
		{"unsubscribe confirmation, version 2", func() Message {
			m := subscriptionConfirmation(goodSubscribeURL)
			m.Type = TypeUnsubscribeConfirmation
			return m
		}()},
		{"timestamp 4 minutes ahead (clock skew)", func() Message {
			m := notification(`{}`)
			m.Timestamp = snsTime(testNow.Add(4 * time.Minute))
			return m
		}()},
		{"timestamp 59 minutes old", func() Message {
			m := notification(`{}`)
			m.Timestamp = snsTime(testNow.Add(-59 * time.Minute))
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newTestVerifier(t)
			if err := v.Verify(context.Background(), sign(t, tt.m)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyRefusesForgeries(t *testing.T) {
	key, otherKey := testKeys()
	expiredURL := "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-expired.pem"
	futureURL := "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-future.pem"
	garbageURL := "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-garbage.pem"
	missingURL := "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-missing.pem"

	signed := func(mutate func(*Message)) Message {
		m := notification(readFixture(t, "event-bounce-permanent.json"))
		m.Subject = "Amazon SES Email Event Notification"
		m = sign(t, m)
		if mutate != nil {
			mutate(&m)
		}
		return m
	}
	withCert := func(url string) Message {
		m := notification(`{"eventType":"Send"}`)
		m.SigningCertURL = url
		return sign(t, m)
	}

	tests := []struct {
		name string
		m    Message
		want error
		// noFetch: the URL must be refused before anything is downloaded.
		noFetch bool
	}{
		{name: "changed message", m: signed(func(m *Message) {
			m.Message = strings.Replace(m.Message, "Jane.Roe@hospital.example", "victim@hospital.example", 1)
		}), want: ErrSignature},
		{name: "changed subject", m: signed(func(m *Message) { m.Subject = "Something else" }), want: ErrSignature},
		{name: "dropped subject", m: signed(func(m *Message) { m.Subject = "" }), want: ErrSignature},
		{name: "added subject", m: func() Message {
			m := sign(t, notification(`{"eventType":"Send"}`))
			m.Subject = "Added"
			return m
		}(), want: ErrSignature},
		{name: "changed topic", m: signed(func(m *Message) { m.TopicArn = "arn:aws:sns:eu-west-1:444455556666:evil" }), want: ErrSignature},
		{name: "changed timestamp", m: signed(func(m *Message) { m.Timestamp = snsTime(testNow) }), want: ErrSignature},
		{name: "changed type", m: signed(func(m *Message) { m.Type = TypeSubscriptionConfirmation }), want: ErrSignature},
		{name: "changed subscribe URL", m: func() Message {
			m := sign(t, subscriptionConfirmation(goodSubscribeURL))
			m.SubscribeURL = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=other"
			return m
		}(), want: ErrSignature},
		{name: "changed token", m: func() Message {
			m := sign(t, subscriptionConfirmation(goodSubscribeURL))
			m.Token = "forged"
			return m
		}(), want: ErrSignature},
		{name: "wrong key", m: signWith(t, otherKey, notification(`{"eventType":"Send"}`)), want: ErrSignature},
		{name: "version 1 signature labelled version 2", m: func() Message {
			m := notification(`{"eventType":"Send"}`)
			m.SignatureVersion = "1"
			m = sign(t, m)
			m.SignatureVersion = "2"
			return m
		}(), want: ErrSignature},
		{name: "genuine version 1 (SHA1) signature", m: func() Message {
			m := notification(`{"eventType":"Send"}`)
			m.SignatureVersion = "1"
			return sign(t, m)
		}(), want: ErrSignature, noFetch: true},
		{name: "version 2 signature labelled version 1", m: signed(func(m *Message) { m.SignatureVersion = "1" }), want: ErrSignature, noFetch: true},
		{name: "unknown signature version", m: signed(func(m *Message) { m.SignatureVersion = "3" }), want: ErrSignature, noFetch: true},
		{name: "bad base64", m: signed(func(m *Message) { m.Signature = "not*base64!" }), want: ErrSignature, noFetch: true},
		{name: "empty signature", m: signed(func(m *Message) { m.Signature = "" }), want: ErrSignature, noFetch: true},
		{name: "unknown type", m: signed(func(m *Message) { m.Type = "Notice" }), want: ErrMalformed, noFetch: true},
		{name: "http certificate URL", m: withCert("http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"), want: ErrCertificate, noFetch: true},
		{name: "certificate host with evil suffix", m: withCert("https://sns.us-east-1.amazonaws.com.evil.example/cert.pem"), want: ErrCertificate, noFetch: true},
		{name: "SNS name in the path only", m: withCert("https://evil.example/sns.amazonaws.com"), want: ErrCertificate, noFetch: true},
		{name: "SNS name as user info", m: withCert("https://sns.us-east-1.amazonaws.com@evil.example/cert.pem"), want: ErrCertificate, noFetch: true},
		{name: "certificate host with a port", m: withCert("https://sns.us-east-1.amazonaws.com:8443/cert.pem"), want: ErrCertificate, noFetch: true},
		{name: "certificate host without region", m: withCert("https://sns.amazonaws.com/cert.pem"), want: ErrCertificate, noFetch: true},
		{name: "no certificate URL", m: withCert(""), want: ErrCertificate, noFetch: true},
		{name: "expired certificate", m: withCert(expiredURL), want: ErrCertificate},
		{name: "certificate not yet valid", m: withCert(futureURL), want: ErrCertificate},
		{name: "certificate unreadable", m: withCert(garbageURL), want: ErrCertificate},
		{name: "stale timestamp", m: func() Message {
			m := notification(`{"eventType":"Send"}`)
			m.Timestamp = snsTime(testNow.Add(-61 * time.Minute))
			return sign(t, m)
		}(), want: ErrTimestamp, noFetch: true},
		{name: "timestamp too far ahead", m: func() Message {
			m := notification(`{"eventType":"Send"}`)
			m.Timestamp = snsTime(testNow.Add(6 * time.Minute))
			return sign(t, m)
		}(), want: ErrTimestamp, noFetch: true},
		{name: "unreadable timestamp", m: func() Message {
			m := notification(`{"eventType":"Send"}`)
			m.Timestamp = "yesterday"
			return sign(t, m)
		}(), want: ErrMalformed, noFetch: true},
		{name: "certificate download fails", m: withCert(missingURL)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, srv := newTestVerifier(t)
			srv.certs[expiredURL] = selfSigned(t, key, testNow.AddDate(-2, 0, 0), testNow.Add(-time.Hour))
			srv.certs[futureURL] = selfSigned(t, key, testNow.Add(time.Hour), testNow.AddDate(1, 0, 0))
			srv.certs[garbageURL] = []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")

			err := v.Verify(context.Background(), tt.m)
			if err == nil {
				t.Fatal("Verify accepted a message it must refuse")
			}
			if tt.want == nil {
				// Nothing is proved against the message: a retry may succeed.
				if errors.Is(err, ErrUntrusted) {
					t.Errorf("Verify = %v, want an error not wrapping ErrUntrusted", err)
				}
			} else if !errors.Is(err, tt.want) || !errors.Is(err, ErrUntrusted) {
				t.Errorf("Verify = %v, want %v (wrapping ErrUntrusted)", err, tt.want)
			}
			if tt.noFetch && srv.Calls() > 0 {
				t.Errorf("certificate fetched %d times, want none", srv.Calls())
			}
		})
	}
}

// SignatureVersion 1 signs with SHA1, which is no longer collision
// resistant: a genuine version 1 message is refused, and the error says
// why, before any certificate is fetched.
func TestVerifyRefusesSignatureVersion1(t *testing.T) {
	v, srv := newTestVerifier(t)
	for _, m := range []Message{notification(`{"eventType":"Send"}`), subscriptionConfirmation(goodSubscribeURL)} {
		m.SignatureVersion = "1"
		err := v.Verify(context.Background(), sign(t, m))
		if !errors.Is(err, ErrSignature) || !errors.Is(err, ErrUntrusted) {
			t.Fatalf("Verify(version 1 %s) = %v, want ErrSignature", m.Type, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "version 1") || !strings.Contains(msg, "SHA1") {
			t.Errorf("error %q does not say that signature version 1 (SHA1) is refused", msg)
		}
	}
	if srv.Calls() > 0 {
		t.Errorf("%d certificate fetches for refused version 1 messages, want none", srv.Calls())
	}
}

func TestVerifyCachesCertificates(t *testing.T) {
	v, srv := newTestVerifier(t)
	m := sign(t, notification(`{"eventType":"Send"}`))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- v.Verify(context.Background(), m) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	if err := v.Verify(context.Background(), m); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// Concurrent first uses may each fetch; later ones must not.
	first := srv.Calls()
	if first < 1 || first > 8 {
		t.Fatalf("fetched %d times", first)
	}
	if err := v.Verify(context.Background(), m); err != nil || srv.Calls() != first {
		t.Errorf("Verify = %v after %d fetches, want a cached certificate", err, srv.Calls())
	}

	// A cached certificate that has since expired is refused.
	later := testNow.AddDate(2, 0, 0)
	v.Now = func() time.Time { return later }
	m2 := notification(`{"eventType":"Send"}`)
	m2.Timestamp = snsTime(later.Add(-time.Minute))
	if err := v.Verify(context.Background(), sign(t, m2)); !errors.Is(err, ErrCertificate) {
		t.Errorf("Verify with an expired cached certificate = %v, want ErrCertificate", err)
	}
}

func TestDefaultCertHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"sns.us-east-1.amazonaws.com", true},
		{"sns.eu-west-1.amazonaws.com", true},
		{"sns.cn-north-1.amazonaws.com.cn", true},
		{"sns.us-gov-west-1.amazonaws.com", true},
		{"sns.amazonaws.com", false},
		{"sns.us-east-1.amazonaws.com.evil.example", false},
		{"evil.example", false},
		{"xsns.us-east-1.amazonaws.com", false},
		{"sns.us-east-1.amazonaws.com:443", false},
		{"sns.us_east_1.amazonaws.com", false},
		{"SNS.US-EAST-1.AMAZONAWS.COM", false},
		{"sns.evil.example.amazonaws.com.evil", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := DefaultCertHost(tt.host); got != tt.want {
			t.Errorf("DefaultCertHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestVerifierCustomCertHost(t *testing.T) {
	key, _ := testKeys()
	const url = "https://sns.test.internal/cert.pem"
	srv := &certServer{certs: map[string][]byte{url: selfSigned(t, key, testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))}}
	m := notification(`{"eventType":"Send"}`)
	m.SigningCertURL = url
	m = sign(t, m)

	v := &Verifier{Fetch: srv.Fetch, Now: func() time.Time { return testNow }}
	if err := v.Verify(context.Background(), m); !errors.Is(err, ErrCertificate) {
		t.Fatalf("default CertHost: Verify = %v, want ErrCertificate", err)
	}
	v.CertHost = func(host string) bool { return host == "sns.test.internal" }
	if err := v.Verify(context.Background(), m); err != nil {
		t.Fatalf("custom CertHost: Verify = %v", err)
	}
}

func TestFetchPEM(t *testing.T) {
	key, _ := testKeys()
	cert := selfSigned(t, key, testNow, testNow.AddDate(1, 0, 0))
	mux := http.NewServeMux()
	mux.HandleFunc("/cert.pem", func(w http.ResponseWriter, _ *http.Request) { w.Write(cert) })
	mux.HandleFunc("/huge.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(strings.Repeat("A", maxCertBytes+1)))
	})
	mux.HandleFunc("/moved.pem", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/cert.pem", http.StatusFound)
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	client := newCertClient(srv.Client().Transport)

	got, err := fetchPEM(context.Background(), client, srv.URL+"/cert.pem")
	if err != nil || string(got) != string(cert) {
		t.Fatalf("fetchPEM = %d bytes, %v; want the certificate", len(got), err)
	}
	for _, path := range []string{"/missing.pem", "/huge.pem", "/moved.pem"} {
		if got, err := fetchPEM(context.Background(), client, srv.URL+path); err == nil {
			t.Errorf("fetchPEM(%s) = %d bytes, want an error", path, len(got))
		}
	}
}

// MaxAge widens the replay window for a consumer of a queue only SNS may
// send to: a notification that waited days for a retry still verifies, and
// one older than the window is still refused.
func TestVerifyMaxAge(t *testing.T) {
	const fortnight = 14 * 24 * time.Hour
	tests := []struct {
		name   string
		maxAge time.Duration
		age    time.Duration
		want   error
	}{
		{"default: an hour", 0, 59 * time.Minute, nil},
		{"default: older than an hour", 0, 61 * time.Minute, ErrTimestamp},
		{"a fortnight: 13 days", fortnight, 13 * 24 * time.Hour, nil},
		{"a fortnight: 15 days", fortnight, 15 * 24 * time.Hour, ErrTimestamp},
		{"a fortnight: still no more than 5 minutes ahead", fortnight, -6 * time.Minute, ErrTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newTestVerifier(t)
			v.MaxAge = tt.maxAge
			m := notification(`{"eventType":"Send"}`)
			m.Timestamp = snsTime(testNow.Add(-tt.age))
			err := v.Verify(context.Background(), sign(t, m))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}
