package feedback

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the clock of every test; fixture SNS timestamps sit just
// before it.
var testNow = time.Date(2026, 3, 2, 7, 30, 0, 0, time.UTC)

const (
	testCertURL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
	testTopic   = "arn:aws:sns:eu-west-1:111122223333:radiogram-ses-feedback"
)

// Key generation is slow, so the two keys are made once per test binary.
var testKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	a, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	b, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return a, b
})

// selfSigned returns a PEM certificate for key valid from notBefore to
// notAfter, like the one SNS serves (which is CA-issued; nothing here
// checks the chain, trust comes from fetching it from SNS over TLS).
func selfSigned(t testing.TB, key *rsa.PrivateKey, notBefore, notAfter time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// certServer stands in for the SNS certificate host.
type certServer struct {
	mu    sync.Mutex
	certs map[string][]byte
	calls int
}

func (s *certServer) Fetch(_ context.Context, url string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	body, ok := s.certs[url]
	if !ok {
		return nil, errors.New("404 Not Found")
	}
	return body, nil
}

func (s *certServer) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// newTestVerifier returns a Verifier whose certificate host serves a valid
// certificate of the first test key at testCertURL.
func newTestVerifier(t testing.TB) (*Verifier, *certServer) {
	t.Helper()
	key, _ := testKeys()
	srv := &certServer{certs: map[string][]byte{
		testCertURL: selfSigned(t, key, testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0)),
	}}
	return &Verifier{Fetch: srv.Fetch, Now: func() time.Time { return testNow }}, srv
}

// signWith signs m as SNS does: SHA256 for SignatureVersion 2, SHA1 for
// version 1 (which the verifier refuses; tests sign with it to show that). It writes the canonical text out on its
// own rather than calling stringToSign, so that the two check each other.
func signWith(t testing.TB, key *rsa.PrivateKey, m Message) Message {
	t.Helper()
	var b strings.Builder
	field := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	field("Message", m.Message)
	field("MessageId", m.MessageId)
	if m.Type == TypeNotification {
		if m.Subject != "" {
			field("Subject", m.Subject)
		}
	} else {
		field("SubscribeURL", m.SubscribeURL)
	}
	field("Timestamp", m.Timestamp)
	if m.Type != TypeNotification {
		field("Token", m.Token)
	}
	field("TopicArn", m.TopicArn)
	field("Type", m.Type)

	hash, sum := crypto.SHA1, sha1.Sum([]byte(b.String()))
	digest := sum[:]
	if m.SignatureVersion == "2" {
		sum := sha256.Sum256([]byte(b.String()))
		hash, digest = crypto.SHA256, sum[:]
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, hash, digest)
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return m
}

func sign(t testing.TB, m Message) Message {
	key, _ := testKeys()
	return signWith(t, key, m)
}

func snsTime(t time.Time) string { return t.UTC().Format(SNSTimestampLayout) }

// notification is an unsigned SNS notification carrying body, sent a
// minute before testNow.
func notification(body string) Message {
	return Message{
		Type:             TypeNotification,
		MessageId:        "5f1c3b9e-2d4a-5b6c-8e7f-9a0b1c2d3e4f",
		TopicArn:         testTopic,
		Message:          body,
		Timestamp:        snsTime(testNow.Add(-time.Minute)),
		SignatureVersion: "2",
		SigningCertURL:   testCertURL,
		UnsubscribeURL:   "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + testTopic + ":8a21d249",
	}
}

func subscriptionConfirmation(subscribeURL string) Message {
	return Message{
		Type:             TypeSubscriptionConfirmation,
		MessageId:        "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
		Token:            "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
		TopicArn:         testTopic,
		Message:          "You have chosen to subscribe to the topic " + testTopic + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL:     subscribeURL,
		Timestamp:        snsTime(testNow.Add(-2 * time.Minute)),
		SignatureVersion: "2",
		SigningCertURL:   testCertURL,
	}
}

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
