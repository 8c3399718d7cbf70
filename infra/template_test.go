package infra

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/samtemplate"
)

// The operations template.yaml promises, checked on the template itself:
// cfn-lint proves it valid, not that it keeps these promises.

func loadTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tmpl, err := samtemplate.Load("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// resolved is a property resolved with the parameters' defaults.
func resolved(t *testing.T, tmpl *samtemplate.Template, v any) any {
	t.Helper()
	out, err := tmpl.Resolve(v, samtemplate.ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// target is the resource a resolved "ref:X" or "getatt:X.Attr" names.
func target(t *testing.T, tmpl *samtemplate.Template, v any) (string, samtemplate.Resource) {
	t.Helper()
	s, _ := v.(string)
	id, ok := strings.CutPrefix(s, "ref:")
	if !ok {
		id, ok = strings.CutPrefix(s, "getatt:")
		id, _, _ = strings.Cut(id, ".")
	}
	r, found := tmpl.Resources[id]
	if !ok || !found {
		t.Fatalf("%v names no resource of the template", v)
	}
	return id, r
}

func path(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

func TestAsyncFunctionsKeepFailedEvents(t *testing.T) {
	tmpl := loadTemplate(t)
	// Invoked asynchronously (by EventBridge Scheduler): an event that fails
	// every retry would otherwise be dropped. The feedback function reads a
	// queue instead (TestFeedbackCannotBeLost).
	for _, id := range []string{"IngestFunction", "PlannerFunction"} {
		t.Run(id, func(t *testing.T) {
			fn := function(t, tmpl, id)
			dlq := fn.Properties["DeadLetterQueue"]
			onFailure := path(fn.Properties, "EventInvokeConfig", "DestinationConfig", "OnFailure", "Destination")
			switch {
			case dlq != nil:
				if typ := path(dlq, "Type"); typ != "SQS" {
					t.Errorf("DeadLetterQueue type %v, want SQS", typ)
				}
				if _, r := target(t, tmpl, resolved(t, tmpl, path(dlq, "TargetArn"))); r.Type != "AWS::SQS::Queue" {
					t.Errorf("dead-letter target is a %s", r.Type)
				}
			case onFailure != nil:
				target(t, tmpl, resolved(t, tmpl, onFailure))
			default:
				t.Error("no dead-letter queue or on-failure destination")
			}
		})
	}
}

// The failed-invocations queue keeps what lands in it for 14 days, SQS's
// longest, for an operator to read and replay.
func TestFailedInvocationsAreKeptTwoWeeks(t *testing.T) {
	q := loadTemplate(t).Resources["FailedInvocationsQueue"]
	if q.Type != "AWS::SQS::Queue" || q.Properties["MessageRetentionPeriod"] != 1209600 {
		t.Errorf("FailedInvocationsQueue %s retains %v s, want an SQS queue keeping 1209600 s (14 days)", q.Type, q.Properties["MessageRetentionPeriod"])
	}
}

func TestSchedulesRetryAndKeepFailures(t *testing.T) {
	tmpl := loadTemplate(t)
	schedules := 0
	for _, fn := range tmpl.Functions() {
		events, _ := fn.Properties["Events"].(map[string]any)
		for name, ev := range events {
			if path(ev, "Type") != "ScheduleV2" {
				continue
			}
			schedules++
			props := path(ev, "Properties")
			if n, _ := path(props, "RetryPolicy", "MaximumRetryAttempts").(int); n < 1 {
				t.Errorf("%s.%s: RetryPolicy.MaximumRetryAttempts = %v, want at least 1", fn.LogicalID, name, path(props, "RetryPolicy", "MaximumRetryAttempts"))
			}
			if age, _ := path(props, "RetryPolicy", "MaximumEventAgeInSeconds").(int); age < 60 {
				t.Errorf("%s.%s: RetryPolicy.MaximumEventAgeInSeconds = %v, want at least 60", fn.LogicalID, name, age)
			}
			dlq := path(props, "DeadLetterConfig")
			if arn := path(dlq, "Arn"); arn != nil {
				if _, r := target(t, tmpl, resolved(t, tmpl, arn)); r.Type != "AWS::SQS::Queue" {
					t.Errorf("%s.%s: dead-letter target is a %s", fn.LogicalID, name, r.Type)
				}
			} else if path(dlq, "Type") != "SQS" {
				t.Errorf("%s.%s: no DeadLetterConfig", fn.LogicalID, name)
			}
		}
	}
	if schedules != 2 {
		t.Errorf("%d schedules, want 2 (ingest and planner)", schedules)
	}
}

func TestEveryFunctionLogsWithRetention(t *testing.T) {
	tmpl := loadTemplate(t)
	param, ok := tmpl.Parameters["LogRetentionDays"]
	if !ok || param.Default != "90" {
		t.Fatalf("parameter LogRetentionDays = %+v, want a default of 90", param)
	}
	groups := map[string]string{}
	for _, fn := range tmpl.Functions() {
		id, group := target(t, tmpl, resolved(t, tmpl, path(fn.Properties, "LoggingConfig", "LogGroup")))
		if group.Type != "AWS::Logs::LogGroup" {
			t.Errorf("%s logs to a %s", fn.LogicalID, group.Type)
			continue
		}
		if other, shared := groups[id]; shared {
			t.Errorf("%s and %s share log group %s", fn.LogicalID, other, id)
		}
		groups[id] = fn.LogicalID
		if ref := path(group.Properties, "RetentionInDays", "Ref"); ref != "LogRetentionDays" {
			t.Errorf("log group %s: RetentionInDays %v, want the LogRetentionDays parameter", id, group.Properties["RetentionInDays"])
		}
		if path(fn.Properties, "LoggingConfig", "LogFormat") != "JSON" {
			t.Errorf("%s: log format is not JSON", fn.LogicalID)
		}
	}
}

func TestTablesOfPeopleAreProtected(t *testing.T) {
	tmpl := loadTemplate(t)
	for _, id := range []string{"SubscribersTable", "SuppressionsTable", "SendsTable"} {
		r := tmpl.Resources[id]
		if r.Properties["DeletionProtectionEnabled"] != true {
			t.Errorf("%s: DeletionProtectionEnabled = %v, want true", id, r.Properties["DeletionProtectionEnabled"])
		}
		if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
			t.Errorf("%s: deletion policy %q, replace policy %q, want Retain", id, r.DeletionPolicy, r.UpdateReplacePolicy)
		}
	}
}

func function(t *testing.T, tmpl *samtemplate.Template, id string) samtemplate.Function {
	t.Helper()
	for _, fn := range tmpl.Functions() {
		if fn.LogicalID == id {
			return fn
		}
	}
	t.Fatalf("the template has no function %s", id)
	return samtemplate.Function{}
}

// statements returns the policy statements of a list of IAM or SAM
// policies: inline documents ({Statement: ...} in SAM, {PolicyDocument:
// {Statement: ...}} in IAM). SAM policy templates name their resource.
func statements(policies any) []map[string]any {
	var out []map[string]any
	list, _ := policies.([]any)
	for _, p := range list {
		doc := p
		if d := path(p, "PolicyDocument"); d != nil {
			doc = d
		}
		switch s := path(doc, "Statement").(type) {
		case []any:
			for _, st := range s {
				if m, ok := st.(map[string]any); ok {
					out = append(out, m)
				}
			}
		case map[string]any:
			out = append(out, s)
		}
	}
	return out
}

// strs returns a policy field that is a string or a list of strings.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// checkSQSScoped fails for an SQS permission on every queue ("*"): in a
// function's policies, in an IAM role of the template, or granted by SAM,
// which gives a function with an SQS event and no Role of its own the
// managed AWSLambdaSQSQueueExecutionRole on "*". A function that consumes a
// queue needs the consumer's actions on that queue.
func checkSQSScoped(t *testing.T, tmpl *samtemplate.Template) {
	t.Helper()
	wildcard := func(where string, sts []map[string]any) {
		for _, st := range sts {
			for _, a := range strs(st["Action"]) {
				if !strings.HasPrefix(strings.ToLower(a), "sqs:") && a != "*" {
					continue
				}
				for _, r := range strs(st["Resource"]) {
					if strings.Contains(r, "*") {
						t.Errorf("%s: %s on %q", where, a, r)
					}
				}
			}
		}
	}
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::IAM::Role" {
			continue
		}
		props := resolved(t, tmpl, r.Properties)
		wildcard("role "+id, statements(path(props, "Policies")))
		for _, arn := range strs(path(props, "ManagedPolicyArns")) {
			if strings.Contains(arn, "SQS") {
				t.Errorf("role %s: managed policy %s", id, arn)
			}
		}
	}
	for _, fn := range tmpl.Functions() {
		wildcard(fn.LogicalID, statements(resolved(t, tmpl, fn.Properties["Policies"])))
		events, _ := fn.Properties["Events"].(map[string]any)
		for name, ev := range events {
			if path(ev, "Type") != "SQS" {
				continue
			}
			if fn.Properties["Role"] == nil {
				t.Errorf("%s.%s: an SQS event without an explicit Role, so SAM grants AWSLambdaSQSQueueExecutionRole on every queue", fn.LogicalID, name)
				continue
			}
			roleID, role := target(t, tmpl, resolved(t, tmpl, fn.Properties["Role"]))
			if role.Type != "AWS::IAM::Role" {
				t.Errorf("%s: role %s is a %s", fn.LogicalID, roleID, role.Type)
				continue
			}
			queue := resolved(t, tmpl, path(ev, "Properties", "Queue"))
			need := map[string]bool{"sqs:ReceiveMessage": true, "sqs:DeleteMessage": true, "sqs:GetQueueAttributes": true, "sqs:ChangeMessageVisibility": true}
			for _, st := range statements(path(resolved(t, tmpl, role.Properties), "Policies")) {
				if st["Effect"] == "Allow" && slices.Contains(strs(st["Resource"]), queue.(string)) {
					for _, a := range strs(st["Action"]) {
						delete(need, a)
					}
				}
			}
			if len(need) > 0 {
				t.Errorf("%s.%s: role %s does not allow %v on %v", fn.LogicalID, name, roleID, slices.Sorted(maps.Keys(need)), queue)
			}
		}
	}
}

// checkTopicPolicyPinsSource fails unless every statement letting SES
// publish to a topic pins both the account and the configuration set.
func checkTopicPolicyPinsSource(t *testing.T, tmpl *samtemplate.Template) {
	t.Helper()
	policies := 0
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::SNS::TopicPolicy" {
			continue
		}
		policies++
		for _, st := range statements([]any{resolved(t, tmpl, r.Properties)}) {
			if !slices.Contains(strs(path(st, "Principal", "Service")), "ses.amazonaws.com") {
				continue
			}
			cond := path(st, "Condition", "StringEquals")
			if got := path(cond, "AWS:SourceAccount"); got != "123456789012" {
				t.Errorf("%s: AWS:SourceAccount = %v, want the stack's account", id, got)
			}
			want := "arn:aws:ses:us-east-1:123456789012:configuration-set/ref:MailConfigurationSet"
			if got := path(cond, "AWS:SourceArn"); got != want {
				t.Errorf("%s: AWS:SourceArn = %v, want the configuration set %s", id, got, want)
			}
		}
	}
	if policies == 0 {
		t.Error("no SNS topic policy")
	}
}

