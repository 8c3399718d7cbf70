package infra

import (
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
	// Invoked asynchronously (by EventBridge Scheduler or SNS): an event
	// that fails every retry would otherwise be dropped.
	for _, id := range []string{"IngestFunction", "PlannerFunction", "FeedbackFunction"} {
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
