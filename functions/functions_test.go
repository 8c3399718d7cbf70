// Package functions_test runs the artifacts that deploy: each function's
// bootstrap, built by the recipe `sam build` uses, started with the
// environment moto's Lambda reports for it after the whole template was
// deployed, and invoked through a Lambda Runtime API on loopback with the
// sample events of events/. It is sam local without Docker: a function that
// cannot start with what the template gives it fails here.
package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/radiogram/radiogram/internal/awsconfig"
	"github.com/radiogram/radiogram/internal/config"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/dynamo"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/lambdalocal"
	"github.com/radiogram/radiogram/internal/localenv"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// stack is the deployment the functions run against, shared by the tests
// of this package.
type stack struct {
	env        *localenv.Env
	aws        aws.Config
	bootstraps map[string]string // by logical id
	feed       *httptest.Server
	registry   string // the feed registry file pointing at feed
}

var deployed *stack

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	s, cleanup, err := deploy()
	if err != nil {
		fmt.Fprintln(os.Stderr, "functions: ", err)
		return 1
	}
	defer cleanup()
	deployed = s
	return m.Run()
}

func deploy() (*stack, func(), error) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return nil, nil, fmt.Errorf("moto_server is required: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := localenv.RepoRoot()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "radiogram-functions-")
	if err != nil {
		return nil, nil, err
	}
	s := &stack{bootstraps: map[string]string{}}
	var cleanups []func()
	cleanup := func() {
		for _, c := range slices.Backward(cleanups) {
			c()
		}
	}
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })

	for _, role := range config.Roles {
		id := role.FunctionID()
		bootstrap, err := lambdalocal.Build(ctx, root, id, filepath.Join(dir, id))
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		s.bootstraps[id] = bootstrap
	}

	feedXML, err := os.ReadFile("testdata/feed.xml")
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	s.feed = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Write(feedXML)
	}))
	cleanups = append(cleanups, s.feed.Close)
	s.registry = filepath.Join(dir, "feeds.json")
	registry := fmt.Sprintf(`[{"society": "esr", "name": "European Society of Radiology", "url": %q}]`, s.feed.URL+"/feed")
	if err := os.WriteFile(s.registry, []byte(registry), 0o600); err != nil {
		cleanup()
		return nil, nil, err
	}

	s.env, err = localenv.Start(ctx, localenv.Options{Parameters: map[string]string{
		"PublicBaseUrl":             "https://news.radiogram.test",
		"MailFrom":                  "Radiogram <news@radiogram.test>",
		"SesIdentity":               "radiogram.test",
		"InboundUnsubscribeAddress": "unsubscribe@radiogram.test",
	}})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	cleanups = append(cleanups, func() { s.env.Close() })
	if err := s.env.VerifyEmailIdentity(ctx, "radiogram.test"); err != nil {
		cleanup()
		return nil, nil, err
	}
	s.aws, err = awsconfig.Load(ctx, s.env.Region, s.env.Endpoint)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return s, cleanup, nil
}

// start runs a function's bootstrap with the environment moto reports for
// it; feeds marks the two functions that fetch the test's loopback feed.
func start(t testing.TB, logicalID string, feeds bool) *lambdalocal.Function {
	t.Helper()
	if deployed == nil {
		t.Skip("runs the functions against moto_server; skipped in -short mode (make unit)")
	}
	env := deployed.env.FunctionEnv(logicalID)
	if env == nil {
		t.Fatalf("moto holds no function %s", logicalID)
	}
	if feeds {
		// What only a local run adds: the loopback feed, and leave to reach it.
		env["RADIOGRAM_FEEDS"] = deployed.registry
		env["RADIOGRAM_ALLOW_LOOPBACK"] = "1"
	}
	var logs bytes.Buffer
	fn, err := lambdalocal.Start(context.Background(), deployed.bootstraps[logicalID], lambdalocal.Options{
		Name:        deployed.env.Functions[logicalID].Name,
		Env:         env,
		Timeout:     time.Minute,
		InitTimeout: 30 * time.Second,
		Stderr:      &logs,
	})
	if err != nil {
		t.Fatalf("%s did not start with the environment the template gives it: %v", logicalID, err)
	}
	t.Cleanup(func() {
		fn.Close()
		if t.Failed() {
			t.Logf("%s logs:\n%s", logicalID, logs.String())
		}
	})
	t.Logf("%s: init %s", logicalID, fn.InitDuration().Round(time.Microsecond))
	return fn
}