func TestNoFunctionMayUseEveryQueue(t *testing.T) { checkSQSScoped(t, loadTemplate(t)) }

func TestFeedbackTopicAcceptsOnlyOurConfigurationSet(t *testing.T) {
	checkTopicPolicyPinsSource(t, loadTemplate(t))
}

// TestFeedbackCannotBeLost: SES → topic → queue → function, every hop
// keeping what it could not hand on. Only the events the function acts on
// are published; the SNS envelope, signature included, reaches the
// function; only the topic may send to the queues.
func TestFeedbackCannotBeLost(t *testing.T) {
	tmpl := loadTemplate(t)
	res := func(id string) map[string]any {
		t.Helper()
		r, ok := tmpl.Resources[id]
		if !ok {
			t.Fatalf("the template has no %s", id)
		}
		props, _ := resolved(t, tmpl, r.Properties).(map[string]any)
		return props
	}
	const (
		topic = "ref:FeedbackTopic"
		queue = "getatt:FeedbackQueue.Arn"
		dlq   = "getatt:FeedbackDeadLetterQueue.Arn"
	)

	dest := res("MailFeedbackDestination")
	if got := strs(path(dest, "EventDestination", "MatchingEventTypes")); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"bounce", "complaint", "reject"}) {
		t.Errorf("the configuration set publishes %v, want bounce, complaint and reject only", got)
	}
	if got := path(dest, "EventDestination", "SnsDestination", "TopicARN"); got != topic {
		t.Errorf("the configuration set publishes to %v, want the feedback topic", got)
	}
	if v := res("FeedbackTopic")["SignatureVersion"]; v != "2" {
		t.Errorf("the feedback topic signs with version %v, want 2 (SHA256)", v)
	}

	sub := res("FeedbackSubscription")
	if sub["TopicArn"] != topic || sub["Protocol"] != "sqs" || sub["Endpoint"] != queue {
		t.Errorf("subscription %v, want the feedback queue on the feedback topic", sub)
	}
	if raw, _ := sub["RawMessageDelivery"].(bool); raw {
		t.Error("raw message delivery is on: the function would get no signature to verify")
	}
	if got := path(sub, "RedrivePolicy", "deadLetterTargetArn"); got != dlq {
		t.Errorf("what SNS cannot deliver goes to %v, want the feedback dead-letter queue", got)
	}

	q := res("FeedbackQueue")
	if got := path(q, "RedrivePolicy", "deadLetterTargetArn"); got != dlq {
		t.Errorf("the feedback queue redrives to %v, want its dead-letter queue", got)
	}
	if n, _ := path(q, "RedrivePolicy", "maxReceiveCount").(int); n < 3 {
		t.Errorf("maxReceiveCount %v: a passing failure would put a bounce aside", path(q, "RedrivePolicy", "maxReceiveCount"))
	}
	for id, want := range map[string]any{"FeedbackQueue": nil, "FeedbackDeadLetterQueue": 1209600} {
		props := res(id)
		if props["SqsManagedSseEnabled"] != true {
			t.Errorf("%s is not encrypted at rest", id)
		}
		if want != nil && props["MessageRetentionPeriod"] != want {
			t.Errorf("%s keeps messages %v s, want %v (14 days)", id, props["MessageRetentionPeriod"], want)
		}
	}

	policy := res("FeedbackQueuePolicy")
	if got := strs(policy["Queues"]); !slices.Equal(got, []string{"ref:FeedbackQueue", "ref:FeedbackDeadLetterQueue"}) {
		t.Errorf("the queue policy covers %v, want both feedback queues", got)
	}
	sts := statements([]any{policy})
	if len(sts) == 0 {
		t.Fatal("the feedback queue policy has no statement")
	}
	for _, st := range sts {
		if st["Effect"] != "Allow" {
			continue
		}
		if got := strs(path(st, "Principal", "Service")); !slices.Equal(got, []string{"sns.amazonaws.com"}) || !slices.Equal(strs(st["Action"]), []string{"sqs:SendMessage"}) {
			t.Errorf("the queue policy allows %v to %v, want SNS to send only", path(st, "Principal"), st["Action"])
		}
		if got := path(st, "Condition", "ArnEquals", "aws:SourceArn"); got != topic {
			t.Errorf("the queue policy lets %v send, want only the feedback topic", got)
		}
	}

	fn := function(t, tmpl, "FeedbackFunction")
	if fn.Properties["DeadLetterQueue"] != nil {
		t.Error("FeedbackFunction has an async dead-letter queue: the feedback queue's redrive keeps failures")
	}
	events, _ := fn.Properties["Events"].(map[string]any)
	if len(events) != 1 {
		t.Fatalf("FeedbackFunction has events %v, want the feedback queue only", slices.Sorted(maps.Keys(events)))
	}
	for name, ev := range events {
		props := resolved(t, tmpl, path(ev, "Properties"))
		if path(ev, "Type") != "SQS" || path(props, "Queue") != queue {
			t.Errorf("FeedbackFunction.%s: a %v event on %v, want SQS on the feedback queue", name, path(ev, "Type"), path(props, "Queue"))
		}
		if !slices.Contains(strs(path(props, "FunctionResponseTypes")), "ReportBatchItemFailures") {
			t.Errorf("FeedbackFunction.%s: no partial batch failures: one failed record would retry the batch", name)
		}
	}
}

