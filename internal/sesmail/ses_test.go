package sesmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/radiogram/radiogram/internal/email"
)

// recordingAPI keeps the request it was given and answers with id or err.
type recordingAPI struct {
	got *sesv2.SendEmailInput
	id  string
	err error
}

func (a *recordingAPI) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	a.got = in
	if a.err != nil {
		return nil, a.err
	}
	return &sesv2.SendEmailOutput{MessageId: aws.String(a.id)}, nil
}

var testMessage = email.Message{
	From:    "Radiogram <news@radiogram.example>",
	To:      "alice@example.org",
	Subject: "Your link",
	Text:    "Here is your link.",
	HTML:    "<p>Here is your link.</p>",
	Headers: []email.Header{{Name: "List-Unsubscribe", Value: "<https://radiogram.example/u?t=1>"}},
	Tags:    map[string]string{"kind": "manage", "digest id": "2025-03-03/Europe:Vienna", "empty": ""},
}

func TestSend(t *testing.T) {
	for _, configurationSet := range []string{"", "radiogram-events"} {
		t.Run("configuration set "+configurationSet, func(t *testing.T) {
			api := &recordingAPI{id: "0100018e-abc"}
			id, err := NewSender(api, configurationSet).Send(context.Background(), testMessage)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id != "0100018e-abc" {
				t.Errorf("id = %q", id)
			}
			in := api.got
			if got := aws.ToString(in.FromEmailAddress); got != "news@radiogram.example" {
				t.Errorf("FromEmailAddress = %q", got)
			}
			if in.Destination == nil || len(in.Destination.ToAddresses) != 1 || in.Destination.ToAddresses[0] != "alice@example.org" {
				t.Errorf("Destination = %+v", in.Destination)
			}
			if got := aws.ToString(in.ConfigurationSetName); got != configurationSet {
				t.Errorf("ConfigurationSetName = %q, want %q", got, configurationSet)
			}
			if in.Content == nil || in.Content.Raw == nil || in.Content.Simple != nil {
				t.Fatalf("Content = %+v, want raw only", in.Content)
			}
			raw := in.Content.Raw.Data
			for _, want := range []string{"multipart/alternative", "text/plain", "text/html", "List-Unsubscribe: <https://radiogram.example/u?t=1>", "Here is your link."} {
				if !bytes.Contains(raw, []byte(want)) {
					t.Errorf("raw message lacks %q", want)
				}
			}
			var tags []string
			for _, tag := range in.EmailTags {
				tags = append(tags, aws.ToString(tag.Name)+"="+aws.ToString(tag.Value))
			}
			if got, want := strings.Join(tags, " "), "digest_id=2025-03-03_Europe_Vienna kind=manage"; got != want {
				t.Errorf("EmailTags = %s, want %s", got, want)
			}
		})
	}
}

func TestSendInternationalDomain(t *testing.T) {
	api := &recordingAPI{id: "x"}
	m := testMessage
	m.To = "joerg@bücher.example"
	if _, err := NewSender(api, "").Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := api.got.Destination.ToAddresses; len(got) != 1 || got[0] != "joerg@xn--bcher-kva.example" {
		t.Errorf("ToAddresses = %v, want the domain in Punycode", got)
	}
}

func TestSendErrorsNameTheDomainOnly(t *testing.T) {
	rejected := &types.MessageRejected{Message: aws.String("Email address is not verified. The following identities failed the check in region US-EAST-1: alice@example.org")}
	tests := []struct {
		name string
		api  *recordingAPI
		msg  email.Message
		is   error // the error must still wrap this
	}{
		{"SES refuses", &recordingAPI{err: rejected}, testMessage, rejected},
		{"header injection", &recordingAPI{}, func() email.Message {
			m := testMessage
			m.Subject = "Hi\r\nBcc: victim@example.com"
			return m
		}(), email.ErrHeaderInjection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSender(tt.api, "").Send(context.Background(), tt.msg)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if !strings.HasPrefix(err.Error(), "ses send to example.org: ") {
				t.Errorf("error %q does not start with the domain", err)
			}
			if strings.Contains(err.Error(), "alice@") {
				t.Errorf("error %q names the full address", err)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestMessageTags(t *testing.T) {
	long := strings.Repeat("v", 300)
	got := messageTags(map[string]string{
		"kind":      "confirmation",
		"société":   "ESR/ECR 2025",
		"long":      long,
		"":          "no name",
		"no value":  "",
		"with-dash": "a_b-c",
	})
	want := []string{"kind=confirmation", "long=" + long[:maxTagLen], "soci_t_=ESR_ECR_2025", "with-dash=a_b-c"}
	var names []string
	for _, tag := range got {
		names = append(names, aws.ToString(tag.Name)+"="+aws.ToString(tag.Value))
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("messageTags =\n%v\nwant\n%v", names, want)
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var _ net.Error = timeoutError{}

func httpError(status int) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      errors.New("status " + http.StatusText(status)),
	}}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"too many requests", &types.TooManyRequestsException{Message: aws.String("slow down")}, true},
		{"limit exceeded", &types.LimitExceededException{}, true},
		{"throttling code", &smithy.GenericAPIError{Code: "Throttling", Message: "Maximum sending rate exceeded."}, true},
		{"503", httpError(http.StatusServiceUnavailable), true},
		{"500", httpError(http.StatusInternalServerError), true},
		{"429", httpError(http.StatusTooManyRequests), true},
		{"400", httpError(http.StatusBadRequest), false},
		{"network timeout", &net.OpError{Op: "dial", Err: timeoutError{}}, true},
		{"deadline exceeded", context.DeadlineExceeded, true},
		{"retries exhausted on throttling", &retry.MaxAttemptsError{Attempt: 3, Err: &types.TooManyRequestsException{}}, true},
		{"message rejected", &types.MessageRejected{Message: aws.String("Email address is not verified.")}, false},
		{"sending paused", &types.SendingPausedException{}, false},
		{"account suspended", &types.AccountSuspendedException{}, false},
		{"bad request", &types.BadRequestException{}, false},
		{"canceled", context.Canceled, false},
		{"header injection", email.ErrHeaderInjection, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
			// As Send returns it: wrapped, and redacted.
			if tt.err != nil {
				wrapped := fmt.Errorf("ses send to example.org: %w", redact(fmt.Errorf("%w (alice@example.org)", tt.err), "alice@example.org"))
				if got := Retryable(wrapped); got != tt.want {
					t.Errorf("Retryable(wrapped %v) = %v, want %v", tt.err, got, tt.want)
				}
			}
		})
	}
}

func TestRetryableThroughSend(t *testing.T) {
	api := &recordingAPI{err: &types.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")}}
	_, err := NewSender(api, "").Send(context.Background(), testMessage)
	if !Retryable(err) {
		t.Errorf("Retryable(%v) = false for a throttled send", err)
	}
}
