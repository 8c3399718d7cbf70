package stories

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"
	"unicode/utf8"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/topics/corpus"
)

// labelled is testdata/pairs.json: items and pairs of them labelled the
// same story or not.
type labelled struct {
	Items []struct {
		ID      string `json:"id"`
		Society string `json:"society"`
		Source  string `json:"source"`
		Title   string `json:"title"`
		Summary string `json:"summary"`
	} `json:"items"`
	Pairs []struct {
		A    string `json:"a"`
		B    string `json:"b"`
		Same bool   `json:"same"`
		// Kind is "real" (both items exist as labelled) or "constructed"
		// (b made from a real a: a reprint with its own headline).
		Kind string `json:"kind"`
		// How: "syndicated" (the same text), "rewritten" (an independent
		// report of the same news), "constructed"; for different stories
		// "hard" (the same subject) or "different".
		How  string `json:"how"`
		Note string `json:"note"`
	} `json:"pairs"`
}

func readPairs(t testing.TB) labelled {
	t.Helper()
	b, err := os.ReadFile("testdata/pairs.json")
	if err != nil {
		t.Fatal(err)
	}
	var l labelled
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("parse pairs.json: %v", err)
	}
	return l
}

// lead is the summary as ingest stores it: at most items.MaxSummaryRunes.
func lead(s string) string {
	if utf8.RuneCountInString(s) <= items.MaxSummaryRunes {
		return s
	}
	return string([]rune(s)[:items.MaxSummaryRunes])
}

// scored is one labelled pair and its estimated resemblance.
type scored struct {
	sim  float64
	same bool
	how  string
	name string
}

func precisionRecall(pairs []scored, threshold float64) (precision, recall float64, tp, fp, fn int) {
	for _, p := range pairs {
		found := p.sim >= threshold
		switch {
		case found && p.same:
			tp++
		case found:
			fp++
		case p.same:
			fn++
		}
	}
	precision = 1
	if tp+fp > 0 {
		precision = float64(tp) / float64(tp+fp)
	}
	recall = float64(tp) / float64(max(tp+fn, 1))
	return precision, recall, tp, fp, fn
}

// TestQualityPairs measures the detector on the labelled pairs: it prints
// precision and recall per threshold (the table in docs/relevance.md) and
// the recall per kind of pair, and holds Threshold to a precision of at
// least 0.95.
func TestQualityPairs(t *testing.T) {
	l := readPairs(t)
	sigs := map[string]Signature{}
	for _, it := range l.Items {
		sigs[it.ID] = Sign(it.Title, lead(it.Summary))
	}
	var pairs []scored
	same, different, real := 0, 0, 0
	for _, p := range l.Pairs {
		a, okA := sigs[p.A]
		b, okB := sigs[p.B]
		if !okA || !okB {
			t.Fatalf("pair %s/%s names an item pairs.json does not hold", p.A, p.B)
		}
		pairs = append(pairs, scored{sim: Score(&a, &b), same: p.Same, how: p.How, name: p.A + " / " + p.B})
		if p.Same {
			same++
			if p.Kind == "real" {
				real++
			}
		} else {
			different++
		}
	}
	if same < 40 || different < 100 || real*2 <= same {
		t.Fatalf("pairs.json has %d same-story pairs (%d real) and %d different: want ≥ 40, mostly real, and ≥ 100", same, real, different)
	}
	t.Logf("%d same-story pairs (%d real), %d different-story pairs", same, real, different)
	t.Logf("threshold  precision  recall  (tp fp fn)")
	for _, th := range []float64{0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6} {
		p, r, tp, fp, fn := precisionRecall(pairs, th)
		mark := ""
		if th == Threshold {
			mark = "  ← Threshold"
		}
		t.Logf("%9.2f  %9.3f  %6.3f  (%d %d %d)%s", th, p, r, tp, fp, fn, mark)
	}
	byHow := map[string][2]int{}
	for _, p := range pairs {
		if !p.same {
			if p.sim >= Threshold {
				t.Logf("false positive at %.3f: %s (%s)", p.sim, p.name, p.how)
			}
			continue
		}
		n := byHow[p.how]
		n[1]++
		if p.sim >= Threshold {
			n[0]++
		}
		byHow[p.how] = n
	}
	hows := make([]string, 0, len(byHow))
	for h := range byHow {
		hows = append(hows, h)
	}
	sort.Strings(hows)
	for _, h := range hows {
		t.Logf("recall on %s pairs: %d of %d", h, byHow[h][0], byHow[h][1])
	}
	p, r, _, _, _ := precisionRecall(pairs, Threshold)
	if p < 0.95 {
		t.Errorf("precision %.3f at threshold %.2f, want ≥ 0.95", p, Threshold)
	}
	// Syndicated copies (the same text under another headline or
	// dateline) and reprints are what the detector is for: it must find
	// them all.
	for _, how := range []string{"syndicated", "constructed"} {
		if n := byHow[how]; n[0] != n[1] || n[1] == 0 {
			t.Errorf("found %d of %d %s pairs, want all", n[0], n[1], how)
		}
	}
	t.Logf("at Threshold %.2f: precision %.3f, recall %.3f", Threshold, p, r)
}

// TestQualityCorpus checks the detector across every pair of items of
// different societies in the labelled topic corpus: all of them are
// different stories unless pairs.json labels them the same.
func TestQualityCorpus(t *testing.T) {
	all, err := corpus.Items()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Skip("the corpus is empty")
	}
	l := readPairs(t)
	sameStory := map[[2]string]bool{}
	for _, p := range l.Pairs {
		if p.Same {
			sameStory[[2]string{p.A, p.B}] = true
			sameStory[[2]string{p.B, p.A}] = true
		}
	}
	sigs := make([]Signature, len(all))
	for i, it := range all {
		sigs[i] = Sign(it.Title, lead(it.Summary))
	}
	var pairs []scored
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[i].Society == all[j].Society {
				continue
			}
			pairs = append(pairs, scored{
				sim:  Score(&sigs[i], &sigs[j]),
				same: sameStory[[2]string{all[i].ID, all[j].ID}],
				name: fmt.Sprintf("%s / %s", all[i].ID, all[j].ID),
			})
		}
	}
	p, r, tp, fp, fn := precisionRecall(pairs, Threshold)
	t.Logf("%d items, %d cross-society pairs: precision %.3f, recall %.3f (tp %d, fp %d, fn %d)", len(all), len(pairs), p, r, tp, fp, fn)
	for _, s := range pairs {
		if !s.same && s.sim >= Threshold {
			t.Logf("false positive at %.3f: %s", s.sim, s.name)
		}
	}
	if p < 0.95 {
		t.Errorf("precision %.3f across the corpus, want ≥ 0.95", p)
	}
}