// TestEveryMailUsesTheConfigurationSet: a function that may send mail has
// the configuration set in its environment, so that its mails' bounces and
// complaints come back, and may send through it.
func TestEveryMailUsesTheConfigurationSet(t *testing.T) {
	tmpl := loadTemplate(t)
	setARN := "arn:aws:ses:us-east-1:123456789012:configuration-set/ref:MailConfigurationSet"
	senders := 0
	for _, fn := range tmpl.Functions() {
		sts := statements(resolved(t, tmpl, fn.Properties["Policies"]))
		if role := fn.Properties["Role"]; role != nil {
			_, r := target(t, tmpl, resolved(t, tmpl, role))
			sts = append(sts, statements(path(resolved(t, tmpl, r.Properties), "Policies"))...)
		}
		sends, viaSet := false, false
		for _, st := range sts {
			if st["Effect"] != "Allow" || !slices.Contains(strs(st["Action"]), "ses:SendRawEmail") {
				continue
			}
			sends = true
			viaSet = viaSet || slices.Contains(strs(st["Resource"]), setARN)
		}
		if !sends {
			continue
		}
		senders++
		env, err := tmpl.FunctionEnv(fn.LogicalID, samtemplate.ResolveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := env["RADIOGRAM_SES_CONFIGURATION_SET"]; got != "ref:MailConfigurationSet" {
			t.Errorf("%s sends mail with RADIOGRAM_SES_CONFIGURATION_SET %q, want the stack's configuration set", fn.LogicalID, got)
		}
		if !viaSet {
			t.Errorf("%s may not send through the configuration set (ses:SendRawEmail on %s)", fn.LogicalID, setARN)
		}
	}
	if senders < 2 {
		t.Errorf("%d functions send mail, want at least the API and the sender", senders)
	}
}

// TestInboundUnsubscribeWiring: with InboundUnsubscribeAddress, SES's
// receipt rule for exactly that address invokes the inbound function
// asynchronously, and SES alone may invoke it, from that rule; without it,
// nothing receives mail.
func TestInboundUnsubscribeWiring(t *testing.T) {
	tmpl := loadTemplate(t)
	for _, id := range []string{"InboundRuleSet", "InboundUnsubscribeRule", "InboundInvokePermission"} {
		if got := tmpl.Resources[id].Condition; got != "ReceivesUnsubscribes" {
			t.Errorf("%s has condition %q, want ReceivesUnsubscribes", id, got)
		}
	}
	for value, want := range map[string]bool{"": false, "unsubscribe@list.society.org": true} {
		got, err := tmpl.Condition("ReceivesUnsubscribes", samtemplate.ResolveOptions{Parameters: map[string]string{"InboundUnsubscribeAddress": value}})
		if err != nil || got != want {
			t.Errorf("ReceivesUnsubscribes with %q = %v (%v), want %v", value, got, err, want)
		}
	}
	opts := samtemplate.ResolveOptions{Parameters: map[string]string{"InboundUnsubscribeAddress": "unsubscribe@list.society.org"}}
	rule, err := tmpl.Resolve(tmpl.Resources["InboundUnsubscribeRule"].Properties, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := path(rule, "Rule", "Recipients"); !reflect.DeepEqual(got, []any{"unsubscribe@list.society.org"}) {
		t.Errorf("rule recipients %v, want the address alone", got)
	}
	actions, _ := path(rule, "Rule", "Actions").([]any)
	if len(actions) != 1 || path(actions[0], "LambdaAction", "InvocationType") != "Event" ||
		path(actions[0], "LambdaAction", "FunctionArn") != "getatt:InboundFunction.Arn" {
		t.Errorf("rule actions %v, want one asynchronous Lambda action on the inbound function", actions)
	}
	perm, err := tmpl.Resolve(tmpl.Resources["InboundInvokePermission"].Properties, opts)
	if err != nil {
		t.Fatal(err)
	}
	if path(perm, "Principal") != "ses.amazonaws.com" || path(perm, "FunctionName") != "ref:InboundFunction" || path(perm, "SourceArn") == nil {
		t.Errorf("permission %v, want SES invoking the inbound function from the stack's rule", perm)
	}
	env, err := tmpl.FunctionEnv("InboundFunction", opts)
	if err != nil {
		t.Fatal(err)
	}
	if env["RADIOGRAM_UNSUBSCRIBE_MAILTO"] != "unsubscribe@list.society.org" {
		t.Errorf("inbound function's address %q, want the parameter", env["RADIOGRAM_UNSUBSCRIBE_MAILTO"])
	}
	for _, id := range []string{"ApiFunction", "SenderFunction"} {
		if env, err := tmpl.FunctionEnv(id, samtemplate.ResolveOptions{}); err != nil || env["RADIOGRAM_UNSUBSCRIBE_MAILTO"] != "" {
			t.Errorf("%s offers the mailto %q (%v) by default, where nothing receives mail", id, env["RADIOGRAM_UNSUBSCRIBE_MAILTO"], err)
		}
	}
}