// invoke hands event to fn and decodes its answer into out (if not nil); a
// function error fails the test.
func invoke(t *testing.T, fn *lambdalocal.Function, event []byte, out any) {
	t.Helper()
	res, err := fn.Invoke(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != nil {
		t.Fatalf("function error: %v", res.Error)
	}
	if out != nil {
		if err := json.Unmarshal(res.Payload, out); err != nil {
			t.Fatalf("decode answer %s: %v", res.Payload, err)
		}
	}
}

func sampleEvent(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestFunctionsRun takes one item from a feed to a sent mail through the
// real bootstraps, in the order the cloud runs them.
func TestFunctionsRun(t *testing.T) {
	if deployed == nil {
		t.Skip("runs the functions against moto_server; skipped in -short mode (make unit)")
	}
	ctx := context.Background()
	db := dynamodb.NewFromConfig(deployed.aws)
	out := deployed.env.Outputs
	itemStore := dynamo.NewItemStore(db, out["ItemsTableName"])
	subscriberStore := dynamo.NewSubscriberStore(db, out["SubscribersTableName"])
	ledger := dynamo.NewLedger(db, out["SendsTableName"], time.Now)

	t.Run("ingest", func(t *testing.T) {
		fn := start(t, "IngestFunction", true)
		var run struct {
			Status    string `json:"status"`
			StartedBy string `json:"started_by"`
			Summary   struct {
				FeedsOK  int `json:"feeds_ok"`
				ItemsNew int `json:"items_new"`
			} `json:"summary"`
		}
		invoke(t, fn, sampleEvent(t, "ingest-schedule.json"), &run)
		if run.Status != "done" || run.StartedBy != "schedule" || run.Summary.FeedsOK != 1 || run.Summary.ItemsNew != 2 {
			t.Errorf("run %+v, want a done run started by the schedule, 1 feed ok and 2 new items", run)
		}
		stored, err := itemStore.List(ctx, items.Query{Societies: []string{"esr"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 2 || !slices.ContainsFunc(stored, func(it items.Item) bool { return slices.Contains(it.TopicIDs(), "ai") }) {
			t.Errorf("items table holds %d items (%v), want the feed's 2, one tagged ai", len(stored), stored)
		}
		// A run with news hands the shards of its alerts to the planner.
		for _, m := range receiveAll(t, out["PlanQueueUrl"], delivery.Shards) {
			var req delivery.Request
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &req); err != nil || req.Target.Kind != delivery.TargetInstant || !req.Sharded {
				t.Errorf("plan queue holds %s, want a shard of the alerts", aws.ToString(m.Body))
			}
		}
	})

	// A daily reader of AI news, due this hour, and an AI item ingested in
	// the day the digest covers (this hour's ingest is for the next one).
	now := time.Now().UTC()
	earlier := items.Item{
		Key: "esr-parity-earlier", Society: "esr", FeedID: "parity", GUID: "parity-earlier",
		Title: "Deep learning triage of chest radiographs", Link: "https://www.myesr.example/news/triage",
		Published: now.Add(-3 * time.Hour), FirstSeen: now.Truncate(time.Hour).Add(-2 * time.Hour),
		Summary: "A multicentre evaluation of AI triage.", ContentHash: "parity", Topics: []items.TopicScore{{ID: "ai", Score: 1}},
	}
	if _, err := itemStore.Create(ctx, earlier); err != nil {
		t.Fatal(err)
	}
	reader := subscribers.Subscriber{
		ID: "parity-reader", Email: "reader@hospital.test", Status: subscribers.StatusConfirmed,
		Preferences: subscribers.Preferences{
			Topics: []string{"ai"}, Frequency: subscribers.Daily, Hour: now.Hour(), TimeZone: "UTC", Format: subscribers.FormatHTML,
		},
		CreatedAt: now.Add(-48 * time.Hour), ConfirmedAt: now.Add(-48 * time.Hour), UpdatedAt: now.Add(-24 * time.Hour),
	}
	if err := subscriberStore.Import(ctx, []subscribers.Subscriber{reader}); err != nil {
		t.Fatal(err)
	}

	var job *sqstypes.Message
	t.Run("planner", func(t *testing.T) {
		fn := start(t, "PlannerFunction", false)
		// The schedule starts this hour: its shards go to the plan queue.
		var reports []delivery.Report
		invoke(t, fn, sampleEvent(t, "planner-schedule.json"), &reports)
		if len(reports) != 1 || reports[0].RunID == "" {
			t.Fatalf("reports %+v, want this hour's slot started", reports)
		}
		shards := receiveAll(t, out["PlanQueueUrl"], delivery.Shards)
		// The plan queue's event, as the sample names it, with every shard
		// and a broken one: the broken one alone comes back.
		var records []events.SQSMessage
		for _, m := range shards {
			records = append(records, sqsRecord(t, "planner-sqs.json", "PlanQueueUrl", m))
		}
		broken := records[0]
		broken.MessageId, broken.Body = "broken-shard", `{"run_id": "x", "shard": 99, "sharded": true}`
		event, err := json.Marshal(events.SQSEvent{Records: append(records, broken)})
		if err != nil {
			t.Fatal(err)
		}
		var resp events.SQSEventResponse
		invoke(t, fn, event, &resp)
		if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "broken-shard" {
			t.Errorf("batchItemFailures %+v, want only the broken shard", resp.BatchItemFailures)
		}
		job = receiveAll(t, out["SendQueueUrl"], 1)[0]
		if !strings.Contains(aws.ToString(job.Body), reader.ID) {
			t.Errorf("queued job %s is not for the reader", aws.ToString(job.Body))
		}
	})
	if job == nil {
		t.Fatal("no job to send")
	}

	t.Run("sender", func(t *testing.T) {
		fn := start(t, "SenderFunction", false)
		// The sample event, carrying the queued job and a broken one.
		good := sqsRecord(t, "sender-sqs.json", "SendQueueUrl", job)
		broken := good
		broken.MessageId, broken.Body = "broken-job", `{"run_id": "x", "recipients": [`
		event, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{good, broken}})
		if err != nil {
			t.Fatal(err)
		}
		var resp events.SQSEventResponse
		invoke(t, fn, event, &resp)
		if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "broken-job" {
			t.Errorf("batchItemFailures %+v, want only the broken job", resp.BatchItemFailures)
		}
		sent := sentTo(t, "reader@hospital.test")
		if len(sent) != 1 || !strings.Contains(sent[0].Raw, earlier.Title) || !strings.Contains(sent[0].Raw, "https://news.radiogram.test/") {
			t.Errorf("%d mails to the reader, want 1 with the item and links to the PublicBaseUrl", len(sent))
		}
		history, err := ledger.History(ctx, reader.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(history) != 1 || history[0].Status != delivery.LedgerSent || history[0].MessageID == "" {
			t.Errorf("ledger %+v, want one send recorded as sent with its message id", history)
		}
	})

	t.Run("api", func(t *testing.T) {
		fn := start(t, "ApiFunction", true)
		token := adminToken(t)
		files, err := filepath.Glob("../events/api-*.json")
		if err != nil || len(files) == 0 {
			t.Fatalf("no API events: %v", err)
		}
		checks := map[string]func(t *testing.T, status int, body string){
			"api-get-feeds.json": func(t *testing.T, status int, body string) {
				if status != http.StatusOK || !strings.Contains(body, deployed.feed.URL) || !strings.Contains(body, `"last_status":"ok"`) {
					t.Errorf("GET /admin/feeds: %d %s, want the loopback feed, fetched ok", status, body)
				}
			},
			"api-get-items.json": func(t *testing.T, status int, body string) {
				if status != http.StatusOK || !strings.Contains(body, "Artificial intelligence") {
					t.Errorf("GET /admin/items?topic=ai: %d %s, want the AI item", status, body)
				}
			},
			// The sample names a run nobody started.
			"api-get-ingest-run.json": func(t *testing.T, status int, body string) {
				if status != http.StatusNotFound || !strings.Contains(body, sampleRunID) {
					t.Errorf("GET /admin/ingest/%s: %d %s, want 404 naming the run", sampleRunID, status, body)
				}
			},
			// The API answers at once and queues the run; the ingest
			// function carries it out from the queue (the record of
			// events/ingest-sqs.json carrying the queued message); then
			// the run's page shows it done.
			"api-post-ingest.json": func(t *testing.T, status int, body string) {
				var started struct {
					RunID  string `json:"run_id"`
					Status string `json:"status"`
				}
				if err := json.Unmarshal([]byte(body), &started); status != http.StatusAccepted || err != nil || started.RunID == "" || started.Status != "running" {
					t.Fatalf("POST /admin/ingest: %d %s, want 202 with a running run's id", status, body)
				}
				msg := receiveAll(t, out["IngestQueueUrl"], 1)[0]
				if !strings.Contains(aws.ToString(msg.Body), started.RunID) {
					t.Fatalf("queued %s, want the run %s", aws.ToString(msg.Body), started.RunID)
				}
				event, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{sqsRecord(t, "ingest-sqs.json", "IngestQueueUrl", msg)}})
				if err != nil {
					t.Fatal(err)
				}
				var resp events.SQSEventResponse
				invoke(t, start(t, "IngestFunction", true), event, &resp)
				if len(resp.BatchItemFailures) != 0 {
					t.Errorf("batchItemFailures %+v, want none", resp.BatchItemFailures)
				}
				get := bytes.ReplaceAll(sampleEvent(t, "api-get-ingest-run.json"), []byte(sampleRunID), []byte(started.RunID))
				get = bytes.ReplaceAll(get, []byte("Bearer local-admin-token-change-me"), []byte("Bearer "+token))
				var run events.APIGatewayV2HTTPResponse
				invoke(t, fn, get, &run)
				if run.StatusCode != http.StatusOK || !strings.Contains(run.Body, `"status":"done"`) ||
					!strings.Contains(run.Body, `"feeds_ok":1`) && !strings.Contains(run.Body, `"feeds_unchanged":1`) {
					t.Errorf("GET /admin/ingest/%s: %d %s, want the run done with a summary over the one feed", started.RunID, run.StatusCode, run.Body)
				}
			},
			"api-post-sends.json": func(t *testing.T, status int, body string) {
				// A dry run to a topic is planned by the planner, in shards.
				if status != http.StatusAccepted || !strings.Contains(body, `"dry_run":true`) || !strings.Contains(body, `"status":"planning"`) {
					t.Errorf("POST /admin/sends (dry run): %d %s, want 202 planning", status, body)
				}
				for _, m := range receiveAll(t, out["PlanQueueUrl"], delivery.Shards) {
					if !strings.Contains(aws.ToString(m.Body), `"dry_run":true`) {
						t.Errorf("plan queue holds %s, want a shard of the dry run", aws.ToString(m.Body))
					}
				}
			},
			"api-post-subscribe.json": func(t *testing.T, status int, body string) {
				if status != http.StatusAccepted {
					t.Errorf("POST /subscribe: %d %s, want 202", status, body)
				}
				// The API answered having queued the request, and mailed
				// nobody: the sender function handles it.
				if n := len(sentTo(t, "ada@hospital.example")); n != 0 {
					t.Errorf("%d mails sent before the answer, want none", n)
				}
				req := receiveAll(t, out["SendQueueUrl"], 1)[0]
				if !strings.Contains(aws.ToString(req.Body), `"request":`) || !strings.Contains(aws.ToString(req.Body), `"kind":"signup"`) {
					t.Fatalf("queued %s, want the sign-up request", aws.ToString(req.Body))
				}
				event, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{sqsRecord(t, "sender-sqs.json", "SendQueueUrl", req)}})
				if err != nil {
					t.Fatal(err)
				}
				var resp events.SQSEventResponse
				invoke(t, start(t, "SenderFunction", false), event, &resp)
				if len(resp.BatchItemFailures) != 0 {
					t.Errorf("batchItemFailures %+v, want none", resp.BatchItemFailures)
				}
				if got, err := subscriberStore.GetByEmail(ctx, "ada@hospital.example"); err != nil || got.Status != subscribers.StatusPending {
					t.Errorf("subscriber after sign-up: %+v, %v; want pending", got, err)
				}
				if n := len(sentTo(t, "ada@hospital.example")); n != 1 {
					t.Errorf("%d confirmation mails, want 1", n)
				}
			},
		}
		for _, file := range files {
			name := filepath.Base(file)
			t.Run(name, func(t *testing.T) {
				check, ok := checks[name]
				if !ok {
					t.Fatalf("no check for %s: every sample event is exercised here", name)
				}
				event := bytes.ReplaceAll(sampleEvent(t, name), []byte("Bearer local-admin-token-change-me"), []byte("Bearer "+token))
				var resp events.APIGatewayV2HTTPResponse
				invoke(t, fn, event, &resp)
				check(t, resp.StatusCode, resp.Body)
			})
		}
		if len(files) != len(checks) {
			t.Errorf("%d API events, %d checks: each check needs its event", len(files), len(checks))
		}
	})

	t.Run("feedback", func(t *testing.T) {
		fn := start(t, "FeedbackFunction", false)
		history, err := ledger.History(ctx, reader.ID, 10)
		if err != nil || len(history) != 1 || history[0].MessageID == "" {
			t.Fatalf("ledger %+v, %v: want the reader's digest sent, to bounce", history, err)
		}
		// The sample's bounce, now of the reader's digest, published to the
		// stack's feedback topic as SES would: moto's SNS delivers it,
		// signed, to the feedback queue.
		sample := feedbackRecord(t)
		var sampleSNS struct{ Message string }
		if err := json.Unmarshal([]byte(sample.Body), &sampleSNS); err != nil {
			t.Fatal(err)
		}
		bounce := strings.ReplaceAll(sampleSNS.Message, "reader@hospital.example", "reader@hospital.test")
		bounce = strings.ReplaceAll(bounce, "0102018e0a2b1f00-3c1d9a4e-2b7f-4e0a-9d51-6f3a8c2b1e7d-000000", history[0].MessageID)
		if _, err := deployed.env.Publish(ctx, out["FeedbackTopicArn"], bounce); err != nil {
			t.Fatal(err)
		}
		genuine := receiveAll(t, out["FeedbackQueueUrl"], 1)[0]
		// With it, the sample record as it is (signed for another topic,
		// by a certificate that is not SNS's) and the genuine notification
		// altered to bounce someone else: both forgeries, both dropped,
		// neither reported back.
		forged := sqsRecordOf(t, sample, genuine, out["FeedbackQueueUrl"])
		forged.MessageId = "forged-bounce"
		forged.Body = strings.ReplaceAll(forged.Body, "reader@hospital.test", "colleague@hospital.test")
		event, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{sqsRecordOf(t, sample, genuine, out["FeedbackQueueUrl"]), sample, forged}})
		if err != nil {
			t.Fatal(err)
		}
		var resp events.SQSEventResponse
		invoke(t, fn, event, &resp)
		if len(resp.BatchItemFailures) != 0 {
			t.Errorf("batchItemFailures %+v, want none: the bounce handled, the forgeries dropped", resp.BatchItemFailures)
		}
		suppressions := dynamo.NewSuppressionStore(db, out["SuppressionsTableName"])
		hasher := addressHasher(t)
		if s, found, err := suppressions.Get(ctx, hasher.HashEmail("reader@hospital.test")); err != nil || !found || s.Reason != subscribers.ReasonBounced {
			t.Errorf("reader after their bounce: %+v (found %v, err %v), want suppressed as bounced", s, found, err)
		}
		if _, found, err := suppressions.Get(ctx, hasher.HashEmail("colleague@hospital.test")); err != nil || found {
			t.Errorf("colleague suppressed by a forged bounce (found %v, err %v)", found, err)
		}
		if history, err := ledger.History(ctx, reader.ID, 10); err != nil || !strings.HasPrefix(history[0].Feedback, "bounce-permanent") {
			t.Errorf("ledger %+v, %v: want the bounce noted on the send", history, err)
		}
	})

	// The reader answers their digest's List-Unsubscribe mailto; SES hands
	// the mail to the inbound function as events/inbound-ses.json shows.
	// The same subject from someone else is dropped, without an error.
	t.Run("inbound", func(t *testing.T) {
		fn := start(t, "InboundFunction", false)
		sent := sentTo(t, "reader@hospital.test")
		if len(sent) == 0 {
			t.Fatal("no digest to the reader to answer")
		}
		msg, err := mail.ReadMessage(strings.NewReader(sent[0].Raw))
		if err != nil {
			t.Fatal(err)
		}
		_, mailto, ok := strings.Cut(msg.Header.Get("List-Unsubscribe"), "<mailto:")
		if !ok {
			t.Fatalf("List-Unsubscribe %q offers no mailto", msg.Header.Get("List-Unsubscribe"))
		}
		u, err := url.Parse("mailto:" + strings.TrimSuffix(mailto, ">"))
		if err != nil || u.Opaque != "unsubscribe@radiogram.test" {
			t.Fatalf("mailto %q (%v), want one to the InboundUnsubscribeAddress", mailto, err)
		}
		subject := u.Query().Get("subject")
		sample := sampleEvent(t, "inbound-ses.json")
		var ev events.SimpleEmailEvent
		if err := json.Unmarshal(sample, &ev); err != nil {
			t.Fatal(err)
		}
		event := func(from string) []byte {
			m := ev
			m.Records = slices.Clone(ev.Records)
			ses := &m.Records[0].SES
			ses.Mail.CommonHeaders.From, ses.Mail.CommonHeaders.Subject = []string{from}, subject
			ses.Receipt.Recipients = []string{"unsubscribe@radiogram.test"}
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
		invoke(t, fn, event("Mallory <mallory@elsewhere.test>"), nil)
		if got, err := subscriberStore.Get(ctx, reader.ID); err != nil || got.Status != subscribers.StatusConfirmed {
			t.Fatalf("reader after another sender's mail: %+v, %v; want confirmed", got.Status, err)
		}
		invoke(t, fn, event("Reader <reader@hospital.test>"), nil)
		if got, err := subscriberStore.Get(ctx, reader.ID); err != nil || got.Status != subscribers.StatusUnsubscribed {
			t.Errorf("reader after their mail: %+v, %v; want unsubscribed", got.Status, err)
		}
	})
}

