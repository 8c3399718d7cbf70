package localenv

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The operations part of the template deploys into moto too: the SES
// identity with its DKIM key length, MAIL FROM domain and default
// configuration set; the alarms, each wired to the stack's real queue or
// function and to the alarm topic; and a production stage refuses the
// template's example values, as CloudFormation's Rules would.
func TestStartDeploysOperations(t *testing.T) {
	requireMoto(t)
	server := startEnv(t, Options{Log: testLog{t}})
	t.Cleanup(func() { server.Close() })
	ctx := context.Background()

	env := startEnv(t, Options{Endpoint: server.Endpoint, Parameters: map[string]string{
		"SesIdentity":               "society.test",
		"MailFrom":                  "News <news@society.test>",
		"AlarmEmail":                "it@society.test",
		"InboundUnsubscribeAddress": "unsubscribe@society.test",
	}})

	// The DNS records to publish, resolved.
	for name, want := range map[string]string{
		"DkimRecord1":       "._domainkey.society.test CNAME ",
		"MailFromMxRecord":  "bounce.society.test MX 10 feedback-smtp.us-east-1.amazonses.com",
		"MailFromSpfRecord": `bounce.society.test TXT "v=spf1 include:amazonses.com ~all"`,
		"DmarcRecord":       `_dmarc.society.test TXT "v=DMARC1;`,
	} {
		if got := env.Outputs[name]; !strings.Contains(got, want) || strings.Contains(got, "${") {
			t.Errorf("output %s = %q, want one holding %q", name, got, want)
		}
	}

	identity := getEmailIdentity(t, env, "society.test")
	if got, want := identity.ConfigurationSetName, env.FunctionEnv("SenderFunction")["RADIOGRAM_SES_CONFIGURATION_SET"]; got == "" || got != want {
		t.Errorf("identity's default configuration set %q, want the stack's %q", got, want)
	}
	if got := identity.DkimAttributes.NextSigningKeyLength; got != "RSA_2048_BIT" {
		t.Errorf("identity's DKIM key length %q, want RSA_2048_BIT", got)
	}

	// The inbound unsubscribe rule hands the address's mail to the
	// inbound function; the rule set is left for the operator to activate.
	rule := describeReceiptRule(t, env, env.Outputs["InboundRuleSetName"], env.StackName+"-unsubscribe")
	if rule.Recipient != "unsubscribe@society.test" || !rule.Enabled || !rule.ScanEnabled ||
		!strings.HasSuffix(rule.FunctionArn, ":"+env.Functions["InboundFunction"].Name) || rule.InvocationType != "Event" {
		t.Errorf("receipt rule %+v, want one enabled, scanning, for the address, invoking the inbound function asynchronously", rule)
	}
	if got, want := env.Outputs["InboundMxRecord"], "society.test MX 10 inbound-smtp.us-east-1.amazonaws.com"; got != want {
		t.Errorf("output InboundMxRecord = %q, want %q", got, want)
	}

	alarms := describeAlarms(t, env, env.StackName+"-")
	if len(alarms) < 18 {
		t.Errorf("%d alarms, want at least 18 (6 functions × 2, 2 dead-letter queues, queue age, feeds, 2 reputation)", len(alarms))
	}
	queues := map[string]bool{}
	for _, a := range alarms {
		if a.Actions != env.Outputs["AlarmTopicArn"] {
			t.Errorf("alarm %s notifies %q, want the alarm topic %q", a.Name, a.Actions, env.Outputs["AlarmTopicArn"])
		}
		for _, d := range a.Dimensions {
			if d.Value == "" || strings.Contains(d.Value, "${") || strings.HasPrefix(d.Value, "{") {
				t.Errorf("alarm %s: dimension %s = %q, want a resolved name", a.Name, d.Name, d.Value)
			}
			if d.Name == "QueueName" {
				queues[d.Value] = true
			}
		}
	}
	for _, output := range []string{"SendQueueUrl", "SendDeadLetterQueueUrl", "FailedInvocationsQueueUrl"} {
		name := env.Outputs[output][strings.LastIndex(env.Outputs[output], "/")+1:]
		if !queues[name] {
			t.Errorf("no alarm watches queue %s (%s); watched: %v", name, output, queues)
		}
	}

	// CloudFormation refuses these before it changes anything; so does the
	// local deployment, though moto itself ignores Rules.
	_, err := Start(ctx, Options{Endpoint: server.Endpoint, Parameters: map[string]string{"Stage": "production"}})
	if err == nil || !strings.Contains(err.Error(), "SesIdentity") {
		t.Errorf("a production stack with the example domain: err = %v, want the rule's refusal", err)
	}
}

