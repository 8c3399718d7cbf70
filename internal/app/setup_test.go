package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/config"
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

// newTestApp deploys a fresh stack and builds the app over it with the
// given feed registry file and test-sized limits.
func newTestApp(t testing.TB, feedsFile string) *App {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs moto_server")
	}
	ctx := context.Background()
	env, err := localenv.Start(ctx, localenv.Options{Endpoint: motoEndpoint})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.VerifyEmailIdentity(ctx, "radiogram.test"); err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{
		Region:            env.Region,
		AWSEndpoint:       env.Endpoint,
		FeedsTable:        env.Outputs["FeedsTableName"],
		ItemsTable:        env.Outputs["ItemsTableName"],
		SubscribersTable:  env.Outputs["SubscribersTableName"],
		SuppressionsTable: env.Outputs["SuppressionsTableName"],
		RateLimitsTable:   env.Outputs["RateLimitsTableName"],
		SendsTable:        env.Outputs["SendsTableName"],
		SendQueueURL:      env.Outputs["SendQueueUrl"],
		SendDLQURL:        env.Outputs["SendDeadLetterQueueUrl"],
		AdminTable:        env.Outputs["AdminTableName"],
		AdminEmails:       []string{"staff@radiogram.test"},
		SendRate:          200,
		SigningKeys:       "k1:" + base64.StdEncoding.EncodeToString([]byte(rand.Text()+rand.Text())),
		MailFrom:          "Radiogram <news@radiogram.test>",
		PostalAddress:     "Radiogram, 1 Test Street, Vienna",
		FeedsFile:         feedsFile,
		FetchTimeout:      time.Second,
		MaxBodyBytes:      1 << 20,
		FetchConcurrency:  4,
		AllowLoopback:     true,
		AdminToken:        "test-admin-token",
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	testEnvs[a] = env
	return a
}

// testEnvs remembers each test app's environment, for reading sent mail.
var testEnvs = map[*App]*localenv.Env{}
