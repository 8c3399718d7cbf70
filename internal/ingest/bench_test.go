package ingest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/topics"
)

// BenchmarkParseNormaliseTag measures the CPU side of ingest per core: a
// fetched body parsed, every item normalised and sanitised, then tagged.
func BenchmarkParseNormaliseTag(b *testing.B) {
	taxonomy, err := topics.Load(infra.Topics)
	if err != nil {
		b.Fatal(err)
	}
	tagger := topics.NewTagger(taxonomy)
	parser := feedparse.NewParser()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, fixture := range []struct{ file, contentType string }{
		{"bench_rss.xml", "application/rss+xml"},
		{"bench_atom.xml", "application/atom+xml"},
		{"bench_feed.json", "application/feed+json"},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", fixture.file))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fixture.file, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			n := 0
			for b.Loop() {
				doc, err := parser.Parse(body, fixture.contentType, "https://society.example/feed", now)
				if err != nil {
					b.Fatal(err)
				}
				for _, it := range doc.Items {
					if len(tagger.Tag(topics.Text{Title: it.Title, Summary: it.Summary}, topics.FeedTopics{})) == 0 {
						b.Fatal("untagged item")
					}
				}
				n += len(doc.Items)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "items/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/item")
		})
	}
}
