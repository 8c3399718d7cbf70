package sesmail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
)

func TestThrottledAndDailyQuota(t *testing.T) {
	tests := []struct {
		name             string
		err              error
		throttled, quota bool
	}{
		{"nil", nil, false, false},
		{"too many requests", &types.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")}, true, false},
		{"limit exceeded", &types.LimitExceededException{}, true, false},
		{"v1 throttling code", &smithy.GenericAPIError{Code: "Throttling", Message: "Maximum sending rate exceeded."}, true, false},
		{"429", httpError(http.StatusTooManyRequests), true, false},
		{"rate in the text only", errors.New("Maximum sending rate exceeded."), true, false},
		{"v1 daily quota", &smithy.GenericAPIError{Code: "Throttling", Message: "Daily message quota exceeded."}, false, true},
		{"v2 daily quota", &types.LimitExceededException{Message: aws.String("Daily message quota exceeded.")}, false, true},
		{"daily quota as a 429", &types.TooManyRequestsException{Message: aws.String("Daily message quota exceeded")}, false, true},
		{"503", httpError(http.StatusServiceUnavailable), false, false},
		{"message rejected", &types.MessageRejected{Message: aws.String("Email address is not verified.")}, false, false},
		{"sending paused", &types.SendingPausedException{}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, err := range []error{tt.err, wrapAsSend(tt.err)} {
				if got := Throttled(err); got != tt.throttled {
					t.Errorf("Throttled(%v) = %v, want %v", err, got, tt.throttled)
				}
				if got := DailyQuotaExceeded(err); got != tt.quota {
					t.Errorf("DailyQuotaExceeded(%v) = %v, want %v", err, got, tt.quota)
				}
			}
		})
	}
}

// wrapAsSend wraps err as Send returns it: with the domain, redacted.
func wrapAsSend(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("ses send to example.org: %w", redact(fmt.Errorf("%w (alice@example.org)", err), "alice@example.org"))
}

// accountAPI answers GetAccount with out or err.
type accountAPI struct {
	out *sesv2.GetAccountOutput
	err error
}

func (a accountAPI) GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error) {
	return a.out, a.err
}

func TestAccountReader(t *testing.T) {
	quotaXML := `<GetSendQuotaResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><GetSendQuotaResult><Max24HourSend>50000.0</Max24HourSend><MaxSendRate>14.0</MaxSendRate><SentLast24Hours>120.0</SentLast24Hours></GetSendQuotaResult></GetSendQuotaResponse>`
	var v1Calls int
	var v1Err bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v1Calls++
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), "Action=GetSendQuota") || !strings.Contains(r.Header.Get("Authorization"), "/ses/aws4_request") {
			http.Error(w, "unsigned or not GetSendQuota: "+string(body), http.StatusBadRequest)
			return
		}
		if v1Err {
			http.Error(w, "<Error><Code>AccessDenied</Code></Error>", http.StatusForbidden)
			return
		}
		io.WriteString(w, quotaXML)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), HTTPClient: srv.Client()}
	notFound := errors.New("GetAccount: https response error StatusCode: 404")

	tests := []struct {
		name    string
		api     accountAPI
		v1Fails bool
		want    Account
		wantErr string
		wantV1  int
	}{
		{
			name: "GetAccount answers",
			api:  accountAPI{out: &sesv2.GetAccountOutput{SendQuota: &types.SendQuota{MaxSendRate: 200, Max24HourSend: 1e6, SentLast24Hours: 5}}},
			want: Account{MaxSendRate: 200, Max24HourSend: 1e6, SentLast24Hours: 5, Source: "GetAccount"},
		},
		{
			name: "GetAccount unknown (moto): GetSendQuota answers", api: accountAPI{err: notFound},
			want: Account{MaxSendRate: 14, Max24HourSend: 50000, SentLast24Hours: 120, Source: "GetSendQuota"}, wantV1: 1,
		},
		{
			name: "neither answers", api: accountAPI{err: notFound}, v1Fails: true,
			wantErr: "GetAccount: GetAccount: https response error StatusCode: 404; GetSendQuota: HTTP 403", wantV1: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v1Calls, v1Err = 0, tt.v1Fails
			got, err := NewAccountReader(tt.api, cfg).Read(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Read = %+v, %v; want an error with %q", got, err, tt.wantErr)
				}
			} else if err != nil || got != tt.want {
				t.Errorf("Read = %+v, %v; want %+v", got, err, tt.want)
			}
			if v1Calls != tt.wantV1 {
				t.Errorf("%d GetSendQuota calls, want %d", v1Calls, tt.wantV1)
			}
		})
	}
}
