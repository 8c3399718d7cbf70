package taggerreport

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/topics/corpus"
)

// byTitle tags as a table says, and records the categories it was given.
type byTitle map[string][]string

func (b byTitle) tag(ex Example) []string { return b[ex.Title] }

func TestMeasure(t *testing.T) {
	tag := byTitle{
		"exact":   {"ai", "safety"},
		"extra":   {"ai", "workforce"},
		"missing": {"events"},
	}.tag
	s := Measure([]Example{
		{Title: "exact", Gold: []string{"safety", "ai"}},
		{Title: "extra", Gold: []string{"ai"}},
		{Title: "missing", Gold: []string{"events", "education"}},
	}, tag)
	// tp: ai, safety, ai, events = 4; fp: workforce = 1; fn: education = 1.
	if s.Items != 3 || s.Exact != 1 || s.Micro != (Counts{TruePos: 4, FalsePos: 1, FalseNeg: 1}) {
		t.Fatalf("score %+v", s)
	}
	if p, r, f := s.Micro.Precision(), s.Micro.Recall(), s.Micro.F1(); p != 0.8 || r != 0.8 || math.Abs(f-0.8) > 1e-9 {
		t.Errorf("precision %v recall %v F1 %v, want 0.8 each", p, r, f)
	}
	want := map[string]Counts{"ai": {TruePos: 2}, "safety": {TruePos: 1}, "workforce": {FalsePos: 1}, "events": {TruePos: 1}, "education": {FalseNeg: 1}}
	for id, c := range want {
		if s.PerTopic[id] != c {
			t.Errorf("%s: %+v, want %+v", id, s.PerTopic[id], c)
		}
	}
	if (Counts{}).F1() != 0 || (Counts{}).Precision() != 0 {
		t.Error("an empty tally has a nonzero score")
	}
}

var corrections = []admin.Correction{ // newest first
	{ItemID: "wfumb-1", Title: "Federation news", After: []items.TopicScore{{ID: "ultrasound"}, {ID: "events"}},
		Before: []items.TopicScore{{ID: "workforce", Source: items.SourceFallback}}},
	{ItemID: "esr-1", Title: "Deep learning register", After: []items.TopicScore{{ID: "research"}},
		Before: []items.TopicScore{
			{ID: "ai", Source: items.SourceRules, Matched: []items.Match{{Term: "deep learning", Field: "title"}, {Term: "algorithm", Field: "summary"}}},
			{ID: "research", Source: items.SourceRules, Matched: []items.Match{{Term: "register", Field: "title"}}},
		}},
	{ItemID: "wfumb-1", Title: "Federation news", After: []items.TopicScore{{ID: "ultrasound"}},
		Before: []items.TopicScore{{ID: "workforce", Source: items.SourceFallback}}},
	{ItemID: "acr-1", Title: "Reimbursement", After: []items.TopicScore{{ID: "policy"}},
		Before: []items.TopicScore{{ID: "guidelines", Source: items.SourceRules, Matched: []items.Match{{Term: "algorithm", Field: "summary"}}}, {ID: "ultrasound", Source: items.SourceFeed}}},
}

func TestLatestBlameMissed(t *testing.T) {
	latest := Latest(corrections)
	if len(latest) != 3 || latest[0].ItemID != "wfumb-1" || len(latest[0].After) != 2 {
		t.Fatalf("latest %+v; want wfumb-1's newest correction, esr-1, acr-1", latest)
	}
	blame := Blame(latest)
	want := []Tally{
		{`ai ← "algorithm" (summary)`, 1}, {`ai ← "deep learning" (title)`, 1}, {`guidelines ← "algorithm" (summary)`, 1},
		{"ultrasound ← the feed's topics", 1}, {"workforce ← the fallback", 1},
	}
	if len(blame) != len(want) {
		t.Fatalf("blame %+v, want %+v", blame, want)
	}
	for i := range want {
		if blame[i] != want[i] {
			t.Errorf("blame[%d] = %+v, want %+v", i, blame[i], want[i])
		}
	}
	missed := Missed(latest)
	wantMissed := []Tally{{"events", 1}, {"policy", 1}, {"ultrasound", 1}}
	if len(missed) != len(wantMissed) {
		t.Fatalf("missed %+v, want %+v", missed, wantMissed)
	}
	for i := range wantMissed {
		if missed[i] != wantMissed[i] {
			t.Errorf("missed[%d] = %+v, want %+v", i, missed[i], wantMissed[i])
		}
	}
	// Counted once per correction, ranked by count.
	twice := Blame([]admin.Correction{corrections[1], {ItemID: "x", After: []items.TopicScore{{ID: "research"}}, Before: corrections[1].Before}})
	if twice[0] != (Tally{`ai ← "algorithm" (summary)`, 2}) {
		t.Errorf("blame over two corrections: %+v", twice)
	}
}