// feedbackRecord is the record of events/feedback-sqs.json: its body an SNS
// notification as SNS writes it into the feedback queue.
func feedbackRecord(t *testing.T) events.SQSMessage {
	t.Helper()
	var ev events.SQSEvent
	if err := json.Unmarshal(sampleEvent(t, "feedback-sqs.json"), &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != 1 {
		t.Fatalf("feedback-sqs.json holds %d records, want 1", len(ev.Records))
	}
	return ev.Records[0]
}

// BenchmarkColdStart measures each bootstrap's init, from process start to
// its first request for an event (secrets read, clients built), and the
// size of the binary that deploys.
//
//	go test -run '^$' -bench ColdStart -benchtime 5x ./functions/
func BenchmarkColdStart(b *testing.B) {
	if deployed == nil {
		b.Skip("needs moto_server")
	}
	for _, role := range config.Roles {
		id := role.FunctionID()
		b.Run(id, func(b *testing.B) {
			info, err := os.Stat(deployed.bootstraps[id])
			if err != nil {
				b.Fatal(err)
			}
			var inits []time.Duration
			for b.Loop() {
				fn, err := lambdalocal.Start(context.Background(), deployed.bootstraps[id], lambdalocal.Options{Env: deployed.env.FunctionEnv(id)})
				if err != nil {
					b.Fatal(err)
				}
				inits = append(inits, fn.InitDuration())
				fn.Close()
			}
			slices.Sort(inits)
			b.ReportMetric(float64(inits[len(inits)/2].Microseconds())/1000, "init-ms-median")
			b.ReportMetric(float64(info.Size())/(1<<20), "binary-MiB")
		})
	}
}

// TestEveryEventIsExercised: a sample event no test uses is removed, so
// that events/ documents only what works.
func TestEveryEventIsExercised(t *testing.T) {
	src, err := os.ReadFile("functions_test.go")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../events/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		if !bytes.Contains(src, []byte(`"`+name+`"`)) {
			t.Errorf("events/%s is exercised by no test", name)
		}
	}
}

