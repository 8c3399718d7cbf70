package infra

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/samtemplate"
)

// The template's operations promises: alarms that reach someone, the SES
// identity and its DNS records, parameters a production stack cannot get
// wrong, throttling, reserved concurrency and the ledger's expiry.

const alarmType = "AWS::CloudWatch::Alarm"

// alarm is an alarm's properties resolved with the parameters' defaults.
type alarm struct {
	id    string
	props map[string]any
}

func alarms(t *testing.T, tmpl *samtemplate.Template) []alarm {
	t.Helper()
	var out []alarm
	for _, id := range slices.Sorted(maps.Keys(tmpl.Resources)) {
		if r := tmpl.Resources[id]; r.Type == alarmType {
			props, _ := resolved(t, tmpl, r.Properties).(map[string]any)
			out = append(out, alarm{id, props})
		}
	}
	return out
}

// dimension is the value of the alarm's dimension name, "" if it has none.
func (a alarm) dimension(name string) string {
	list, _ := a.props["Dimensions"].([]any)
	for _, d := range list {
		if path(d, "Name") == name {
			s, _ := path(d, "Value").(string)
			return s
		}
	}
	return ""
}

func (a alarm) is(namespace, metric string) bool {
	return a.props["Namespace"] == namespace && a.props["MetricName"] == metric
}

func (a alarm) threshold(t *testing.T) float64 {
	t.Helper()
	s, err := samtemplate.Stringify(a.props["Threshold"])
	if err != nil {
		t.Fatalf("%s: Threshold %v: %v", a.id, a.props["Threshold"], err)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s: Threshold %q is not a number", a.id, s)
	}
	return f
}

// find returns the alarms matching.
func find(list []alarm, match func(alarm) bool) []alarm {
	var out []alarm
	for _, a := range list {
		if match(a) {
			out = append(out, a)
		}
	}
	return out
}

