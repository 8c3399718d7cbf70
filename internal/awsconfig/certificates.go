package awsconfig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxCertificateBytes bounds a certificate download, as the feedback
// verifier's own fetch does.
const maxCertificateBytes = 64 << 10

var emptyPayloadHash = func() string { sum := sha256.Sum256(nil); return hex.EncodeToString(sum[:]) }()

// SNSCertificates returns a fetch of SNS signing certificates from the
// local emulator at endpoint, which signs the notifications it delivers
// with a certificate of its own and serves it at the path of the
// SigningCertURL it writes (https://sns.<region>.amazonaws.com/...): the
// certificate is fetched as every other AWS call is, from the endpoint. The
// request is signed for SNS, because the emulator routes a request by its
// signature's service, and a certificate's path names none. Only for local
// runs: in the cloud the verifier fetches from SNS itself over TLS.
func SNSCertificates(cfg aws.Config, endpoint string) func(ctx context.Context, certURL string) ([]byte, error) {
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	signer := v4.NewSigner()
	return func(ctx context.Context, certURL string) ([]byte, error) {
		u, err := url.Parse(certURL)
		if err != nil {
			return nil, fmt.Errorf("certificate URL: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(endpoint, "/")+u.EscapedPath(), nil)
		if err != nil {
			return nil, err
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		if err := signer.SignHTTP(ctx, creds, req, emptyPayloadHash, "sns", cfg.Region, time.Now()); err != nil {
			return nil, fmt.Errorf("sign certificate request: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s from %s: %s", u.Path, endpoint, resp.Status)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxCertificateBytes+1))
		if err != nil {
			return nil, err
		}
		if len(body) > maxCertificateBytes {
			return nil, fmt.Errorf("certificate larger than %d bytes", maxCertificateBytes)
		}
		return body, nil
	}
}