// TestInitFailsWithoutTheTemplatesEnvironment: the check this test relies
// on is real; a function missing a variable the template sets exits at
// init.
func TestInitFailsWithoutTheTemplatesEnvironment(t *testing.T) {
	if deployed == nil {
		t.Skip("runs the functions against moto_server; skipped in -short mode (make unit)")
	}
	env := deployed.env.FunctionEnv("SenderFunction")
	delete(env, "RADIOGRAM_SENDS_TABLE")
	_, err := lambdalocal.Start(context.Background(), deployed.bootstraps["SenderFunction"], lambdalocal.Options{Env: env})
	var initErr *lambdalocal.InitError
	if !errors.As(err, &initErr) || !strings.Contains(initErr.Error(), "RADIOGRAM_SENDS_TABLE") {
		t.Fatalf("start without RADIOGRAM_SENDS_TABLE: %v, want an init error naming it", err)
	}
}

// sampleRunID is the ingest run events/api-get-ingest-run.json and
// events/ingest-sqs.json name.
const sampleRunID = "ingest-20261122T130000-k3x9qa"

// sqsRecord is the record of the sample event carrying m, a message
// received from the stack's queue (named by its output), as Lambda's event
// source would hand it on.
func sqsRecord(t *testing.T, sample, queueOutput string, m *sqstypes.Message) events.SQSMessage {
	t.Helper()
	var ev events.SQSEvent
	if err := json.Unmarshal(sampleEvent(t, sample), &ev); err != nil {
		t.Fatal(err)
	}
	return sqsRecordOf(t, ev.Records[0], m, deployed.env.Outputs[queueOutput])
}

