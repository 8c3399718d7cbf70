// Package app assembles Radiogram from its configuration: the one place that
// knows which adapter serves which domain package, shared by the Lambda
// functions, `make run` and the integration tests.
package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/awsconfig"
	"github.com/radiogram/radiogram/internal/config"
	"github.com/radiogram/radiogram/internal/console"
	"github.com/radiogram/radiogram/internal/dynamo"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/feedsout"
	"github.com/radiogram/radiogram/internal/httpapi"
	"github.com/radiogram/radiogram/internal/httpfeed"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/letters"
	"github.com/radiogram/radiogram/internal/metrics"
	"github.com/radiogram/radiogram/internal/pagekit"
	"github.com/radiogram/radiogram/internal/secrets"
	"github.com/radiogram/radiogram/internal/sesmail"
	"github.com/radiogram/radiogram/internal/sqsqueue"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/tokens"
	"github.com/radiogram/radiogram/internal/topics"
	"github.com/radiogram/radiogram/internal/web"
)

// App is Radiogram's dependency graph, built once per process.
type App struct {
	Config config.Config
	Log    *slog.Logger
	// Metrics writes CloudWatch metrics (EMF) beside the logs, which
	// Lambda hands to CloudWatch Logs, where they become metrics.
	Metrics      *metrics.Emitter
	AWS          aws.Config
	Taxonomy     *topics.Taxonomy
	Feeds        *dynamo.FeedStore
	Items        *dynamo.ItemStore
	Corrections  *dynamo.CorrectionStore // admins' corrections of items' topics
	Subscribers  *dynamo.SubscriberStore
	Suppressions *dynamo.SuppressionStore
	// Hasher keys addresses in suppression and rate-limit records.
	Hasher      subscribers.AddressHasher
	Ledger      *dynamo.Ledger
	AdminStore  *dynamo.AdminStore
	Queue       *sqsqueue.Queue
	PlanQueue   *sqsqueue.Queue // nil when not configured: runs are planned in-process
	DeadLetters *sqsqueue.Queue // nil when not configured
	// IngestQueue carries the ingest runs admins ask for to the ingest
	// function; nil when not configured (only the API sends to it).
	IngestQueue *sqsqueue.Queue
	MailSender  email.Sender
	Ingest      *ingest.Runner
	catalog     *feeds.Catalog
	product     letters.Product // the brand and sender of every mail

	secretsMu sync.Mutex
	secrets   map[string]string // by ARN: each secret is read once per process
}

// Load builds the application for roles from an environment (os.Getenv in
// every process), as each Lambda function, `make run` and the integration
// tests start: one constructor, so what the template wires is what runs.
func Load(ctx context.Context, getenv func(string) string, roles ...config.Role) (*App, error) {
	return load(ctx, getenv, os.Stderr, roles...)
}

// load is Load logging JSON lines to logs (stderr, as Lambda and
// CloudWatch expect; tests discard them).
func load(ctx context.Context, getenv func(string) string, logs io.Writer, roles ...config.Role) (*App, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	if err := cfg.Check(roles...); err != nil {
		return nil, err
	}
	return newApp(ctx, cfg, logs)
}

// loadTaxonomyAndRegistry reads the taxonomy and the feed registry the
// configuration names, else the embedded defaults.
func loadTaxonomyAndRegistry(cfg config.Config) (*topics.Taxonomy, feeds.Registry, error) {
	taxonomyData, err := readFileOr(cfg.TopicsFile, infra.Topics)
	if err != nil {
		return nil, feeds.Registry{}, err
	}
	taxonomy, err := topics.Load(taxonomyData)
	if err != nil {
		return nil, feeds.Registry{}, fmt.Errorf("topics: %w", err)
	}
	registryData, err := readFileOr(cfg.FeedsFile, infra.Feeds)
	if err != nil {
		return nil, feeds.Registry{}, err
	}
	registry, err := feeds.ParseRegistry(registryData, func(id string) bool { _, ok := taxonomy.Lookup(id); return ok })
	if err != nil {
		return nil, feeds.Registry{}, err
	}
	return taxonomy, registry, nil
}

