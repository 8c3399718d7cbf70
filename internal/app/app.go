// Package app assembles Radiogram from its configuration: the one place that
// knows which adapter serves which domain package, shared by the Lambda
// functions, `make run` and the integration tests.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/api"
	"github.com/radiogram/radiogram/internal/awsconfig"
	"github.com/radiogram/radiogram/internal/config"
	"github.com/radiogram/radiogram/internal/dynamo"
	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/httpfeed"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/secrets"
	"github.com/radiogram/radiogram/internal/topics"
)

// App is Radiogram's dependency graph, built once per process.
type App struct {
	Config   config.Config
	Log      *slog.Logger
	AWS      aws.Config
	Taxonomy *topics.Taxonomy
	Feeds    *dynamo.FeedStore
	Items    *dynamo.ItemStore
	Ingest   *ingest.Runner
}

// NewLogger logs JSON lines to stderr, as Lambda and CloudWatch expect.
func NewLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// New builds the application from cfg.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	if err := cfg.RequireTables(); err != nil {
		return nil, err
	}
	taxonomyData, err := readFileOr(cfg.TopicsFile, infra.Topics)
	if err != nil {
		return nil, err
	}
	taxonomy, err := topics.Load(taxonomyData)
	if err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	registryData, err := readFileOr(cfg.FeedsFile, infra.Feeds)
	if err != nil {
		return nil, err
	}
	registry, err := feeds.ParseRegistry(registryData, func(id string) bool { _, ok := taxonomy.Lookup(id); return ok })
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.Load(ctx, cfg.Region, cfg.AWSEndpoint)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	a := &App{
		Config:   cfg,
		Log:      log,
		AWS:      awsCfg,
		Taxonomy: taxonomy,
		Feeds:    dynamo.NewFeedStore(db, cfg.FeedsTable),
		Items:    dynamo.NewItemStore(db, cfg.ItemsTable),
	}
	a.Ingest = &ingest.Runner{
		Feeds: a.Feeds,
		Items: a.Items,
		Fetcher: httpfeed.New(httpfeed.Options{
			Timeout: cfg.FetchTimeout, MaxBodyBytes: cfg.MaxBodyBytes, UserAgent: cfg.UserAgent, AllowLoopback: cfg.AllowLoopback,
		}),
		Parser:      feedparse.NewParser(),
		Tagger:      topics.NewTagger(taxonomy),
		Registry:    registry,
		Policy:      feeds.DefaultPolicy,
		Concurrency: cfg.FetchConcurrency,
		Now:         time.Now,
		Log:         log,
	}
	return a, nil
}

// APIHandler returns the HTTP API, reading the admin token from Secrets
// Manager when the configuration names a secret rather than a token.
func (a *App) APIHandler(ctx context.Context) (http.Handler, error) {
	token := a.Config.AdminToken
	if token == "" && a.Config.AdminTokenSecretARN != "" {
		var err error
		token, err = secrets.String(ctx, secretsmanager.NewFromConfig(a.AWS), a.Config.AdminTokenSecretARN)
		if err != nil {
			return nil, fmt.Errorf("admin token: %w", err)
		}
	}
	if token == "" {
		return nil, fmt.Errorf("set RADIOGRAM_ADMIN_TOKEN or RADIOGRAM_ADMIN_TOKEN_SECRET_ARN: the admin routes need a token")
	}
	srv := &api.Server{
		Feeds:      a.Feeds,
		Items:      a.Items,
		Ingest:     a.Ingest,
		KnownTopic: func(id string) bool { _, ok := a.Taxonomy.Lookup(id); return ok },
		AdminToken: token,
		Log:        a.Log,
	}
	return srv.Handler(), nil
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
