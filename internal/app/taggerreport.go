package app

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/awsconfig"
	"github.com/radiogram/radiogram/internal/config"
	"github.com/radiogram/radiogram/internal/dynamo"
	"github.com/radiogram/radiogram/internal/taggerreport"
	"github.com/radiogram/radiogram/internal/topics"
	"github.com/radiogram/radiogram/internal/topics/corpus"
)

// TaggerReport prints the tagger report (`make tagger-report`) to out: the
// taxonomy's tagger measured against every admin correction in the store
// the environment names, and against the labelled corpus. With no items
// or admin table configured it reports the corpus alone.
func TaggerReport(ctx context.Context, getenv func(string) string, out io.Writer) error {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	data, err := readFileOr(cfg.TopicsFile, infra.Topics)
	if err != nil {
		return err
	}
	taxonomy, err := topics.Load(data)
	if err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	labelled, err := corpus.Items()
	if err != nil {
		return err
	}
	opts := taggerreport.Options{Corpus: labelled, Tag: reportTag(topics.NewTagger(taxonomy))}
	if cfg.ItemsTable != "" && cfg.AdminTable != "" {
		awsCfg, err := awsconfig.Load(ctx, cfg.Region, cfg.AWSEndpoint)
		if err != nil {
			return err
		}
		opts.Corrections = dynamo.NewCorrectionStore(dynamodb.NewFromConfig(awsCfg), cfg.ItemsTable, cfg.AdminTable)
	}
	return taggerreport.Write(ctx, out, opts)
}

// reportTag is the one place the report calls the tagger, as ingest would
// tag the item (no feed's default topics: a correction does not name its
// feed).
func reportTag(tagger *topics.Tagger) taggerreport.Tag {
	return func(title, summary string, _ []string) []string {
		scored := tagger.Tag(title, summary, nil)
		ids := make([]string, len(scored))
		for i, t := range scored {
			ids[i] = t.ID
		}
		return ids
	}
}