// newApp builds the app logging, and writing metrics, to logs.
func newApp(ctx context.Context, cfg config.Config, logs io.Writer) (*App, error) {
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: cfg.LogLevel}))
	taxonomy, registry, err := loadTaxonomyAndRegistry(cfg)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.Load(ctx, cfg.Region, cfg.AWSEndpoint)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	sqsClient := sqs.NewFromConfig(awsCfg)
	a := &App{
		Config:       cfg,
		Log:          log,
		Metrics:      metrics.New(logs, cfg.MetricsNamespace),
		AWS:          awsCfg,
		Taxonomy:     taxonomy,
		Feeds:        dynamo.NewFeedStore(db, cfg.FeedsTable),
		Items:        dynamo.NewItemStore(db, cfg.ItemsTable),
		Subscribers:  dynamo.NewSubscriberStore(db, cfg.SubscribersTable),
		Suppressions: dynamo.NewSuppressionStore(db, cfg.SuppressionsTable),
		Ledger:       dynamo.NewLedger(db, cfg.SendsTable, time.Now).ExpireAfter(cfg.SendsRetention),
		AdminStore:   dynamo.NewAdminStore(db, cfg.AdminTable, time.Now),
		Corrections:  dynamo.NewCorrectionStore(db, cfg.ItemsTable, cfg.AdminTable),
		Queue:        sqsqueue.New(sqsClient, cfg.SendQueueURL),
		MailSender:   sesmail.NewSender(sesv2.NewFromConfig(awsCfg), cfg.ConfigurationSet),
		product: letters.Product{
			Name: "Radiogram", Link: cfg.BaseURL, PostalAddress: cfg.PostalAddress,
			From: cfg.MailFrom, ReplyTo: cfg.MailReplyTo, ListID: cfg.ListID,
		},
	}
	if err := a.product.CheckListID(); err != nil {
		return nil, fmt.Errorf("RADIOGRAM_LIST_ID or RADIOGRAM_MAIL_FROM: %w", err)
	}
	if cfg.SendDLQURL != "" {
		a.DeadLetters = sqsqueue.New(sqsClient, cfg.SendDLQURL)
	}
	if cfg.PlanQueueURL != "" {
		a.PlanQueue = sqsqueue.New(sqsClient, cfg.PlanQueueURL)
	}
	if cfg.IngestQueueURL != "" {
		a.IngestQueue = sqsqueue.New(sqsClient, cfg.IngestQueueURL)
	}
	if a.Hasher, err = a.addressHasher(ctx); err != nil {
		return nil, err
	}
	a.catalog = feeds.NewCatalog(taxonomy, a.Feeds, registry.Feeds, time.Minute)
	a.Ingest = &ingest.Runner{
		Feeds: a.Feeds,
		Items: a.Items,
		Fetcher: httpfeed.New(httpfeed.Options{
			Timeout: cfg.FetchTimeout, MaxBodyBytes: cfg.MaxBodyBytes, UserAgent: cfg.UserAgent, AllowLoopback: cfg.AllowLoopback,
		}),
		Parser:          feedparse.NewParser(),
		Tagger:          topics.NewTagger(taxonomy),
		Registry:        registry,
		Policy:          feeds.DefaultPolicy,
		Concurrency:     cfg.FetchConcurrency,
		MaxItemsPerFeed: cfg.MaxItemsPerFeed,
		Now:             time.Now,
		Log:             log,
		Metrics:         a.Metrics,
		Stories:         a.Items,
		AfterRun: func(ctx context.Context, sum ingest.Summary) {
			a.Planner().AlertAfterIngest(ctx, sum.ItemsNew, sum.FinishedAt)
		},
	}
	return a, nil
}