// deadLetterQueues are the queues that hold what failed every retry,
// wherever the template names one: an SQS or SNS redrive policy, a
// function's DeadLetterQueue, a schedule's DeadLetterConfig, an on-failure
// destination.
func deadLetterQueues(t *testing.T, tmpl *samtemplate.Template) []string {
	t.Helper()
	found := map[string]bool{}
	add := func(v any) {
		s, _ := v.(string)
		id, ok := strings.CutPrefix(s, "getatt:")
		if !ok {
			return
		}
		id, _, _ = strings.Cut(id, ".")
		if tmpl.Resources[id].Type == "AWS::SQS::Queue" {
			found[id] = true
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch k {
				case "deadLetterTargetArn":
					add(x)
				case "DeadLetterQueue":
					add(path(x, "TargetArn"))
				case "DeadLetterConfig":
					add(path(x, "Arn"))
				case "OnFailure":
					add(path(x, "Destination"))
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for id, r := range tmpl.Resources {
		if !createdByDefault(t, tmpl, r) {
			continue
		}
		props := r.Properties
		if r.Type == "AWS::Serverless::Function" {
			props = function(t, tmpl, id).Properties
		}
		walk(resolved(t, tmpl, props))
	}
	return slices.Sorted(maps.Keys(found))
}

func TestEveryDeadLetterQueueHasAnAlarm(t *testing.T) {
	tmpl := loadTemplate(t)
	all := alarms(t, tmpl)
	queues := deadLetterQueues(t, tmpl)
	for _, want := range []string{"SendDeadLetterQueue", "FailedInvocationsQueue"} {
		if !slices.Contains(queues, want) {
			t.Errorf("dead-letter queues %v lack %s", queues, want)
		}
	}
	for _, q := range queues {
		got := find(all, func(a alarm) bool {
			return a.is("AWS/SQS", "ApproximateNumberOfMessagesVisible") && a.dimension("QueueName") == "getatt:"+q+".QueueName"
		})
		if len(got) != 1 {
			t.Errorf("dead-letter queue %s: %d alarms on its visible messages, want 1", q, len(got))
			continue
		}
		// One message is one failure nobody else will retry.
		if a := got[0]; a.props["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || a.threshold(t) != 1 {
			t.Errorf("%s: fires when %v %v, want GreaterThanOrEqualToThreshold 1", a.id, a.props["ComparisonOperator"], a.props["Threshold"])
		}
	}
}

func TestEveryFunctionHasErrorAndThrottleAlarms(t *testing.T) {
	tmpl := loadTemplate(t)
	all := alarms(t, tmpl)
	fns := tmpl.Functions()
	if len(fns) < 5 {
		t.Fatalf("%d functions, want at least 5", len(fns))
	}
	for _, fn := range fns {
		for _, metric := range []string{"Errors", "Throttles"} {
			got := find(all, func(a alarm) bool {
				return a.is("AWS/Lambda", metric) && a.dimension("FunctionName") == "ref:"+fn.LogicalID
			})
			if len(got) != 1 {
				t.Errorf("%s: %d alarms on %s, want 1", fn.LogicalID, len(got), metric)
				continue
			}
			if a := got[0]; a.props["Statistic"] != "Sum" || a.threshold(t) != 1 {
				t.Errorf("%s: %v %v, want any (Sum >= 1)", a.id, a.props["Statistic"], a.props["Threshold"])
			}
		}
	}
}

func TestAlarmsReachTheAlarmTopic(t *testing.T) {
	tmpl := loadTemplate(t)
	if tmpl.Resources["AlarmTopic"].Type != "AWS::SNS::Topic" {
		t.Fatalf("AlarmTopic is a %q, want an SNS topic", tmpl.Resources["AlarmTopic"].Type)
	}
	all := alarms(t, tmpl)
	if len(all) == 0 {
		t.Fatal("no alarms")
	}
	for _, a := range all {
		for _, key := range []string{"AlarmActions", "OKActions"} {
			if got := a.props[key]; !slices.Equal(strs(got), []string{"ref:AlarmTopic"}) {
				t.Errorf("%s: %s %v, want the AlarmTopic", a.id, key, got)
			}
		}
		// An operator reads the description in the alarm's mail.
		if d, _ := a.props["AlarmDescription"].(string); len(d) < 40 {
			t.Errorf("%s: AlarmDescription %q, want what it means and what to do", a.id, d)
		}
		// Chosen per alarm, never CloudWatch's default (missing).
		if tmd := a.props["TreatMissingData"]; tmd != "notBreaching" && tmd != "ignore" && tmd != "breaching" {
			t.Errorf("%s: TreatMissingData %v, want a choice", a.id, tmd)
		}
		if name, _ := a.props["AlarmName"].(string); !strings.HasPrefix(name, "stack-") {
			t.Errorf("%s: AlarmName %q, want one named after the stack", a.id, name)
		}
	}

	// The e-mail subscription exists exactly when an address is given.
	var subs []string
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::SNS::Subscription" {
			continue
		}
		props := resolved(t, tmpl, r.Properties)
		if path(props, "TopicArn") != "ref:AlarmTopic" {
			continue
		}
		subs = append(subs, id)
		if path(props, "Protocol") != "email" || path(r.Properties, "Endpoint", "Ref") != "AlarmEmail" {
			t.Errorf("%s: %v, want an e-mail subscription of AlarmEmail", id, props)
		}
		for email, want := range map[string]bool{"": false, "ops@society.org": true} {
			got, err := tmpl.Condition(r.Condition, samtemplate.ResolveOptions{Parameters: map[string]string{"AlarmEmail": email}})
			if err != nil || got != want {
				t.Errorf("%s with AlarmEmail %q: condition %q = %v (%v), want %v", id, email, r.Condition, got, err, want)
			}
		}
	}
	if len(subs) != 1 {
		t.Errorf("alarm topic subscriptions %v, want 1", subs)
	}
}

func TestQueueFeedAndReputationAlarms(t *testing.T) {
	tmpl := loadTemplate(t)
	all := alarms(t, tmpl)
	namespace, _ := resolved(t, tmpl, path(tmpl.Globals, "Function", "Environment", "Variables", "RADIOGRAM_METRICS_NAMESPACE")).(string)
	tests := []struct {
		name                 string
		namespace, metric    string
		dimension, dimValue  string
		operator             string
		threshold            float64
		statisticMaxRequired bool
	}{
		// SQS drops a message after 4 days: the age alarm must come first.
		{"send queue age", "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "getatt:SendQueue.QueueName", "GreaterThanThreshold", 3600, true},
		{"feeds failing", namespace, "FeedsFailedPercent", "", "", "GreaterThanThreshold", 50, true},
		// SES reviews at 5% / 0.1% and may pause at 10% / 0.5%.
		{"bounce rate", "AWS/SES", "Reputation.BounceRate", "", "", "GreaterThanOrEqualToThreshold", 0.04, false},
		{"complaint rate", "AWS/SES", "Reputation.ComplaintRate", "", "", "GreaterThanOrEqualToThreshold", 0.0008, false},
	}
	if namespace != "Radiogram/stack" {
		t.Errorf("RADIOGRAM_METRICS_NAMESPACE resolves to %q, want Radiogram/<stack>", namespace)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := find(all, func(a alarm) bool { return a.is(tt.namespace, tt.metric) })
			if len(got) != 1 {
				t.Fatalf("%d alarms on %s %s, want 1", len(got), tt.namespace, tt.metric)
			}
			a := got[0]
			if tt.dimension == "" && a.props["Dimensions"] != nil {
				t.Errorf("%s: dimensions %v, want none (the metric has none)", a.id, a.props["Dimensions"])
			}
			if tt.dimension != "" && a.dimension(tt.dimension) != tt.dimValue {
				t.Errorf("%s: %s %q, want %q", a.id, tt.dimension, a.dimension(tt.dimension), tt.dimValue)
			}
			if a.props["ComparisonOperator"] != tt.operator || a.threshold(t) != tt.threshold {
				t.Errorf("%s: %v %v, want %s %v", a.id, a.props["ComparisonOperator"], a.props["Threshold"], tt.operator, tt.threshold)
			}
			if tt.statisticMaxRequired && a.props["Statistic"] != "Maximum" {
				t.Errorf("%s: statistic %v, want Maximum", a.id, a.props["Statistic"])
			}
		})
	}
}

