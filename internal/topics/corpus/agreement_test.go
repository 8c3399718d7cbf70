package corpus_test

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/radiogram/radiogram/internal/topics/corpus"
)

//go:embed second-labeller.json
var secondLabellerJSON []byte

// TestLabellerAgreement measures how far a second labeller, who saw only
// the holdout items' text and LABELLING.md (not the first labels, nor any
// tagger), agrees with the corpus's labels: the ceiling a tagger can be
// expected to reach on this corpus. `go test -v` prints it.
func TestLabellerAgreement(t *testing.T) {
	all, err := corpus.Items()
	if err != nil {
		t.Fatal(err)
	}
	var second []struct {
		ID     string   `json:"id"`
		Topics []string `json:"topics"`
	}
	if err := json.Unmarshal(secondLabellerJSON, &second); err != nil {
		t.Fatal(err)
	}
	labels := make(map[string][]string, len(second))
	for _, s := range second {
		labels[s.ID] = s.Topics
	}
	var both, firstOnly, secondOnly, same, n int
	for _, it := range all {
		if it.Split != corpus.Holdout {
			continue
		}
		other, ok := labels[it.ID]
		if !ok {
			t.Errorf("%s: the second labeller has no labels for this holdout item", it.ID)
			continue
		}
		n++
		agreed := 0
		for _, id := range other {
			if slices.Contains(it.Topics, id) {
				agreed++
			} else {
				secondOnly++
			}
		}
		both += agreed
		firstOnly += len(it.Topics) - agreed
		if agreed == len(it.Topics) && agreed == len(other) {
			same++
		}
	}
	if n != len(second) {
		t.Errorf("the second labeller labelled %d items; the holdout has %d", len(second), n)
	}
	f1 := 2 * float64(both) / float64(2*both+firstOnly+secondOnly)
	report := fmt.Sprintf("second labeller vs corpus, holdout: %d topics agreed, %d only first, %d only second; micro-F1 %.3f; same set on %d of %d items (%.1f%%)",
		both, firstOnly, secondOnly, f1, same, n, 100*float64(same)/float64(max(n, 1)))
	t.Log(report)
	if testing.Verbose() {
		fmt.Println(report)
	}
	// Labels so far apart would mean the notes do not define the topics.
	if f1 < 0.85 {
		t.Errorf("%s: the two labellers disagree more than the notes allow", report)
	}
}
