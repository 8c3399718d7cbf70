// Command radiogram-local runs the whole service on one machine for `make
// run`: moto_server with the stack from template.yaml, the HTTP API on
// loopback, the ingest and the digest planner on their schedules, and the
// send, ingest and feedback queues' consumers in-process. Ctrl-C stops all of it.
package main

import (
	"context"
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
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/lambdaevents"
	"github.com/radiogram/radiogram/internal/localenv"
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

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", *port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	baseURL := envOr("RADIOGRAM_BASE_URL", "http://"+ln.Addr().String())
	env, a, err := startStack(ctx, *stack, baseURL)
	if err != nil {
		return err
	}
	defer env.Close()
	token, err := a.AdminToken(ctx)
	if err != nil {
		return err
	}
	handler, err := a.APIHandler(ctx)
	if err != nil {
		return err
	}
	sendHandler, err := a.SendHandler(ctx)
	if err != nil {
		return err
	}
	// The queue consumers run in-process, as Lambda's SQS sources would:
	// the ingest runs an admin asked for, the planner's shards, the
	// sender's jobs, and the feedback queue's
	// notifications, which moto's SNS fills with what is published to the
	// feedback topic, signed.
	feedbackURL := env.Outputs["FeedbackQueueUrl"]
	if feedbackURL == "" {
		return fmt.Errorf("stack %s has no FeedbackQueueUrl output", env.StackName)
	}
	for _, consumer := range []*lambdaevents.SQSSource{
		{Queue: a.IngestQueue, Handler: lambdaevents.IngestRequests(a.IngestRuns(), a.Log), RetryDelay: 10 * time.Second, Wait: 5 * time.Second, Log: a.Log},
		{Queue: a.PlanQueue, Handler: a.PlanShards(), RetryDelay: 10 * time.Second, Wait: 5 * time.Second, Log: a.Log},
		{Queue: a.Queue, Handler: sendHandler, RetryDelay: 10 * time.Second, Wait: 5 * time.Second, Log: a.Log},
		{Queue: a.QueueAt(feedbackURL), Handler: lambdaevents.Feedback(a.Feedback(), a.Log), RetryDelay: 10 * time.Second, Wait: 5 * time.Second, Log: a.Log},
	} {
		go consumer.Run(ctx)
	}
	srv := &http.Server{
		Handler: handler,
		// A client gets 10 s to send its headers, so slow-header
		// (slowloris) connections cannot pile up.
		ReadHeaderTimeout: 10 * time.Second,
		// and 30 s for the whole request with its body: admin and sign-up
		// bodies are small JSON or forms, limited by the handlers.
		ReadTimeout: 30 * time.Second,
		// An answer must be written within 90 s of the request being read,
		// far more than any call takes (an ingest runs after its answer,
		// from the ingest queue); a client that stops reading cannot hold a
		// connection longer.
		WriteTimeout: 90 * time.Second,
		// A keep-alive connection left idle is closed after 2 minutes, so
		// idle browsers and scripts do not hold file descriptors forever.
		IdleTimeout: 2 * time.Minute,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("http server", "err", err)
			stop()
		}
	}()
	a.Log.Info("radiogram is running",
		"api", baseURL, "aws_endpoint", env.Endpoint, "stack", env.StackName,
		"feeds_table", a.Config.FeedsTable, "items_table", a.Config.ItemsTable,
		"ingest_every", interval.String(), "allow_loopback", a.Config.AllowLoopback)
	fmt.Fprintf(os.Stderr, "\n  Sign-up page: %s/\n  Admin token:  %s\n  Try:          curl -H 'Authorization: Bearer %s' %s/admin/feeds\n  Sent mail:    %s/moto-api/data.json (ses.RawMessage[].raw_data)\n  Stop:         Ctrl-C\n\n",
		baseURL, token, token, baseURL, env.Endpoint)

	runSchedules(ctx, a, *interval)
	a.Log.Info("stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// startStack deploys the stack into moto (RADIOGRAM_AWS_ENDPOINT's, or one it
// starts) and loads the app from the environment the stack gives its
// functions, as each function starts in the cloud.
func startStack(ctx context.Context, stack, baseURL string) (*localenv.Env, *app.App, error) {
	env, err := localenv.Start(ctx, localenv.Options{
		Endpoint:   os.Getenv("RADIOGRAM_AWS_ENDPOINT"),
		StackName:  stack,
		Parameters: map[string]string{"PublicBaseUrl": baseURL},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("local AWS: %w", err)
	}
	a, err := loadApp(ctx, env)
	if err != nil {
		return nil, nil, errors.Join(err, env.Close())
	}
	return env, a, nil
}

func loadApp(ctx context.Context, env *localenv.Env) (*app.App, error) {
	vars, err := processEnv(env)
	if err != nil {
		return nil, err
	}
	a, err := app.Load(ctx, func(name string) string { return vars[name] }, config.Roles...)
	if err != nil {
		return nil, err
	}
	if err := env.VerifyEmailIdentity(ctx, senderDomain(a.Config.MailFrom)); err != nil {
		return nil, err
	}
	return a, nil
}

// runSchedules does what EventBridge Scheduler does in the cloud, which
// moto does not: the ingest at start and every interval (skipped while an
// admin's run goes, as in the cloud), the planner at start and on every
// hour, until ctx ends.
func runSchedules(ctx context.Context, a *app.App, interval time.Duration) {
	runs := a.IngestRuns()
	runIngest := func() {
		if _, _, err := runs.RunScheduled(ctx, ingestruns.StartedBySchedule, ingest.TriggerSchedule); err != nil && ctx.Err() == nil {
			a.Log.Error("ingest", "err", err)
		}
	}
	runPlanner := func() {
		if _, err := a.PlanSchedule(ctx); err != nil && ctx.Err() == nil {
			a.Log.Error("plan digests", "err", err)
		}
	}
	untilNextHour := func() time.Duration { return time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)) }
	runIngest()
	runPlanner()
	ingestTicker := time.NewTicker(interval)
	defer ingestTicker.Stop()
	planTimer := time.NewTimer(untilNextHour())
	defer planTimer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ingestTicker.C:
			runIngest()
		case <-planTimer.C:
			runPlanner()
			planTimer.Reset(untilNextHour())
		}
	}
}

// processEnv is the environment `make run` runs with: every function's
// environment as the stack gives it, overridden by what this process's own
// environment sets (RADIOGRAM_FEEDS, RADIOGRAM_ADMIN_TOKEN, ...).
func processEnv(env *localenv.Env) (map[string]string, error) {
	vars, err := env.CombinedEnv()
	if err != nil {
		return nil, err
	}
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(name, "RADIOGRAM_") || name == "AWS_REGION") && value != "" && name != "RADIOGRAM_AWS_ENDPOINT" {
			vars[name] = value
		}
	}
	return vars, nil
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
