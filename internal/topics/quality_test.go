package topics_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/topics"
	"github.com/radiogram/radiogram/internal/topics/corpus"
)

// Other files measure other taxonomies and registries the same way, e.g.
// the ones before a change:
//
//	go test ./internal/topics -run Quality -v -args -taxonomy=old-topics.json -feeds=old-feeds.json
var (
	taxonomyFile = flag.String("taxonomy", "", "taxonomy file to measure (default: the embedded infra/topics.json)")
	feedsFile    = flag.String("feeds", "", "feed registry whose settings apply (default: the embedded infra/feeds.json)")
)

func readOr(t testing.TB, path string, embedded []byte) []byte {
	t.Helper()
	if path == "" {
		return embedded
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadTaxonomy(t testing.TB) *topics.Taxonomy {
	t.Helper()
	tax, err := topics.Load(readOr(t, *taxonomyFile, infra.Topics))
	if err != nil {
		t.Fatalf("taxonomy: %v", err)
	}
	return tax
}

// feedTopicsBySociety is what ingest gives the tagger for an item of each
// registry society: its feeds' always_topics and default topics.
func feedTopicsBySociety(t testing.TB, tax *topics.Taxonomy) map[string]topics.FeedTopics {
	t.Helper()
	reg, err := feeds.ParseRegistry(readOr(t, *feedsFile, infra.Feeds), func(id string) bool {
		_, ok := tax.Lookup(id)
		return ok
	})
	if err != nil {
		t.Fatalf("feed registry: %v", err)
	}
	return reg.TopicsBySociety()
}

func loadCorpus(t testing.TB) []corpus.Item {
	t.Helper()
	list, err := corpus.Items()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		t.Skip("the labelled corpus is empty")
	}
	return list
}

func TestCorpusCoversEveryTopic(t *testing.T) {
	tax := loadTaxonomy(t)
	perTopic := map[string]map[string]int{corpus.Tune: {}, corpus.Holdout: {}}
	ids := map[string]bool{}
	for _, it := range loadCorpus(t) {
		if perTopic[it.Split] == nil {
			t.Fatalf("%s %q: unknown split %q", it.ID, it.Title, it.Split)
		}
		if ids[it.ID] {
			t.Errorf("id %q: used twice", it.ID)
		}
		ids[it.ID] = true
		if len(it.Topics) == 0 || len(it.Topics) > 4 {
			t.Errorf("%s %q: %d gold topics, want 1 to 4", it.ID, it.Title, len(it.Topics))
		}
		for _, id := range it.Topics {
			if _, ok := tax.Lookup(id); !ok {
				t.Errorf("%s %q: unknown gold topic %q", it.ID, it.Title, id)
			}
			perTopic[it.Split][id]++
		}
	}
	for _, topic := range tax.Topics() {
		total := perTopic[corpus.Tune][topic.ID] + perTopic[corpus.Holdout][topic.ID]
		if total < 4 || perTopic[corpus.Holdout][topic.ID] < 1 {
			t.Errorf("topic %s: %d labelled items, %d in holdout; want at least 4 and 1",
				topic.ID, total, perTopic[corpus.Holdout][topic.ID])
		}
	}
}

// splitResult is the tagger's quality on one split of the corpus.
type splitResult struct {
	items, fullyRight int
	overall           corpus.Counts
	perTopic          map[string]*corpus.Counts
}

func (r *splitResult) fullyRightShare() float64 {
	return float64(r.fullyRight) / float64(max(r.items, 1))
}

// TestTaggerQuality measures the taxonomy against the labelled corpus, with
// the registry's settings for the items of registry societies, as ingest
// tags them. It prints per-topic and overall figures for both splits, and
// logs the tune split's misses only: the holdout is never tuned on.
func TestTaggerQuality(t *testing.T) {
	tax := loadTaxonomy(t)
	tagger := topics.NewTagger(tax)
	bySociety := feedTopicsBySociety(t, tax)

	results := map[string]*splitResult{}
	for _, split := range []string{corpus.Tune, corpus.Holdout} {
		r := &splitResult{perTopic: map[string]*corpus.Counts{}}
		for _, topic := range tax.Topics() {
			r.perTopic[topic.ID] = &corpus.Counts{}
		}
		results[split] = r
	}
	for _, it := range loadCorpus(t) {
		got := tagger.Tag(topics.Text{Title: it.Title, Summary: it.Summary, Categories: it.Categories}, bySociety[it.Society])
		for _, ts := range got {
			if ts.Source == items.SourceRules && len(ts.Matched) == 0 {
				t.Errorf("%s: topic %s from the rules without a reason", it.ID, ts.ID)
			}
		}
		predicted := topicIDs(got)
		r := results[it.Split]
		r.items++
		for _, topic := range tax.Topics() {
			gold, tagged := slices.Contains(it.Topics, topic.ID), slices.Contains(predicted, topic.ID)
			r.overall.Add(gold, tagged)
			r.perTopic[topic.ID].Add(gold, tagged)
		}
		if sameSet(it.Topics, predicted) {
			r.fullyRight++
		} else if it.Split == corpus.Tune {
			t.Logf("tune miss %s %q (%s): gold=%v got=%s", it.ID, it.Title, it.Society, it.Topics, describe(got))
		}
	}

	report := qualityReport(tax, results)
	if testing.Verbose() {
		// Plain, so the table reads well in go test -v output.
		fmt.Print(report)
	} else {
		t.Log("\n" + report)
	}

	// Floors just under what the taxonomy achieves on the holdout: a change
	// that makes the tagger worse on news it was not tuned on fails here.
	holdout := results[corpus.Holdout]
	if f1 := holdout.overall.F1(); f1 < minHoldoutF1 {
		t.Errorf("holdout micro-F1 = %.3f, want at least %.2f", f1, minHoldoutF1)
	}
	if share := holdout.fullyRightShare(); share < minHoldoutFullyRight {
		t.Errorf("holdout items fully right = %.3f, want at least %.2f", share, minHoldoutFullyRight)
	}
}

const (
	minHoldoutF1         = 0.86
	minHoldoutFullyRight = 0.59
)

func qualityReport(tax *topics.Taxonomy, results map[string]*splitResult) string {
	var b strings.Builder
	splits := []string{corpus.Tune, corpus.Holdout}
	fmt.Fprintf(&b, "%-12s", "")
	for _, split := range splits {
		fmt.Fprintf(&b, " | %-23s", fmt.Sprintf("%s (%d items)", split, results[split].items))
	}
	fmt.Fprintf(&b, "\n%-12s", "topic")
	for range splits {
		fmt.Fprintf(&b, " | %5s %5s %5s %5s", "P", "R", "F1", "n")
	}
	b.WriteString("\n")
	row := func(name string, c func(r *splitResult) corpus.Counts) {
		fmt.Fprintf(&b, "%-12s", name)
		for _, split := range splits {
			cs := c(results[split])
			fmt.Fprintf(&b, " | %5.2f %5.2f %5.2f %5d", cs.Precision(), cs.Recall(), cs.F1(), cs.Support())
		}
		b.WriteString("\n")
	}
	for _, topic := range tax.Topics() {
		row(topic.ID, func(r *splitResult) corpus.Counts { return *r.perTopic[topic.ID] })
	}
	row("micro", func(r *splitResult) corpus.Counts { return r.overall })
	fmt.Fprintf(&b, "%-12s", "fully right")
	for _, split := range splits {
		r := results[split]
		fmt.Fprintf(&b, " | %-23s", fmt.Sprintf("%.1f%% (%d of %d)", 100*r.fullyRightShare(), r.fullyRight, r.items))
	}
	b.WriteString("\n")
	return b.String()
}

func topicIDs(scores []items.TopicScore) []string {
	var ids []string
	for _, s := range scores {
		ids = append(ids, s.ID)
	}
	return ids
}

// describe shows each topic with its source and the terms that decided it.
func describe(scores []items.TopicScore) string {
	var parts []string
	for _, s := range scores {
		var terms []string
		for _, m := range s.Matched {
			terms = append(terms, m.Term+"@"+m.Field)
		}
		parts = append(parts, fmt.Sprintf("%s(%s %.2f %s)", s.ID, s.Source, s.Score, strings.Join(terms, ",")))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}

// BenchmarkTag tags one corpus item per op, so ns/op is ns per item.
func BenchmarkTag(b *testing.B) {
	tax := loadTaxonomy(b)
	tagger := topics.NewTagger(tax)
	bySociety := feedTopicsBySociety(b, tax)
	list := loadCorpus(b)

	b.Run("corpus", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			it := list[n%len(list)]
			tagger.Tag(topics.Text{Title: it.Title, Summary: it.Summary, Categories: it.Categories}, bySociety[it.Society])
			n++
		}
	})

	// A full article: text at least as long as the tagger reads.
	var article strings.Builder
	for _, it := range list {
		if article.Len() > 4000 {
			break
		}
		article.WriteString(it.Summary + " ")
	}
	b.Run("article", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tagger.Tag(topics.Text{Title: list[0].Title, Summary: article.String()}, topics.FeedTopics{})
		}
	})
}
