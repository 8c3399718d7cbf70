package localenv

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/url"

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
	body, err := awsconfig.CallQuery(ctx, cfg, "sns", e.Endpoint+"/", url.Values{
		"Action":   {"Publish"},
		"Version":  {"2010-03-31"},
		"TopicArn": {topicARN},
		"Message":  {message},
	})
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", topicARN, err)
	}
	var out struct {
		MessageID string `xml:"PublishResult>MessageId"`
	}
	if err := xml.Unmarshal(body, &out); err != nil || out.MessageID == "" {
		return "", fmt.Errorf("publish to %s: unreadable answer %q: %v", topicARN, body, err)
	}
	return out.MessageID, nil
}
