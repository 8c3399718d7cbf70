package feedparse

import (
	"testing"
)

// BenchmarkParse measures whole-feed parsing, sanitising included, over
// realistic 50-entry feeds with HTML bodies, links and images.
func BenchmarkParse(b *testing.B) {
	for _, fixture := range []struct{ name, file string }{
		{"RSS", "bench_rss.xml"},
		{"Atom", "bench_atom.xml"},
		{"JSONFeed", "bench_feed.json"},
	} {
		b.Run(fixture.name, func(b *testing.B) {
			body := readFixture(b, fixture.file)
			p := NewParser()
			doc, err := p.Parse(body, "", testFeedURL, testNow)
			if err != nil {
				b.Fatal(err)
			}
			n := len(doc.Items)
			if n != 50 {
				b.Fatalf("fixture has %d items, want 50", n)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := p.Parse(body, "", testFeedURL, testNow); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/item")
		})
	}
}