// APIHandler returns the HTTP API: the admin routes and the subscriber
// pages. It reads the admin token and the signing keys from Secrets Manager
// when the configuration names secrets rather than values.
func (a *App) APIHandler(ctx context.Context) (http.Handler, error) {
	token, err := a.AdminToken(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := a.SubscriberService(ctx)
	if err != nil {
		return nil, err
	}
	adminSvc := a.AdminService(svc)
	// One count of wrong admin tokens per client, whether guessed at the
	// console's sign-in or as a bearer token.
	failures := console.NewFailureLimiter(console.MaxFailures, console.FailureWindow)
	srv := &httpapi.Server{
		AdminToken: token,
		Admin:      adminSvc,
		ClientIP:   pagekit.RemoteIP,
		Failures:   failures,
		Log:        a.Log,
		Pages: &web.Handlers{
			Subscribers: svc,
			Catalog:     web.CatalogFrom(a.catalog),
			ClientIP:    pagekit.RemoteIP,
			Log:         a.Log,
			Items:       a.Items,
			Archive:     svc,
		},
		Feeds: &feedsout.Handlers{
			Items: a.Items,
			Topic: func(id string) (string, bool) {
				t, ok := a.Taxonomy.Lookup(id)
				return t.Name, ok
			},
			KnownSociety: a.catalog.KnownSociety,
			Product:      a.product.Name,
			BaseURL:      a.Config.BaseURL,
			// Readers poll; a minute of staleness spares the items table.
			CacheFor: time.Minute,
			Log:      a.Log,
		},
		// The console signs its sessions with a key derived from the token,
		// never with the link keys, and stores them in the admin table.
		Console: &console.Handlers{
			Admin:    adminSvc,
			Topics:   a.Taxonomy.Topics(),
			Token:    token,
			Sessions: a.AdminStore,
			Failures: failures,
			ClientIP: pagekit.RemoteIP,
			Now:      time.Now,
			Log:      a.Log,

			MaxTopics: items.MaxTopics,
		},
	}
	return srv.Handler(), nil
}

// AdminToken returns the admin bearer token: the configured value, or else
// the secret's.
func (a *App) AdminToken(ctx context.Context) (string, error) {
	token, err := a.secret(ctx, a.Config.AdminToken, a.Config.AdminTokenSecretARN)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if token == "" {
		return "", fmt.Errorf("set RADIOGRAM_ADMIN_TOKEN or RADIOGRAM_ADMIN_TOKEN_SECRET_ARN: the admin routes need a token")
	}
	// The environment's value is checked with the configuration; the
	// secret's is checked here. Neither error repeats the token.
	if n := len(strings.TrimSpace(token)); n < config.MinAdminTokenLen {
		return "", fmt.Errorf("admin token: the value is %d characters, want at least %d", n, config.MinAdminTokenLen)
	}
	return token, nil
}

// SubscriberService returns the subscriber flows, mailing through SES.
func (a *App) SubscriberService(ctx context.Context) (*subscribers.Service, error) {
	return a.subscriberService(ctx, a.MailSender)
}

// subscriberService returns the subscriber flows, mailing through mail.
func (a *App) subscriberService(ctx context.Context, mail email.Sender) (*subscribers.Service, error) {
	keys, err := a.Keyring(ctx)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(a.AWS)
	return &subscribers.Service{
		Store:        a.Subscribers,
		Suppressions: a.Suppressions,
		Hasher:       a.Hasher,
		SendLog:      a.Ledger,
		Limiter:      dynamo.NewRateLimiter(db, a.Config.RateLimitsTable, time.Now),
		Notifier: &letters.Notifier{
			Composer: letters.NewComposer(a.product),
			Mail:     mail,
			Taxonomy: a.Taxonomy,
		},
		// The API queues sign-up, manage and data-link requests; the
		// sender function handles them (HandleRequest) after the answer.
		Requests: a.Queue,
		Signer:   keys,
		Catalog:  a.catalog,
		BaseURL:  a.Config.BaseURL,
		Now:      time.Now,
		Log:      a.Log,
	}, nil
}

// addressHasher returns the keyed hash of addresses: the pepper is the
// configured value, or else the secret's. Every role keeps or reads
// suppressions, so every role needs it.
func (a *App) addressHasher(ctx context.Context) (subscribers.AddressHasher, error) {
	pepper, err := a.secret(ctx, a.Config.AddressPepper, a.Config.AddressPepperSecretARN)
	if err != nil {
		return subscribers.AddressHasher{}, fmt.Errorf("address pepper: %w", err)
	}
	if pepper == "" {
		return subscribers.AddressHasher{}, fmt.Errorf("set RADIOGRAM_ADDRESS_PEPPER or RADIOGRAM_ADDRESS_PEPPER_SECRET_ARN: suppressions are keyed by it")
	}
	return subscribers.NewAddressHasher(pepper)
}

// Keyring returns the link-signing keys.
func (a *App) Keyring(ctx context.Context) (*tokens.Keyring, error) {
	spec, err := a.secret(ctx, a.Config.SigningKeys, a.Config.SigningKeysSecretARN)
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	if spec == "" {
		return nil, fmt.Errorf("set RADIOGRAM_SIGNING_KEYS or RADIOGRAM_SIGNING_KEYS_SECRET_ARN: every link is signed")
	}
	return parseSigningKeys(spec)
}

// parseSigningKeys accepts the keyring forms of package tokens, and the flat
// JSON the stack's generated secret holds: {"current":"k1","k1":"<random>"}.
func parseSigningKeys(spec string) (*tokens.Keyring, error) {
	keys, err := tokens.ParseKeyring(spec)
	if err == nil {
		return keys, nil
	}
	var flat map[string]string
	if json.Unmarshal([]byte(spec), &flat) != nil || flat["current"] == "" {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	current := flat["current"]
	delete(flat, "current")
	raw := make(map[string][]byte, len(flat))
	for id, key := range flat {
		raw[id] = []byte(key)
	}
	return tokens.NewKeyring(current, raw)
}

// secret returns value, or else the named secret's value, read from
// Secrets Manager once per process: a cold start builds the API, the sender
// and the subscriber flows from the same keys.
func (a *App) secret(ctx context.Context, value, arn string) (string, error) {
	if value != "" || arn == "" {
		return value, nil
	}
	a.secretsMu.Lock()
	defer a.secretsMu.Unlock()
	if v, ok := a.secrets[arn]; ok {
		return v, nil
	}
	v, err := secrets.String(ctx, secretsmanager.NewFromConfig(a.AWS), arn)
	if err != nil {
		return "", err
	}
	if a.secrets == nil {
		a.secrets = map[string]string{}
	}
	a.secrets[arn] = v
	return v, nil
}

func readFileOr(path string, embedded []byte) ([]byte, error) {
	if path == "" {
		return embedded, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// Must returns v, or ends a Lambda function's init when err is not nil: it
// logs why and exits, and Lambda reports the failed init.
func Must[T any](v T, err error) T {
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	return v
}
