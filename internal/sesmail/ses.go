// Package sesmail is the Amazon SES v2 adapter: it sends email.Message values as
// raw MIME, so that the text part and headers such as List-Unsubscribe
// reach the recipient as written.
package sesmail

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/radiogram/radiogram/internal/email"
)

// API is the part of the SES v2 client the Sender uses.
type API interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Sender sends mail through SES. It is safe for concurrent use.
type Sender struct {
	api              API
	configurationSet string
}

var _ email.Sender = (*Sender)(nil)

// NewSender returns a Sender; a non-empty configurationSet names the SES
// configuration set whose event destinations receive bounces and
// complaints.
func NewSender(api API, configurationSet string) *Sender {
	return &Sender{api: api, configurationSet: configurationSet}
}

// Send encodes m as raw MIME and hands it to SES, returning SES's message
// id. Errors name the recipient's domain only: full addresses stay out of
// logs.
func (s *Sender) Send(ctx context.Context, m email.Message) (string, error) {
	id, err := s.send(ctx, m)
	if err != nil {
		_, domain, _ := strings.Cut(m.To, "@")
		return "", fmt.Errorf("ses send to %s: %w", domain, redact(err, m.To))
	}
	return id, nil
}

func (s *Sender) send(ctx context.Context, m email.Message) (string, error) {
	raw, err := m.MIME(time.Now())
	if err != nil {
		return "", err
	}
	to, err := email.ASCIIAddress(m.To)
	if err != nil {
		return "", fmt.Errorf("recipient: %w", err)
	}
	// SES checks the bare sender address against the verified identities;
	// the display name travels in the raw From header.
	from, err := email.ASCIIAddress(m.From)
	if err != nil {
		return "", fmt.Errorf("sender: %w", err)
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: raw}},
		EmailTags:        messageTags(m.Tags),
	}
	if s.configurationSet != "" {
		in.ConfigurationSetName = aws.String(s.configurationSet)
	}
	out, err := s.api.SendEmail(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.MessageId), nil
}

// maxTagLen is the longest tag name or value SES accepts.
const maxTagLen = 256

// messageTags turns tags into SES message tags, in name order. SES allows
// only [A-Za-z0-9_-] in names and values, so every other character becomes
// '_'; a tag left with an empty name or value is dropped, since SES
// requires both.
func messageTags(tags map[string]string) []types.MessageTag {
	var out []types.MessageTag
	for _, name := range slices.Sorted(maps.Keys(tags)) {
		n, v := tagText(name), tagText(tags[name])
		if n == "" || v == "" {
			continue
		}
		out = append(out, types.MessageTag{Name: aws.String(n), Value: aws.String(v)})
	}
	return out
}

func tagText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() == maxTagLen {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Retryable reports whether err, from Send, is worth retrying later: SES
// throttled or hit a sending quota, answered with a 5xx, or the call timed
// out. A timed-out call may still have been delivered, so a retry can
// duplicate a mail; callers that cannot afford that should not retry
// timeouts. Refusals (a rejected message, an unverified identity, a
// suspended account, a cancelled context) are not retryable.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if Throttled(err) || DailyQuotaExceeded(err) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "RequestTimeout", "RequestTimeoutException", "ServiceUnavailable", "InternalFailure":
			return true
		}
	}
	var withStatus interface{ HTTPStatusCode() int }
	if errors.As(err, &withStatus) && withStatus.HTTPStatusCode() >= 500 {
		return true
	}
	// net.Error covers the HTTP client's timeouts and context.DeadlineExceeded.
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// redactedError hides an address that an SES error message repeats (SES
// names unverified recipients in its messages) while keeping the error
// chain intact for errors.Is and errors.As.
type redactedError struct {
	err  error
	addr string
}

func redact(err error, addr string) error {
	if addr == "" || !strings.Contains(err.Error(), addr) {
		return err
	}
	return &redactedError{err: err, addr: addr}
}

func (e *redactedError) Error() string {
	_, domain, _ := strings.Cut(e.addr, "@")
	return strings.ReplaceAll(e.err.Error(), e.addr, "…@"+domain)
}

func (e *redactedError) Unwrap() error { return e.err }
