package topics

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/infra"
)

// labelledItem is one hand-labelled news item of testdata/labelled.json.
// Split "tune" items may guide changes to the rules; "holdout" items only
// measure them.
type labelledItem struct {
	Title   string   `json:"title"`
	Summary string   `json:"summary"`
	Society string   `json:"society"`
	Topics  []string `json:"topics"`
	Split   string   `json:"split"`
}

func loadDefaultTaxonomy(t testing.TB) *Taxonomy {
	t.Helper()
	tax, err := Load(infra.Topics)
	if err != nil {
		t.Fatalf("default taxonomy: %v", err)
	}
	return tax
}

func loadLabelled(t testing.TB) []labelledItem {
	t.Helper()
	data, err := os.ReadFile("testdata/labelled.json")
	if err != nil {
		t.Fatal(err)
	}
	var labelled []labelledItem
	if err := json.Unmarshal(data, &labelled); err != nil {
		t.Fatalf("parse labelled items: %v", err)
	}
	return labelled
}

// counts tallies item×topic decisions.
type counts struct{ truePos, falsePos, falseNeg int }

func (c counts) precision() float64 { return ratio(c.truePos, c.truePos+c.falsePos) }
func (c counts) recall() float64    { return ratio(c.truePos, c.truePos+c.falseNeg) }
func (c counts) f1() float64 {
	p, r := c.precision(), c.recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func TestLabelledSetCoversEveryTopic(t *testing.T) {
	tax := loadDefaultTaxonomy(t)
	perTopic := map[string]map[string]int{"tune": {}, "holdout": {}}
	for _, it := range loadLabelled(t) {
		if perTopic[it.Split] == nil {
			t.Fatalf("%q: unknown split %q", it.Title, it.Split)
		}
		if len(it.Topics) == 0 {
			t.Errorf("%q: no gold topics", it.Title)
		}
		for _, id := range it.Topics {
			if _, ok := tax.Lookup(id); !ok {
				t.Errorf("%q: unknown gold topic %q", it.Title, id)
			}
			perTopic[it.Split][id]++
		}
	}
	for _, topic := range tax.Topics() {
		total := perTopic["tune"][topic.ID] + perTopic["holdout"][topic.ID]
		if total < 4 || perTopic["holdout"][topic.ID] < 1 {
			t.Errorf("topic %s: %d labelled items, %d in holdout; want at least 4 and 1",
				topic.ID, total, perTopic["holdout"][topic.ID])
		}
	}
}

// TestTaggerQuality measures the default taxonomy's rules against the
// labelled items, with no feed defaults, so the figures are the rules' own.
func TestTaggerQuality(t *testing.T) {
	tax := loadDefaultTaxonomy(t)
	tagger := NewTagger(tax)

	overall := map[string]*counts{"tune": {}, "holdout": {}}
	perTopic := map[string]map[string]*counts{"tune": {}, "holdout": {}}
	for _, split := range []string{"tune", "holdout"} {
		for _, topic := range tax.Topics() {
			perTopic[split][topic.ID] = &counts{}
		}
	}
	report := func(format string, args ...any) {
		t.Logf(format, args...)
		if testing.Verbose() {
			// Plain lines too, easy to grep from go test -v output.
			fmt.Printf(format+"\n", args...)
		}
	}

	for _, it := range loadLabelled(t) {
		var predicted []string
		for _, ts := range tagger.Tag(it.Title, it.Summary, nil) {
			predicted = append(predicted, ts.ID)
		}
		for _, topic := range tax.Topics() {
			gold, got := slices.Contains(it.Topics, topic.ID), slices.Contains(predicted, topic.ID)
			for _, c := range []*counts{overall[it.Split], perTopic[it.Split][topic.ID]} {
				switch {
				case gold && got:
					c.truePos++
				case got:
					c.falsePos++
				case gold:
					c.falseNeg++
				}
			}
		}
		if it.Split == "tune" && !sameSet(it.Topics, predicted) {
			t.Logf("tune miss: %q gold=%v got=%v", it.Title, it.Topics, predicted)
		}
	}

	for _, split := range []string{"tune", "holdout"} {
		c := overall[split]
		report("%-7s precision=%.3f recall=%.3f F1=%.3f (tp=%d fp=%d fn=%d)",
			split, c.precision(), c.recall(), c.f1(), c.truePos, c.falsePos, c.falseNeg)
	}
	for _, split := range []string{"tune", "holdout"} {
		var line strings.Builder
		for _, topic := range tax.Topics() {
			c := perTopic[split][topic.ID]
			fmt.Fprintf(&line, " %s P=%.2f R=%.2f;", topic.ID, c.precision(), c.recall())
		}
		report("%-7s per topic:%s", split, line.String())
	}

	if f1 := overall["holdout"].f1(); f1 < 0.80 {
		t.Errorf("holdout F1 = %.3f, want at least 0.80", f1)
	}
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}

// BenchmarkTag tags one item per op, so ns/op is ns per item.
func BenchmarkTag(b *testing.B) {
	tagger := NewTagger(loadDefaultTaxonomy(b))
	labelled := loadLabelled(b)

	b.Run("labelled", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			it := labelled[n%len(labelled)]
			tagger.Tag(it.Title, it.Summary, nil)
			n++
		}
	})

	// A full article: text at least as long as the tagger reads.
	var article strings.Builder
	for _, it := range labelled {
		if article.Len() > maxTextBytes {
			break
		}
		article.WriteString(it.Summary + " ")
	}
	b.Run("article", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tagger.Tag(labelled[0].Title, article.String(), nil)
		}
	})
}
