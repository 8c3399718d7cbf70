package feedback

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Message is an Amazon SNS message as SNS posts it to an HTTP endpoint, and
// as it writes it into an SQS body when raw message delivery is off.
type Message struct {
	Type             string `json:"Type"`
	MessageId        string `json:"MessageId"`
	Token            string `json:"Token,omitempty"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject,omitempty"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	SubscribeURL     string `json:"SubscribeURL,omitempty"`
	UnsubscribeURL   string `json:"UnsubscribeURL,omitempty"`
}

// SNS message types.
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// ErrUntrusted is wrapped by every error that means a message is not
// provably from Amazon SNS. The errors below wrap it and say why.
var ErrUntrusted = errors.New("untrusted SNS message")

var (
	// ErrSignature: the signature is missing, undecodable, of a version
	// other than 2 (SHA256; version 1, SHA1, is refused), or does not match
	// the message.
	ErrSignature = fmt.Errorf("%w: signature does not verify", ErrUntrusted)
	// ErrCertificate: the certificate URL is not Amazon SNS over https, or
	// the certificate is unreadable, expired or not RSA.
	ErrCertificate = fmt.Errorf("%w: signing certificate not trusted", ErrUntrusted)
	// ErrTimestamp: the message is too old (a replay) or from the future.
	ErrTimestamp = fmt.Errorf("%w: timestamp outside the accepted window", ErrUntrusted)
	// ErrMalformed: the message has an unknown type or an unreadable
	// timestamp.
	ErrMalformed = fmt.Errorf("%w: malformed message", ErrUntrusted)
)

// Replay bounds: SNS signs its timestamp, so an old message replayed later
// is refused (after Verifier.MaxAge, by default an hour), and a little
// clock skew is forgiven.
const (
	DefaultMaxAge  = time.Hour
	maxClockSkew   = 5 * time.Minute
	maxCertBytes   = 64 << 10
	certTimeout    = 10 * time.Second
	maxCachedCerts = 32
)

var snsHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// DefaultCertHost reports whether host is an Amazon SNS endpoint, the only
// place a signing certificate may come from.
func DefaultCertHost(host string) bool { return snsHost.MatchString(host) }

// Verifier checks SNS message signatures as AWS documents it. The zero
// value is ready to use; it is safe for concurrent use.
type Verifier struct {
	// CertHost reports whether a certificate URL's host may be trusted;
	// nil means DefaultCertHost. The URL must be https whatever it says.
	CertHost func(host string) bool
	// Fetch downloads a PEM certificate; nil means an HTTPS GET with a
	// 10 s timeout and a 64 KiB limit. Tests inject their own.
	Fetch func(ctx context.Context, url string) ([]byte, error)
	Now   func() time.Time
	// MaxAge is how old a message may be; zero means DefaultMaxAge, right
	// for an HTTP endpoint anyone can post to. A consumer of an SQS queue
	// only SNS may send to can wait longer for a message that was retried
	// or put aside in a dead-letter queue.
	MaxAge time.Duration

	mu    sync.Mutex
	certs map[string]*x509.Certificate // parsed certificates by URL
}

// Verify returns nil if m is signed by Amazon SNS and fresh. Errors that
// prove nothing about the message, such as a failed certificate download,
// do not wrap ErrUntrusted: a retry may succeed.
func (v *Verifier) Verify(ctx context.Context, m Message) error {
	canonical, err := stringToSign(m)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("message %s: %w: signature is not base64", m.MessageId, ErrSignature)
	}
	now := v.now()
	sent, err := time.Parse(time.RFC3339, m.Timestamp)
	if err != nil {
		return fmt.Errorf("message %s: %w: timestamp %q", m.MessageId, ErrMalformed, m.Timestamp)
	}
	if age := now.Sub(sent); age > cmp.Or(v.MaxAge, DefaultMaxAge) || age < -maxClockSkew {
		return fmt.Errorf("message %s sent %s: %w", m.MessageId, m.Timestamp, ErrTimestamp)
	}
	if err := v.checkCertURL(m.SigningCertURL); err != nil {
		return fmt.Errorf("message %s: %w", m.MessageId, err)
	}
	// Only SignatureVersion 2 (SHA256) is accepted, checked before any
	// certificate is fetched.
	hash, sum, err := digest(m.SignatureVersion, canonical)
	if err != nil {
		return fmt.Errorf("message %s: %w", m.MessageId, err)
	}
	cert, err := v.certificate(ctx, m.SigningCertURL)
	if err != nil {
		return fmt.Errorf("message %s: %w", m.MessageId, err)
	}
	// A cached certificate may have expired since it was fetched.
	if now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return fmt.Errorf("message %s: %w: certificate valid %s to %s", m.MessageId, ErrCertificate,
			cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("message %s: %w: key is not RSA", m.MessageId, ErrCertificate)
	}
	if err := rsa.VerifyPKCS1v15(key, hash, sum, sig); err != nil {
		return fmt.Errorf("message %s: %w", m.MessageId, ErrSignature)
	}
	return nil
}

// stringToSign builds the canonical "Key\nValue\n" text SNS signs, with the
// keys of each message type in the order AWS documents.
func stringToSign(m Message) (string, error) {
	var keys []string
	switch m.Type {
	case TypeNotification:
		keys = []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		keys = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	default:
		return "", fmt.Errorf("message %s: %w: unknown type %q", m.MessageId, ErrMalformed, m.Type)
	}
	values := map[string]string{
		"Message": m.Message, "MessageId": m.MessageId, "Subject": m.Subject,
		"SubscribeURL": m.SubscribeURL, "Timestamp": m.Timestamp, "Token": m.Token,
		"TopicArn": m.TopicArn, "Type": m.Type,
	}
	var b strings.Builder
	for _, k := range keys {
		// Subject is signed only when the notification has one.
		if k == "Subject" && m.Subject == "" {
			continue
		}
		b.WriteString(k + "\n" + values[k] + "\n")
	}
	return b.String(), nil
}

// digest hashes the canonical text for the message's SignatureVersion.
// Only version 2 (RSA with SHA256) is accepted: version 1 signs a SHA1
// digest, which is no longer collision resistant, and SNS topics sign with
// version 2 once their SignatureVersion attribute is set to 2 (the
// template's feedback topic does).
func digest(version, canonical string) (crypto.Hash, []byte, error) {
	switch version {
	case "2":
		sum := sha256.Sum256([]byte(canonical))
		return crypto.SHA256, sum[:], nil
	case "1":
		return 0, nil, fmt.Errorf("%w: signature version 1 (SHA1) is refused; the topic must sign with SignatureVersion 2 (SHA256)", ErrSignature)
	}
	return 0, nil, fmt.Errorf("%w: signature version %q, only version 2 (SHA256) is accepted", ErrSignature, version)
}

// checkCertURL refuses a certificate that would not come, over TLS, from
// Amazon SNS itself: anyone can sign with a certificate they host.
func (v *Verifier) checkCertURL(raw string) error {
	if !v.trustedURL(raw) {
		return fmt.Errorf("%w: certificate URL %q", ErrCertificate, raw)
	}
	return nil
}

func (v *Verifier) trustedURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Opaque != "" {
		return false
	}
	certHost := v.CertHost
	if certHost == nil {
		certHost = DefaultCertHost
	}
	// u.Host keeps any port, which no SNS URL has, so the check sees it.
	return certHost(u.Host)
}

func (v *Verifier) certificate(ctx context.Context, certURL string) (*x509.Certificate, error) {
	v.mu.Lock()
	cert, ok := v.certs[certURL]
	v.mu.Unlock()
	if ok {
		return cert, nil
	}
	fetch := v.Fetch
	if fetch == nil {
		client := newCertClient(http.DefaultTransport)
		fetch = func(ctx context.Context, url string) ([]byte, error) { return fetchPEM(ctx, client, url) }
	}
	body, err := fetch(ctx, certURL)
	if err != nil {
		return nil, fmt.Errorf("fetch signing certificate %s: %w", certURL, err)
	}
	block, _ := pem.Decode(body)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: %s is not a PEM certificate", ErrCertificate, certURL)
	}
	cert, err = x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: parse %s: %v", ErrCertificate, certURL, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.certs == nil {
		v.certs = make(map[string]*x509.Certificate)
	}
	// SNS signs with a handful of certificates; the bound is only against
	// an unexpected flood of distinct URLs.
	if len(v.certs) >= maxCachedCerts {
		clear(v.certs)
	}
	v.certs[certURL] = cert
	return cert, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// newCertClient returns the client certificates are fetched with. It does
// not follow redirects: the certificate must come from the host checked.
func newCertClient(transport http.RoundTripper) *http.Client {
	return &http.Client{
		Transport:     transport,
		Timeout:       certTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func fetchPEM(ctx context.Context, client *http.Client, certURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxCertBytes {
		return nil, fmt.Errorf("certificate larger than %d bytes", maxCertBytes)
	}
	return body, nil
}
