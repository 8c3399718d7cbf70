package app

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/config"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/localenv"
)

// motoEndpoint is the moto_server this package's tests share; each test
// deploys its own stack into it, so tests never see each other's tables.
var motoEndpoint string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		fmt.Fprintln(os.Stderr, "moto_server is required for the integration tests:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := localenv.Start(ctx, localenv.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start local AWS:", err)
		return 1
	}
	defer env.Close()
	motoEndpoint = env.Endpoint
	return m.Run()
}

// testAdminToken is the admin token of the in-process tests, set as
// RADIOGRAM_ADMIN_TOKEN (which a local run may set); the bootstraps' parity
// test uses the stack's generated secret instead.
const testAdminToken = "test-admin-token-of-the-in-process-tests"

// newTestApp deploys a fresh stack, with the test's values for the
// template's parameters, and loads the app from the environment moto
// reports for the stack's functions, as each function starts: nothing is
// filled in by hand. Only what a local run adds is added: the test's feed
// registry on loopback and test-sized fetch limits.
func newTestApp(t testing.TB, feedsFile string) *App {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs moto_server")
	}
	ctx := context.Background()
	// The API's address is known before the stack, so that the links in
	// mails (the template's PublicBaseUrl) point at it; newTestAPI starts it.
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	// Each stack mails from a domain of its own, so that tests running in
	// parallel on one moto read only their own mail.
	stack := "rg-" + strings.ToLower(rand.Text()[:8])
	domain := stack + ".radiogram.test"
	// moto's CloudFormation fails on stacks created concurrently; the tests
	// run in parallel once their stacks stand.
	deployMu.Lock()
	env, err := localenv.Start(ctx, localenv.Options{Endpoint: motoEndpoint, StackName: stack, Parameters: map[string]string{
		"PublicBaseUrl":     "http://" + srv.Listener.Addr().String(),
		"MailFrom":          "Radiogram <news@" + domain + ">",
		"SesIdentity":       domain,
		"PostalAddress":     "Radiogram, 1 Test Street, Vienna",
		"AdminEmails":       "staff@radiogram.test",
		"SendRatePerSecond": "200",
		// Digests and alerts offer the mailto, as a stack that receives
		// mail does (TestInboundUnsubscribe).
		"InboundUnsubscribeAddress": "unsubscribe@" + domain,
	}})
	deployMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := env.VerifyEmailIdentity(ctx, domain); err != nil {
		t.Fatal(err)
	}
	vars, err := env.CombinedEnv()
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(vars, map[string]string{
		"RADIOGRAM_FEEDS":             feedsFile,
		"RADIOGRAM_ALLOW_LOOPBACK":    "1",
		"RADIOGRAM_FETCH_TIMEOUT":     "1s",
		"RADIOGRAM_MAX_BODY_BYTES":    "1048576",
		"RADIOGRAM_FETCH_CONCURRENCY": "4",
		"RADIOGRAM_ADMIN_TOKEN":       testAdminToken,
	})
	var logs io.Writer = io.Discard
	if testing.Verbose() {
		logs, vars["RADIOGRAM_LOG_LEVEL"] = os.Stderr, "WARN"
	}
	a, err := load(ctx, func(k string) string { return vars[k] }, logs, config.Roles...)
	if err != nil {
		t.Fatal(err)
	}
	testStacksMu.Lock()
	testStacks[a] = &testStack{env: env, vars: vars, server: srv, senderDomain: domain}
	testStacksMu.Unlock()
	return a
}

// newIngestedApp is the common start of the delivery and admin tests: an
// app over the first four test feeds, its API serving, and one ingest run
// done, with its alerts planned (nobody wants one yet).
func newIngestedApp(t *testing.T) (*App, *httptest.Server) {
	t.Helper()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:4]))
	srv := newTestAPI(t, a)
	if _, err := a.Ingest.Run(context.Background(), ingest.TriggerSchedule); err != nil {
		t.Fatal(err)
	}
	drainPlans(t, a)
	return a, srv
}

// testStack is what a test app runs on: its stack, and its API server.
type testStack struct {
	vars         map[string]string // the environment the app was loaded from
	env          *localenv.Env
	server       *httptest.Server // unstarted until newTestAPI
	senderDomain string           // of every mail this stack sends
}

var (
	deployMu     sync.Mutex
	testStacksMu sync.Mutex
	testStacks   = map[*App]*testStack{}
)

// sentMessages returns the messages moto's SES accepted from a's stack,
// oldest first.
func sentMessages(tb testing.TB, a *App) []localenv.SentMessage {
	tb.Helper()
	st := stackOf(a)
	all, err := st.env.SentMessages(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	var own []localenv.SentMessage
	for _, m := range all {
		if strings.HasSuffix(m.Source, "@"+st.senderDomain) || strings.HasSuffix(m.Source, "@"+st.senderDomain+">") {
			own = append(own, m)
		}
	}
	return own
}

// reload loads another app over a's stack, from a's environment with the
// given variables changed, as a process started with them would.
func reload(t testing.TB, a *App, changed map[string]string) *App {
	t.Helper()
	vars := maps.Clone(stackOf(a).vars)
	maps.Copy(vars, changed)
	b, err := load(context.Background(), func(k string) string { return vars[k] }, io.Discard, config.Roles...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func stackOf(a *App) *testStack {
	testStacksMu.Lock()
	defer testStacksMu.Unlock()
	return testStacks[a]
}

// everyShard lists what list returns for every shard of an index.
func everyShard(t *testing.T, list func(shard int) ([]delivery.Candidate, error)) []delivery.Candidate {
	t.Helper()
	var all []delivery.Candidate
	for shard := range delivery.Shards {
		found, err := list(shard)
		if err != nil {
			t.Fatalf("shard %d: %v", shard, err)
		}
		all = append(all, found...)
	}
	return all
}