type memSource struct {
	list []admin.Correction
	err  error
}

func (m memSource) AllCorrections(context.Context) ([]admin.Correction, error) { return m.list, m.err }

func TestWrite(t *testing.T) {
	tag := byTitle{"Federation news": {"workforce"}, "Deep learning register": {"ai", "research"}, "Reimbursement": {"policy"},
		"Tune item": {"ai"}, "Holdout item": {"safety"}}.tag
	labelled := []corpus.Item{
		{Title: "Tune item", Topics: []string{"ai"}, Split: corpus.Tune},
		{Title: "Holdout item", Topics: []string{"safety", "events"}, Split: corpus.Holdout},
	}
	tests := []struct {
		name     string
		opts     Options
		want     []string
		wantNone []string
	}{
		{"no store, empty corpus", Options{Tag: tag},
			[]string{"Corrections: not read (no store configured", "Labelled corpus (internal/topics/corpus): 0 items.", "Split tune: 0 items.", "Split holdout: 0 items."},
			[]string{"overall"}},
		{"no corrections yet", Options{Tag: tag, Corrections: memSource{}},
			[]string{"Corrections: 0, of 0 items"}, []string{"Rules behind", "not read"}},
		{"corrections and corpus", Options{Tag: tag, Corrections: memSource{list: corrections}, Corpus: labelled},
			[]string{
				"Corrections: 4, of 3 items",
				// wfumb: 0 tp, 1 fp, 2 fn; esr: 1 tp, 1 fp; acr: 1 tp.
				"overall  precision 0.50  recall 0.50  micro-F1 0.50  exactly right 1 of 3",
				"  workforce           0.00   0.00  0.00    0    1    0",
				"    1  workforce ← the fallback",
				`    1  ai ← "deep learning" (title)`,
				"Topics admins added most often (the tagger missed them):\n    1  events\n    1  policy\n    1  ultrasound",
				"Labelled corpus (internal/topics/corpus): 2 items.",
				"Split tune: 1 items.\n  overall  precision 1.00  recall 1.00  micro-F1 1.00  exactly right 1 of 1",
				"Split holdout: 1 items.\n  overall  precision 1.00  recall 0.50  micro-F1 0.67  exactly right 0 of 1",
			}, nil},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := Write(context.Background(), &out, tt.opts); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.name, w, out.String())
			}
		}
		for _, w := range tt.wantNone {
			if strings.Contains(out.String(), w) {
				t.Errorf("%s: output has %q:\n%s", tt.name, w, out.String())
			}
		}
	}
	err := Write(context.Background(), &bytes.Buffer{}, Options{Tag: tag, Corrections: memSource{err: errors.New("throttled")}})
	if err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Errorf("a failed read: %v", err)
	}
}

func TestTheCorpusLoads(t *testing.T) {
	// The embedded corpus (empty until it is labelled) reads as a list the
	// report can measure, whatever its size.
	list, err := corpus.Items()
	if err != nil {
		t.Fatal(err)
	}
	n := len(FromCorpus(list, corpus.Tune)) + len(FromCorpus(list, corpus.Holdout))
	if n != len(list) {
		t.Errorf("%d of %d corpus items are in neither split", len(list)-n, len(list))
	}
}