type emailIdentity struct {
	ConfigurationSetName string
	DkimAttributes       struct{ NextSigningKeyLength string }
}

// getEmailIdentity reads an SES identity through SES v2's REST API: the
// SDK's client cannot decode moto's answer (a text timestamp where SES
// gives a number).
func getEmailIdentity(t *testing.T, env *Env, identity string) emailIdentity {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.Endpoint+"/v2/email/identities/"+url.PathEscape(identity), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=test/20260101/%s/ses/aws4_request, SignedHeaders=host, Signature=x", env.Region))
	body := do(t, req)
	var out emailIdentity
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GetEmailIdentity %s: %v: %.300s", identity, err, body)
	}
	return out
}

// do sends a request to moto and returns the body of its 200 answer.
func do(t *testing.T, req *http.Request) []byte {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %v: %.300s", req.Method, req.URL.Path, resp.Status, err, body)
	}
	return body
}

type receiptRule struct {
	Recipient      string `xml:"DescribeReceiptRuleResult>Rule>Recipients>member"`
	Enabled        bool   `xml:"DescribeReceiptRuleResult>Rule>Enabled"`
	ScanEnabled    bool   `xml:"DescribeReceiptRuleResult>Rule>ScanEnabled"`
	FunctionArn    string `xml:"DescribeReceiptRuleResult>Rule>Actions>member>LambdaAction>FunctionArn"`
	InvocationType string `xml:"DescribeReceiptRuleResult>Rule>Actions>member>LambdaAction>InvocationType"`
}

// describeReceiptRule reads a receipt rule through SES v1's query API,
// which the Go SDK of this module does not include.
func describeReceiptRule(t *testing.T, env *Env, ruleSet, rule string) receiptRule {
	t.Helper()
	form := url.Values{"Action": {"DescribeReceiptRule"}, "Version": {"2010-12-01"}, "RuleSetName": {ruleSet}, "RuleName": {rule}}
	req, err := http.NewRequest(http.MethodPost, env.Endpoint+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=test/20260101/%s/ses/aws4_request, SignedHeaders=host, Signature=x", env.Region))
	body := do(t, req)
	var out receiptRule
	if err := xml.Unmarshal(body, &out); err != nil {
		t.Fatalf("DescribeReceiptRule: %v: %.300s", err, body)
	}
	return out
}

type alarmInfo struct {
	Name       string `xml:"AlarmName"`
	Actions    string `xml:"AlarmActions>member"`
	Dimensions []struct {
		Name  string `xml:"Name"`
		Value string `xml:"Value"`
	} `xml:"Dimensions>member"`
}

// describeAlarms lists the alarms named with prefix through CloudWatch's
// query API (the module has no CloudWatch client; moto checks no
// signature).
func describeAlarms(t *testing.T, env *Env, prefix string) []alarmInfo {
	t.Helper()
	form := url.Values{"Action": {"DescribeAlarms"}, "Version": {"2010-08-01"}, "AlarmNamePrefix": {prefix}, "MaxRecords": {"100"}}
	req, err := http.NewRequest(http.MethodPost, env.Endpoint+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=test/20260101/%s/monitoring/aws4_request, SignedHeaders=host, Signature=x", env.Region))
	body := do(t, req)
	var out struct {
		Alarms []alarmInfo `xml:"DescribeAlarmsResult>MetricAlarms>member"`
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		t.Fatalf("DescribeAlarms: %v: %.300s", err, body)
	}
	return out.Alarms
}