func TestSendingIdentity(t *testing.T) {
	tmpl := loadTemplate(t)
	var ids []string
	for id, r := range tmpl.Resources {
		if r.Type == "AWS::SES::EmailIdentity" {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("SES email identities %v, want 1", ids)
	}
	id := ids[0]
	props := resolved(t, tmpl, tmpl.Resources[id].Properties)
	for _, c := range []struct {
		keys []string
		want any
	}{
		{[]string{"EmailIdentity"}, "example.org"},
		{[]string{"ConfigurationSetAttributes", "ConfigurationSetName"}, "ref:MailConfigurationSet"},
		{[]string{"DkimAttributes", "SigningEnabled"}, true},
		{[]string{"DkimSigningAttributes", "NextSigningKeyLength"}, "RSA_2048_BIT"},
		{[]string{"MailFromAttributes", "MailFromDomain"}, "bounce.example.org"},
		{[]string{"MailFromAttributes", "BehaviorOnMxFailure"}, "USE_DEFAULT_VALUE"},
	} {
		if got := path(props, c.keys...); got != c.want {
			t.Errorf("%s.%s = %v, want %v", id, strings.Join(c.keys, "."), got, c.want)
		}
	}

	// The DNS records to publish, as outputs.
	outputs := map[string]string{
		"MailFromMxRecord":  "bounce.example.org MX 10 feedback-smtp.us-east-1.amazonses.com",
		"MailFromSpfRecord": `bounce.example.org TXT "v=spf1 include:amazonses.com ~all"`,
	}
	for i := 1; i <= 3; i++ {
		outputs[fmt.Sprintf("DkimRecord%d", i)] = fmt.Sprintf("getatt:%s.DkimDNSTokenName%d CNAME getatt:%[1]s.DkimDNSTokenValue%[2]d", id, i)
	}
	for name, want := range outputs {
		if got := resolved(t, tmpl, tmpl.Outputs[name].Value); got != want {
			t.Errorf("output %s = %v, want %q", name, got, want)
		}
	}
	if got, _ := resolved(t, tmpl, tmpl.Outputs["DmarcRecord"].Value).(string); !strings.HasPrefix(got, `_dmarc.example.org TXT "v=DMARC1; p=`) {
		t.Errorf("output DmarcRecord = %q, want a DMARC TXT record of the domain", got)
	}
}

// ruleValue evaluates a rule expression: Ref and the rule functions this
// template uses, the way CloudFormation does (values compared as text).
func ruleValue(t *testing.T, tmpl *samtemplate.Template, opts samtemplate.ResolveOptions, v any) any {
	t.Helper()
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = ruleValue(t, tmpl, opts, x)
		}
		return out
	case map[string]any:
		if len(v) != 1 {
			break
		}
		for fn, arg := range v {
			if fn == "Ref" {
				out, err := tmpl.Resolve(v, opts)
				if err != nil {
					t.Fatal(err)
				}
				s, _ := samtemplate.Stringify(out)
				return s
			}
			args, _ := ruleValue(t, tmpl, opts, arg).([]any)
			text := func(x any) string { s, _ := samtemplate.Stringify(x); return s }
			switch fn {
			case "Fn::Equals":
				return text(args[0]) == text(args[1])
			case "Fn::Not":
				return args[0] != true
			case "Fn::And":
				return !slices.Contains(args, any(false))
			case "Fn::Or":
				return slices.Contains(args, any(true))
			case "Fn::Contains":
				list, _ := args[0].([]any)
				return slices.ContainsFunc(list, func(x any) bool { return text(x) == text(args[1]) })
			}
			t.Fatalf("rule function %s: not evaluated by this test", fn)
		}
	}
	return v
}

