package localenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/radiogram/radiogram/internal/awsconfig"
)

// Publish publishes message to the SNS topic, as SES's event destination
// does in the cloud, and returns SNS's message id: moto delivers it to the
// topic's subscriptions at once (the feedback queue, signed, as SNS
// does). The SNS client is not among the project's dependencies, so this
// is the query API's Publish, signed with the SDK's signer.
//
// moto leaves a Subject out of the text it signs, where SNS includes it,
// so this publishes none: a notification with one would not verify.
func (e *Env) Publish(ctx context.Context, topicARN, message string) (string, error) {
	cfg, err := awsconfig.Load(ctx, e.Region, e.Endpoint)
	if err != nil {
		return "", err
	}
	form := url.Values{
		"Action":   {"Publish"},
		"Version":  {"2010-03-31"},
		"TopicArn": {topicARN},
		"Message":  {message},
	}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.Endpoint+"/", strings.NewReader(form))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(form))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sns", e.Region, time.Now()); err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", topicARN, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", topicARN, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("publish to %s: %s: %s", topicARN, resp.Status, body)
	}
	var out struct {
		MessageID string `xml:"PublishResult>MessageId"`
	}
	if err := xml.Unmarshal(body, &out); err != nil || out.MessageID == "" {
		return "", fmt.Errorf("publish to %s: unreadable answer %q: %v", topicARN, body, err)
	}
	return out.MessageID, nil
}