// sqsRecordOf is the sample record rec carrying m, a message received from
// the queue at queueURL.
func sqsRecordOf(t *testing.T, rec events.SQSMessage, m *sqstypes.Message, queueURL string) events.SQSMessage {
	t.Helper()
	rec.MessageId, rec.ReceiptHandle, rec.Body = aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle), aws.ToString(m.Body)
	rec.EventSourceARN = "arn:aws:sqs:" + deployed.env.Region + ":123456789012:" + filepath.Base(queueURL)
	rec.AWSRegion = deployed.env.Region
	return rec
}

// receiveAll receives the n messages waiting on a queue, and fails if
// there are more or fewer.
func receiveAll(t *testing.T, queueURL string, n int) []*sqstypes.Message {
	t.Helper()
	var got []*sqstypes.Message
	for empty := 0; empty < 2; {
		out, err := awssqs.NewFromConfig(deployed.aws).ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
		}
		for i := range out.Messages {
			got = append(got, &out.Messages[i])
		}
	}
	if len(got) != n {
		t.Fatalf("%d messages on %s, want %d", len(got), filepath.Base(queueURL), n)
	}
	return got
}

func sentTo(t *testing.T, addr string) []localenv.SentMessage {
	t.Helper()
	all, err := deployed.env.SentMessages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []localenv.SentMessage
	for _, m := range all {
		if slices.Contains(m.Destinations, addr) {
			got = append(got, m)
		}
	}
	return got
}

// adminToken is the stack's generated admin token, as an admin reads it.
func adminToken(t *testing.T) string {
	t.Helper()
	out, err := secretsmanager.NewFromConfig(deployed.aws).GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(deployed.env.Outputs["AdminTokenSecretArn"]),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.SecretString)
}

// addressHasher keys addresses as the stack's functions do, with the
// pepper from the stack's generated secret.
func addressHasher(t *testing.T) subscribers.AddressHasher {
	t.Helper()
	out, err := secretsmanager.NewFromConfig(deployed.aws).GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(deployed.env.Outputs["AddressPepperSecretArn"]),
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := subscribers.NewAddressHasher(aws.ToString(out.SecretString))
	if err != nil {
		t.Fatal(err)
	}
	return h
}