// failedRules returns the descriptions of the assertions the parameters
// break.
func failedRules(t *testing.T, tmpl *samtemplate.Template, params map[string]string) []string {
	t.Helper()
	opts := samtemplate.ResolveOptions{Parameters: params}
	var failed []string
	for _, name := range slices.Sorted(maps.Keys(tmpl.Rules)) {
		rule := tmpl.Rules[name]
		if cond := path(rule, "RuleCondition"); cond != nil && ruleValue(t, tmpl, opts, cond) != true {
			continue
		}
		list, _ := path(rule, "Assertions").([]any)
		for _, a := range list {
			if ruleValue(t, tmpl, opts, path(a, "Assert")) != true {
				failed = append(failed, fmt.Sprint(path(a, "AssertDescription")))
			}
		}
	}
	return failed
}

func TestProductionRefusesTheExamples(t *testing.T) {
	tmpl := loadTemplate(t)
	if p := tmpl.Parameters["Stage"]; p.Default != "development" || !slices.Equal(p.AllowedValues, []string{"production", "staging", "development"}) {
		t.Fatalf("parameter Stage = %+v, want production, staging or development, by default development", p)
	}
	real := map[string]string{
		"Stage":         "production",
		"SesIdentity":   "society.org",
		"MailFrom":      "Society News <news@society.org>",
		"PostalAddress": "Society, 2 Real Street, 1090 Vienna, Austria",
	}
	with := func(k, v string) map[string]string {
		p := maps.Clone(real)
		p[k] = v
		return p
	}
	tests := []struct {
		name   string
		params map[string]string
		failed string // a word of the failed assertion's description; "" for none
	}{
		{"development takes the examples", nil, ""},
		{"staging takes the examples", map[string]string{"Stage": "staging"}, ""},
		{"production with real values", real, ""},
		{"production with the example domain", with("SesIdentity", "example.org"), "SesIdentity"},
		{"production with example.com", with("SesIdentity", "example.com"), "SesIdentity"},
		{"production with the example sender", with("MailFrom", "Radiogram <news@example.org>"), "MailFrom"},
		{"production with the placeholder address", with("PostalAddress", "Radiogram, 1 Example Street, 1010 Vienna, Austria"), "PostalAddress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failed := failedRules(t, tmpl, tt.params)
			switch {
			case tt.failed == "" && len(failed) > 0:
				t.Errorf("refused: %q", failed)
			case tt.failed != "" && (len(failed) != 1 || !strings.Contains(failed[0], tt.failed)):
				t.Errorf("refused %q, want one refusal naming %s", failed, tt.failed)
			}
		})
	}
}

