// Command radiogram-local runs the whole service on one machine for `make
// run`: moto_server with the stack from template.yaml, the HTTP API on
// loopback, the ingest and the digest planner on their schedules, and the
// send queue's consumer in-process. Ctrl-C stops all of it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/radiogram/radiogram/internal/app"
	"github.com/radiogram/radiogram/internal/config"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/localenv"
	"github.com/radiogram/radiogram/internal/sqs"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "radiogram-local:", err)
		os.Exit(1)
	}
}

func run() error {
	port := flag.String("port", envOr("PORT", "8080"), "port of the HTTP API on 127.0.0.1")
	interval := flag.Duration("ingest-every", 30*time.Minute, "how often the ingest runs")
	stack := flag.String("stack", "radiogram-local", "local CloudFormation stack name")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg.LogLevel)

	env, err := localenv.Start(ctx, localenv.Options{Endpoint: cfg.AWSEndpoint, StackName: *stack})
	if err != nil {
		return fmt.Errorf("local AWS: %w", err)
	}
	defer env.Close()
	cfg.AWSEndpoint, cfg.Region = env.Endpoint, env.Region
	cfg.FeedsTable, cfg.ItemsTable = env.Outputs["FeedsTableName"], env.Outputs["ItemsTableName"]
	cfg.SubscribersTable, cfg.SuppressionsTable = env.Outputs["SubscribersTableName"], env.Outputs["SuppressionsTableName"]
	cfg.RateLimitsTable, cfg.SendsTable = env.Outputs["RateLimitsTableName"], env.Outputs["SendsTableName"]
	cfg.SendQueueURL, cfg.AdminTable = env.Outputs["SendQueueUrl"], env.Outputs["AdminTableName"]
	cfg.SendDLQURL = env.Outputs["SendDeadLetterQueueUrl"]
	if cfg.AdminToken == "" {
		cfg.AdminToken = rand.Text()
	}
	if cfg.SigningKeys == "" {
		cfg.SigningKeys = "local:" + base64.StdEncoding.EncodeToString([]byte(rand.Text()+rand.Text()))
	}
	if err := env.VerifyEmailIdentity(ctx, senderDomain(cfg.MailFrom)); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", *port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + ln.Addr().String()
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	handler, err := a.APIHandler(ctx)
	if err != nil {
		return err
	}
	sender, err := a.Sender(ctx)
	if err != nil {
		return err
	}
	// The queue consumer runs in-process, as Lambda's SQS source would.
	consumer := &sqs.Consumer{Queue: a.Queue, Handler: sender.HandleSQS, RetryDelay: 10 * time.Second, Wait: 5 * time.Second, Log: log}
	go consumer.Run(ctx)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
			stop()
		}
	}()
	base := cfg.BaseURL
	log.Info("radiogram is running",
		"api", base, "aws_endpoint", env.Endpoint, "stack", env.StackName,
		"feeds_table", cfg.FeedsTable, "items_table", cfg.ItemsTable,
		"ingest_every", interval.String(), "allow_loopback", cfg.AllowLoopback)
	fmt.Fprintf(os.Stderr, "\n  Sign-up page: %s/\n  Admin token:  %s\n  Try:          curl -H 'Authorization: Bearer %s' %s/admin/feeds\n  Sent mail:    %s/moto-api/data.json (ses.RawMessage[].raw_data)\n  Stop:         Ctrl-C\n\n",
		base, cfg.AdminToken, cfg.AdminToken, base, env.Endpoint)

	runIngest := func() {
		if _, err := a.Ingest.Run(ctx, ingest.TriggerSchedule); err != nil && ctx.Err() == nil {
			log.Error("ingest", "err", err)
		}
	}
	runPlanner := func() {
		if _, err := a.PlanSchedule(ctx, struct{}{}); err != nil && ctx.Err() == nil {
			log.Error("plan digests", "err", err)
		}
	}
	untilNextHour := func() time.Duration { return time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)) }
	runIngest()
	runPlanner()
	ingestTicker := time.NewTicker(*interval)
	defer ingestTicker.Stop()
	planTimer := time.NewTimer(untilNextHour())
	defer planTimer.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping")
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(shutdownCtx)
		case <-ingestTicker.C:
			runIngest()
		case <-planTimer.C:
			runPlanner()
			planTimer.Reset(untilNextHour())
		}
	}
}

// senderDomain is the domain of a From address such as "Radiogram <news@example.org>".
func senderDomain(from string) string {
	if addr, err := mail.ParseAddress(from); err == nil {
		from = addr.Address
	}
	_, domain, _ := strings.Cut(from, "@")
	return domain
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
