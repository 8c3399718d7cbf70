package app

import (
	"context"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
	taxonomy, registry, err := loadTaxonomyAndRegistry(cfg)
	if err != nil {
		return err
	}
	labelled, err := corpus.Items()
	if err != nil {
		return err
	}
	opts := taggerreport.Options{Corpus: labelled, Tag: reportTag(topics.NewTagger(taxonomy), registry.TopicsBySociety())}
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
// tag the item: with its society's feed settings (always_topics, defaults).
func reportTag(tagger *topics.Tagger, bySociety map[string]topics.FeedTopics) taggerreport.Tag {
	return func(ex taggerreport.Example) []string {
		scored := tagger.Tag(topics.Text{Title: ex.Title, Summary: ex.Summary, Categories: ex.Categories}, bySociety[ex.Society])
		ids := make([]string, len(scored))
		for i, t := range scored {
			ids[i] = t.ID
		}
		return ids
	}
}
