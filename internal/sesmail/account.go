package sesmail

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/radiogram/radiogram/internal/awsconfig"
)

// Account is the account's SES sending limits, as SES reports them.
type Account struct {
	// MaxSendRate is the most mails per second the whole account may send.
	MaxSendRate float64
	// Max24HourSend is the most mails in any 24 hours; -1 is unlimited.
	Max24HourSend float64
	// SentLast24Hours is how many mails the account sent in the last 24 hours.
	SentLast24Hours float64
	// Source names the call that answered: "GetAccount" (SES v2) or
	// "GetSendQuota" (SES v1, the fallback).
	Source string
}

// AccountAPI is the part of the SES v2 client AccountReader uses.
type AccountAPI interface {
	GetAccount(ctx context.Context, in *sesv2.GetAccountInput, optFns ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error)
}

// AccountReader reads the account's sending limits: SES v2 GetAccount,
// else SES v1 GetSendQuota. moto 5.2.1 answers GetAccount with a 404 (it
// has no route for it) but answers GetSendQuota, with fixed figures (1
// mail/s, 200 a day); in AWS both answer the same quota.
type AccountReader struct {
	api AccountAPI
	cfg aws.Config // for the v1 Query call; the SDK has no v1 client here
}

// NewAccountReader returns a reader over the v2 client api, falling back
// to a signed SES v1 Query call made with cfg's region, endpoint,
// credentials and HTTP client.
func NewAccountReader(api AccountAPI, cfg aws.Config) *AccountReader {
	return &AccountReader{api: api, cfg: cfg}
}

// Read returns the account's limits.
func (r *AccountReader) Read(ctx context.Context) (Account, error) {
	out, err := r.api.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err == nil && out.SendQuota != nil {
		q := out.SendQuota
		return Account{MaxSendRate: q.MaxSendRate, Max24HourSend: q.Max24HourSend, SentLast24Hours: q.SentLast24Hours, Source: "GetAccount"}, nil
	}
	if err == nil {
		err = errors.New("GetAccount answered without a send quota")
	}
	acct, v1err := r.sendQuota(ctx)
	if v1err != nil {
		return Account{}, fmt.Errorf("read the SES account's limits: GetAccount: %w; GetSendQuota: %w", err, v1err)
	}
	return acct, nil
}

// sendQuota calls SES v1 GetSendQuota (a Query API: a signed form POST,
// an XML answer).
func (r *AccountReader) sendQuota(ctx context.Context) (Account, error) {
	raw, err := awsconfig.CallQuery(ctx, r.cfg, "ses", "https://email."+r.cfg.Region+".amazonaws.com/",
		url.Values{"Action": {"GetSendQuota"}, "Version": {"2010-12-01"}})
	if err != nil {
		return Account{}, err
	}
	var doc struct {
		Result struct {
			Max24HourSend   float64 `xml:"Max24HourSend"`
			MaxSendRate     float64 `xml:"MaxSendRate"`
			SentLast24Hours float64 `xml:"SentLast24Hours"`
		} `xml:"GetSendQuotaResult"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return Account{}, fmt.Errorf("decode: %w", err)
	}
	if doc.Result.MaxSendRate <= 0 {
		return Account{}, fmt.Errorf("answer without a send rate: %s", bytes.TrimSpace(raw))
	}
	q := doc.Result
	return Account{MaxSendRate: q.MaxSendRate, Max24HourSend: q.Max24HourSend, SentLast24Hours: q.SentLast24Hours, Source: "GetSendQuota"}, nil
}

// dailyQuotaText is how SES words a refusal for the 24-hour quota; it
// comes as a throttling error (v1 "Throttling", v2 a 429 or
// LimitExceeded), so only the text tells it from the per-second rate.
const dailyQuotaText = "daily message quota exceeded"

// DailyQuotaExceeded reports whether SES refused a mail because the
// account's 24-hour sending quota is used up: no retry helps until the
// quota frees up.
func DailyQuotaExceeded(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), dailyQuotaText)
}

// Throttled reports whether SES refused a mail because the account sends
// faster than its maximum rate ("Maximum sending rate exceeded",
// TooManyRequests, LimitExceeded, Throttling): worth retrying after a
// pause. The daily quota is not throttling (see DailyQuotaExceeded).
func Throttled(err error) bool {
	if err == nil || DailyQuotaExceeded(err) {
		return false
	}
	var tooMany *types.TooManyRequestsException
	var limit *types.LimitExceededException
	if errors.As(err, &tooMany) || errors.As(err, &limit) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException":
			return true
		}
	}
	var withStatus interface{ HTTPStatusCode() int }
	if errors.As(err, &withStatus) && withStatus.HTTPStatusCode() == http.StatusTooManyRequests {
		return true
	}
	return strings.Contains(strings.ToLower(err.Error()), "maximum sending rate exceeded")
}
