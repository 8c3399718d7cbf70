package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// adminCall makes an admin API request and decodes its JSON answer.
func adminCall(t *testing.T, method, url, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// failFor fails every send to one address, permanently.
type failFor struct {
	inner email.Sender
	addr  string
}

func (f failFor) Send(ctx context.Context, m email.Message) (string, error) {
	if m.To == f.addr {
		return "", errors.New("mailbox unavailable")
	}
	return f.inner.Send(ctx, m)
}

// TestAdminSends drives the admin send routes against moto: each target,
// a dry run, an idempotency key, previews, a test send, and the run
// history's counts after a send with a failure.
func TestAdminSends(t *testing.T) {
	t.Parallel()
	a, srv := newIngestedApp(t)
	ctx := context.Background()
	everything := []string{"ai", "screening", "guidelines", "policy", "safety", "ultrasound", "workforce", "events", "cancer", "education", "research"}
	addConfirmed(t, a, "ada@hospital.test", subscribers.Preferences{Topics: []string{"ai"}, Frequency: subscribers.Daily, Hour: 7})
	addConfirmed(t, a, "bob@hospital.test", subscribers.Preferences{Topics: []string{"ultrasound", "safety"}, Frequency: subscribers.Weekly, Hour: 9})
	addConfirmed(t, a, "cyd@hospital.test", subscribers.Preferences{Topics: everything, Frequency: subscribers.Instant})
	addConfirmed(t, a, "dee@hospital.test", subscribers.Preferences{Topics: []string{"covid"}, Frequency: subscribers.Daily, Hour: 7})
	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Bad input: 4xx with a reason.
	for _, tt := range []struct {
		body string
		want int
	}{
		{`{"target":"everyone"}`, 400},
		{`{"target":"topic:astrology"}`, 400},
		{`{"target":"subscriber:nobody@hospital.test"}`, 404},
		{`{"target":"subscriber:not-an-address"}`, 400},
		{`{"target":"all","dry_run":"yes"}`, 400},
		{`{"target":"all","extra":1}`, 400},
		{`not json`, 400},
	} {
		if status, body := adminCall(t, "POST", srv.URL+"/admin/sends", tt.body); status != tt.want || body["error"] == nil {
			t.Errorf("POST %s: %d %v, want %d with a reason", tt.body, status, body, tt.want)
		}
	}

	// A dry run to everyone answers at once; the planner plans its
	// shards; its run then reports who would get what, and nothing changed.
	status, dry := adminCall(t, "POST", srv.URL+"/admin/sends", `{"target":"all","dry_run":true}`)
	dryID, _ := dry["run_id"].(string)
	if status != 202 || dry["status"] != "planning" || dry["dry_run"] != true || dryID == "" {
		t.Fatalf("dry run: %d %v, want 202 planning", status, dry)
	}
	if status, run := adminCall(t, "GET", srv.URL+"/admin/sends/"+dryID, ""); status != 200 || run["status"] != "planning" || run["shards"] != float64(delivery.Shards) {
		t.Errorf("the dry run before planning: %d %v", status, run)
	}
	drain(t, a, sender)
	status, dryRun := adminCall(t, "GET", srv.URL+"/admin/sends/"+dryID, "")
	plan, _ := dryRun["plan"].(map[string]any)
	if status != 200 || dryRun["status"] != "planned" || dryRun["shards_planned"] != float64(delivery.Shards) ||
		plan["planned"] != float64(3) || plan["candidates"] != float64(4) || plan["skipped"].(map[string]any)["nothing new"] != float64(1) {
		t.Fatalf("the planned dry run: %d %v", status, dryRun)
	}
	recipients, _ := plan["recipients"].([]any)
	emails := map[string]bool{}
	for _, r := range recipients {
		emails[r.(map[string]any)["email"].(string)] = true
	}
	if len(recipients) != 4 || !emails["ada@hospital.test"] || !emails["dee@hospital.test"] {
		t.Errorf("the dry run's sample: %v, want the 4 subscribers with their addresses", recipients)
	}
	// A dry run for one subscriber is planned at once, and answered.
	status, one := adminCall(t, "POST", srv.URL+"/admin/sends", `{"target":"subscriber:ada@hospital.test","dry_run":true}`)
	if plan, _ := one["plan"].(map[string]any); status != 200 || one["status"] != "planned" || plan["planned"] != float64(1) {
		t.Errorf("dry run for one subscriber: %d %v", status, one)
	}
	drain(t, a, sender)
	for _, who := range []string{"ada", "bob", "cyd", "dee"} {
		if n := len(mailbox(t, a, who+"@hospital.test")); n != 0 {
			t.Errorf("a dry run mailed %s", who)
		}
	}

	// Preview: exactly what ada would get now, and no state change.
	resp, err := http.NewRequest("GET", srv.URL+"/admin/preview?subscriber=ada@hospital.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Set("Authorization", "Bearer "+testAdminToken)
	got, err := http.DefaultClient.Do(resp)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if got.StatusCode != 200 || !strings.Contains(string(html), "AI Register") || !strings.Contains(got.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("preview: %d, CSP %q", got.StatusCode, got.Header.Get("Content-Security-Policy"))
	}
	if status, _ := adminCall(t, "GET", srv.URL+"/admin/preview?topic=ultrasound", ""); status != 200 {
		t.Errorf("topic preview: %d", status)
	}
	if status, _ := adminCall(t, "GET", srv.URL+"/admin/preview?subscriber=dee@hospital.test", ""); status != 404 {
		t.Errorf("preview with nothing new: %d, want 404", status)
	}
	if status, _ := adminCall(t, "GET", srv.URL+"/admin/preview?topic=astrology", ""); status != 400 {
		t.Errorf("preview of an unknown topic: %d", status)
	}

	// A test send goes only to a configured admin address.
	if status, body := adminCall(t, "POST", srv.URL+"/admin/preview/send", `{"subscriber":"ada@hospital.test","to":"staff@radiogram.test"}`); status != 202 {
		t.Fatalf("test send: %d %v", status, body)
	}
	if box := waitForMail(t, a, "staff@radiogram.test", 1); !strings.HasPrefix(box[0].subject(), "[Preview]") {
		t.Errorf("test send subject %q", box[0].subject())
	}
	if status, _ := adminCall(t, "POST", srv.URL+"/admin/preview/send", `{"subscriber":"ada@hospital.test","to":"someone@elsewhere.test"}`); status != 400 {
		t.Errorf("test send to an outside address: %d, want 400", status)
	}

	// One subscriber, twice with one idempotency key: one run, one mail.
	var runIDs []string
	for range 2 {
		status, body := adminCall(t, "POST", srv.URL+"/admin/sends", `{"target":"subscriber:ada@hospital.test"}`, "Idempotency-Key", "ada-once")
		if status != 202 {
			t.Fatalf("send to ada: %d %v", status, body)
		}
		runIDs = append(runIDs, body["run_id"].(string))
	}
	if runIDs[0] != runIDs[1] {
		t.Errorf("the same idempotency key made runs %v", runIDs)
	}
	drain(t, a, sender)
	if n := len(mailbox(t, a, "ada@hospital.test")); n != 1 {
		t.Errorf("ada got %d mails, want 1", n)
	}

	// A topic: bob (ultrasound) and cyd (everything); bob's send fails.
	sender.Mail = failFor{inner: a.MailSender, addr: "bob@hospital.test"}
	status, body := adminCall(t, "POST", srv.URL+"/admin/sends", `{"target":"topic:ultrasound"}`)
	if status != 202 {
		t.Fatalf("topic send: %d %v", status, body)
	}
	topicRun := body["run_id"].(string)
	drain(t, a, sender)
	if n := len(mailbox(t, a, "cyd@hospital.test")); n != 1 {
		t.Errorf("cyd got %d mails, want 1", n)
	}
	status, run := adminCall(t, "GET", srv.URL+"/admin/sends/"+topicRun, "")
	if status != 200 || run["sent"] != float64(1) || run["failed"] != float64(1) || run["started_by"] != "admin (api)" || run["target"] != "topic:ultrasound" {
		t.Errorf("run history: %d %v", status, run)
	}
	if failures, _ := run["failures"].([]any); len(failures) != 1 || !strings.Contains(failures[0].(map[string]any)["reason"].(string), "mailbox unavailable") {
		t.Errorf("failures: %v", run["failures"])
	}
	if status, _ := adminCall(t, "GET", srv.URL+"/admin/sends/nope", ""); status != 404 {
		t.Errorf("unknown run: %d", status)
	}
	if status, runs := adminCall(t, "GET", srv.URL+"/admin/sends", ""); status != 200 || len(runs["runs"].([]any)) < 3 {
		t.Errorf("run list: %d %v", status, runs)
	}

	// Everyone now: ada and cyd have nothing new; bob's failed mail is retried.
	sender.Mail = a.MailSender
	if status, body := adminCall(t, "POST", srv.URL+"/admin/sends", `{"target":"all"}`); status != 202 {
		t.Fatalf("send to all: %d %v", status, body)
	}
	drain(t, a, sender)
	drain(t, a, sender)
	for who, want := range map[string]int{"ada": 1, "bob": 1, "cyd": 1, "dee": 0} {
		if n := len(mailbox(t, a, who+"@hospital.test")); n != want {
			t.Errorf("%s got %d mails, want %d", who, n, want)
		}
	}

	// The subscriber's send log, the summary and the audit log.
	status, detail := adminCall(t, "GET", srv.URL+"/admin/subscribers?email=ada@hospital.test", "")
	if sends, _ := detail["sends"].([]any); status != 200 || len(sends) == 0 || sends[0].(map[string]any)["message_id"] == nil {
		t.Errorf("subscriber detail: %d %v", status, detail)
	}
	status, sum := adminCall(t, "GET", srv.URL+"/admin/subscribers/summary", "")
	if status != 200 || sum["by_status"].(map[string]any)["confirmed"] != float64(4) || sum["by_topic"].(map[string]any)["ai"] != float64(2) {
		t.Errorf("summary: %d %v", status, sum)
	}
	status, audit := adminCall(t, "GET", srv.URL+"/admin/audit", "")
	if status != 200 {
		t.Fatalf("audit: %d %v", status, audit)
	}
	actions := map[string]bool{}
	for _, e := range audit["entries"].([]any) {
		entry := e.(map[string]any)
		actions[entry["action"].(string)] = true
		if entry["client"] != "127.0.0.1" {
			t.Errorf("audit entry %v lacks the client address", entry)
		}
	}
	for _, want := range []string{"send.dry_run", "send.trigger", "preview.test_send"} {
		if !actions[want] {
			t.Errorf("audit log lacks %s: %v", want, actions)
		}
	}
}