func TestParameterPatterns(t *testing.T) {
	tmpl := loadTemplate(t)
	// The default of every parameter with a pattern matches it: a
	// development stack deploys with no parameter given.
	for name := range tmpl.Parameters {
		if pattern := parameterPattern(t, tmpl, name); pattern != nil && !pattern.MatchString(tmpl.Parameters[name].Default) {
			t.Errorf("%s: default %q does not match %s", name, tmpl.Parameters[name].Default, pattern)
		}
	}
	tests := []struct {
		param string
		value string
		ok    bool
	}{
		{"MailFrom", "Society News <news@society.org>", true},
		{"MailFrom", "news@society.org", true},
		{"MailFrom", "Radiogram <news@rg-abc12345.radiogram.test>", true},
		{"MailFrom", "news", false},
		{"MailFrom", "News <news@society.org", false},
		{"MailReplyTo", "", true},
		{"SesIdentity", "society.org", true},
		{"SesIdentity", "news@society.org", false},
		{"SesIdentity", "Society.org", false},
		{"MailFromSubdomain", "bounce", true},
		{"MailFromSubdomain", "bounce.mail", false},
		{"PublicBaseUrl", "", true},
		{"PublicBaseUrl", "https://news.society.org", true},
		{"PublicBaseUrl", "http://127.0.0.1:8080", true},
		{"PublicBaseUrl", "https://news.society.org/", false},
		{"PublicBaseUrl", "news.society.org", false},
		{"AlarmEmail", "", true},
		{"AlarmEmail", "it@society.org", true},
		{"AlarmEmail", "it@society.org, other@society.org", false},
		{"AdminEmails", "staff@radiogram.test", true},
		{"AdminEmails", "a@society.org, b@society.org", true},
		{"AdminEmails", "a@society.org b@society.org", false},
		{"InboundUnsubscribeAddress", "unsubscribe@society.org", true},
		{"InboundUnsubscribeAddress", "", true},
		{"InboundUnsubscribeAddress", "Unsubscribe <unsubscribe@society.org>", false},
		{"ListId", "", true},
		{"ListId", "news.society.org", true},
		{"ListId", "news", false},
		{"ListId", "Society <news.society.org>", false},
	}
	for _, tt := range tests {
		pattern := parameterPattern(t, tmpl, tt.param)
		if pattern == nil {
			t.Errorf("%s has no AllowedPattern", tt.param)
			continue
		}
		if got := pattern.MatchString(tt.value); got != tt.ok {
			t.Errorf("%s %q: accepted %v, want %v", tt.param, tt.value, got, tt.ok)
		}
	}
}

// parameterPattern is the parameter's AllowedPattern; nil for none.
func parameterPattern(t *testing.T, tmpl *samtemplate.Template, name string) *regexp.Regexp {
	t.Helper()
	re, err := tmpl.Parameters[name].Pattern()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return re
}

// sendsWriters are the functions allowed to put records into the sends
// table, through their own policies or their role's.
func sendsWriters(t *testing.T, tmpl *samtemplate.Template) []string {
	t.Helper()
	var out []string
	for _, fn := range tmpl.Functions() {
		sts := statements(resolved(t, tmpl, fn.Properties["Policies"]))
		if role := fn.Properties["Role"]; role != nil {
			_, r := target(t, tmpl, resolved(t, tmpl, role))
			sts = append(sts, statements(path(resolved(t, tmpl, r.Properties), "Policies"))...)
		}
		for _, st := range sts {
			if st["Effect"] == "Allow" && slices.Contains(strs(st["Resource"]), "getatt:SendsTable.Arn") &&
				slices.ContainsFunc(strs(st["Action"]), func(a string) bool { return a == "dynamodb:PutItem" || a == "dynamodb:BatchWriteItem" }) {
				out = append(out, fn.LogicalID)
				break
			}
		}
	}
	return out
}

func TestSendRecordsExpire(t *testing.T) {
	tmpl := loadTemplate(t)
	sends := tmpl.Resources["SendsTable"]
	if ttl := sends.Properties["TimeToLiveSpecification"]; path(ttl, "AttributeName") != "expires_at" || path(ttl, "Enabled") != true {
		t.Errorf("SendsTable TimeToLiveSpecification %v, want expires_at enabled", ttl)
	}
	if p := tmpl.Parameters["SendsRetentionDays"]; p.Type != "Number" || p.Default != "400" {
		t.Errorf("parameter SendsRetentionDays %+v, want a Number, default 400", p)
	}
	writers := sendsWriters(t, tmpl)
	if len(writers) == 0 {
		t.Fatal("no function writes the sends table")
	}
	// Every function that writes send records sets their expiry.
	for _, id := range writers {
		env, err := tmpl.FunctionEnv(id, samtemplate.ResolveOptions{Parameters: map[string]string{"SendsRetentionDays": "30"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := env["RADIOGRAM_SENDS_RETENTION_DAYS"]; got != "30" {
			t.Errorf("%s writes the sends table with RADIOGRAM_SENDS_RETENTION_DAYS %q, want the SendsRetentionDays parameter", id, got)
		}
	}
}

func TestReservedConcurrency(t *testing.T) {
	tmpl := loadTemplate(t)
	for _, tt := range []struct {
		function, param, def string
	}{
		{"ApiFunction", "ApiReservedConcurrency", "20"},
		{"FeedbackFunction", "FeedbackReservedConcurrency", "5"},
	} {
		fn := function(t, tmpl, tt.function)
		for value, want := range map[string]any{"": tt.def, "7": "7", "0": nil} {
			params := map[string]string{}
			if value != "" {
				params[tt.param] = value
			}
			got, err := tmpl.Resolve(fn.Properties["ReservedConcurrentExecutions"], samtemplate.ResolveOptions{Parameters: params})
			if err != nil {
				t.Fatal(err)
			}
			// 0 reserves nothing: a reservation of 0 would stop the function.
			if got != want {
				t.Errorf("%s with %s=%q: ReservedConcurrentExecutions %v, want %v", tt.function, tt.param, value, got, want)
			}
		}
	}
}

func TestHttpApiThrottling(t *testing.T) {
	tmpl := loadTemplate(t)
	settings := resolved(t, tmpl, path(tmpl.Globals, "HttpApi", "DefaultRouteSettings"))
	for key, want := range map[string]string{"ThrottlingRateLimit": "50", "ThrottlingBurstLimit": "100"} {
		if got, _ := samtemplate.Stringify(path(settings, key)); got != want {
			t.Errorf("Globals.HttpApi.DefaultRouteSettings.%s = %v, want %s by default", key, path(settings, key), want)
		}
	}
}

// createdByDefault reports whether r is made with the parameters' defaults
// (the inbound unsubscribe resources are not).
func createdByDefault(t *testing.T, tmpl *samtemplate.Template, r samtemplate.Resource) bool {
	t.Helper()
	if r.Condition == "" {
		return true
	}
	ok, err := tmpl.Condition(r.Condition, samtemplate.ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
