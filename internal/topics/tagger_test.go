package topics

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/radiogram/radiogram/internal/items"
)

// newTestTagger builds a tagger over a small taxonomy whose rules the tests
// below rely on. A single weight-3 match reaches the threshold; a weight-2
// match does so only in the title (2 × title weight 2).
func newTestTagger(t *testing.T, adjust func(f *taxonomyFile)) *Tagger {
	t.Helper()
	f := taxonomyFile{
		Threshold: 3,
		Fallback:  "general",
		Topics: []topicFile{
			{Topic: Topic{ID: "ai", Name: "AI", Group: "Technology"}, Rules: []Rule{
				{Term: "artificial intelligence", Variants: []string{"ai"}, Weight: 3},
				{Term: "algorithm", Weight: 2},
			}},
			{Topic: Topic{ID: "mri", Name: "MRI", Group: "Technology"}, Rules: []Rule{{Term: "mri", Weight: 3}}},
			{Topic: Topic{ID: "guidelines", Name: "Guidelines", Group: "Practice"}, Rules: []Rule{{Term: "guideline", Weight: 3}}},
			{Topic: Topic{ID: "cancer", Name: "Cancer", Group: "Clinical"}, Rules: []Rule{{Term: "oncolog*", Weight: 3}}},
			{Topic: Topic{ID: "studies", Name: "Studies", Group: "Practice"}, Rules: []Rule{{Term: "study", Weight: 3}}},
			{Topic: Topic{ID: "events", Name: "Events", Group: "Practice"}, Rules: []Rule{
				{Term: "congress", Weight: 3},
				{Term: "urged congress", Weight: -3},
			}},
			{Topic: Topic{ID: "ultrasound", Name: "Ultrasound", Group: "Technology"}, Rules: []Rule{{Term: "ultrasound", Weight: 3}}},
			{Topic: Topic{ID: "general", Name: "General", Group: "Other"}, Rules: []Rule{{Term: "society news", Weight: 3}}},
		},
	}
	if adjust != nil {
		adjust(&f)
	}
	tax, err := Load(mustJSON(t, f))
	if err != nil {
		t.Fatal(err)
	}
	return NewTagger(tax)
}

func ids(scores []items.TopicScore) []string {
	var ids []string
	for _, s := range scores {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestTagMatchesWholeWordsOnly(t *testing.T) {
	g := newTestTagger(t, nil)
	tests := []struct {
		text string
		want []string
	}{
		{"The president said the plan was ready", []string{"general"}},
		{"Managing pain after biopsy", []string{"general"}},
		{"Waiting times in Hawaii", []string{"general"}},
		{"AI-based triage of head CT", []string{"ai"}},
		{"New (AI) tools", []string{"ai"}},
		{"MRI-guided biopsy", []string{"mri"}},
		{"Prostate MRI: what's new", []string{"mri"}},
		{"Artificial\nintelligence in practice", []string{"ai"}},
		{"Artificial and natural intelligence", []string{"general"}},
		{"Abnormalities in the bone", []string{"general"}},
	}
	for _, tt := range tests {
		if got := ids(g.Tag("", tt.text, nil)); !slices.Equal(got, tt.want) {
			t.Errorf("Tag(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestTagIgnoresCaseAndFoldsPlurals(t *testing.T) {
	g := newTestTagger(t, nil)
	tests := []struct {
		text string
		want string
	}{
		{"ai", "ai"},
		{"Ai", "ai"},
		{"ARTIFICIAL INTELLIGENCE", "ai"},
		{"New GUIDELINES published", "guidelines"},
		{"Two studies compare protocols", "studies"},
		{"Oncologists and oncology nurses", "cancer"},
		{"ONCOLOGIC imaging", "cancer"},
	}
	for _, tt := range tests {
		if got := ids(g.Tag("", tt.text, nil)); !slices.Equal(got, []string{tt.want}) {
			t.Errorf("Tag(%q) = %v, want [%s]", tt.text, got, tt.want)
		}
	}
}

func TestTagTitleWeighsMore(t *testing.T) {
	g := newTestTagger(t, nil)

	inTitle := g.Tag("Guideline on MRI", "", nil)
	inText := g.Tag("", "Guideline on MRI", nil)
	if inTitle[0].Score <= inText[0].Score {
		t.Errorf("score from the title %.3f, from the text %.3f; want the title's higher", inTitle[0].Score, inText[0].Score)
	}

	// "algorithm" weighs 2: enough in the title, not in the text.
	if got := ids(g.Tag("A new algorithm", "", nil)); !slices.Equal(got, []string{"ai"}) {
		t.Errorf("weight-2 term in the title: %v, want [ai]", got)
	}
	if got := ids(g.Tag("", "A new algorithm", nil)); !slices.Equal(got, []string{"general"}) {
		t.Errorf("weight-2 term in the text: %v, want [general]", got)
	}
}

func TestTagNegativeRule(t *testing.T) {
	g := newTestTagger(t, nil)
	if got := ids(g.Tag("", "The college urged Congress to act.", nil)); !slices.Equal(got, []string{"general"}) {
		t.Errorf("US Congress: %v, want [general]", got)
	}
	if got := ids(g.Tag("", "The congress opens on Monday.", nil)); !slices.Equal(got, []string{"events"}) {
		t.Errorf("a congress: %v, want [events]", got)
	}
}

func TestTagNeverEmpty(t *testing.T) {
	g := newTestTagger(t, nil)
	tests := []struct {
		name        string
		title, text string
		defaults    []string
		want        []string
	}{
		{"nothing at all", "", "", nil, []string{"general"}},
		{"nothing matches", "Board elects officers", "The vote took place online.", nil, []string{"general"}},
		{"feed defaults", "Board elects officers", "", []string{"ultrasound"}, []string{"ultrasound"}},
		{"several defaults, repeated", "", "", []string{"ultrasound", "mri", "ultrasound"}, []string{"ultrasound", "mri"}},
		{"unknown defaults ignored", "", "", []string{"cardiac", "mri"}, []string{"mri"}},
		{"only unknown defaults", "", "", []string{"cardiac"}, []string{"general"}},
		{"defaults unused when a topic scores", "AI in the clinic", "", []string{"ultrasound"}, []string{"ai"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := g.Tag(tt.title, tt.text, tt.defaults)
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("Tag = %v, want %v", ids(got), tt.want)
			}
			for _, s := range got {
				if s.Score <= 0 || s.Score > 1 {
					t.Errorf("topic %s: score %v outside (0,1]", s.ID, s.Score)
				}
			}
		})
	}
}

func TestTagScoresSortedAndBounded(t *testing.T) {
	g := newTestTagger(t, nil)
	got := g.Tag("AI guideline", "The guideline covers AI, MRI and an algorithm. A study of MRI at the congress.", nil)

	if want := []string{"ai", "guidelines", "mri", "studies"}; !slices.Equal(ids(got), want) {
		t.Errorf("Tag = %v, want %v (events dropped by max_topics)", ids(got), want)
	}
	if !slices.IsSortedFunc(got, func(a, b items.TopicScore) int { return -cmpFloat(a.Score, b.Score) }) {
		t.Errorf("scores not in descending order: %v", got)
	}
	for _, s := range got {
		if s.Score <= 0 || s.Score > 1 || math.IsNaN(s.Score) {
			t.Errorf("topic %s: score %v outside (0,1]", s.ID, s.Score)
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestTagRelativeThreshold(t *testing.T) {
	title, text := "AI algorithm for AI triage", "Artificial intelligence flags cases for MRI."
	without := newTestTagger(t, nil)
	if got := ids(without.Tag(title, text, nil)); !slices.Equal(got, []string{"ai", "mri"}) {
		t.Fatalf("without relative threshold: %v, want [ai mri]", got)
	}
	with := newTestTagger(t, func(f *taxonomyFile) { f.RelativeThreshold = 0.5 })
	if got := ids(with.Tag(title, text, nil)); !slices.Equal(got, []string{"ai"}) {
		t.Errorf("with relative threshold 0.5: %v, want [ai]: a passing mention is not a topic", got)
	}
}

func TestTagReadsOnlyTheLeadOfLongTexts(t *testing.T) {
	g := newTestTagger(t, nil)
	// Multi-byte filler, so the cut falls inside a rune.
	filler := strings.Repeat("é", maxTextBytes)
	if got := ids(g.Tag("", "MRI: "+filler+" ultrasound", nil)); !slices.Equal(got, []string{"mri"}) {
		t.Errorf("Tag(long text) = %v, want [mri]: the tail is past the lead", got)
	}
}

func TestTagConcurrentUse(t *testing.T) {
	g := newTestTagger(t, nil)
	inputs := []string{"AI guideline", "MRI-guided oncology", "urged Congress", "", "A study of ultrasound"}
	want := make([][]items.TopicScore, len(inputs))
	for i, in := range inputs {
		want[i] = g.Tag(in, in, []string{"mri"})
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8*len(inputs))
	for range 8 {
		wg.Go(func() {
			for i, in := range inputs {
				if got := g.Tag(in, in, []string{"mri"}); !reflect.DeepEqual(got, want[i]) {
					errs <- fmt.Errorf("Tag(%q) = %v concurrently, %v alone", in, got, want[i])
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestStem(t *testing.T) {
	tests := map[string]string{
		"guidelines": "guideline",
		"studies":    "study",
		"scanners":   "scanner",
		"mris":       "mris", // ends in "is": the price of leaving "diagnosis" alone
		"cts":        "cts",
		"has":        "has",
		"access":     "access",
		"focus":      "focus",
		"diagnosis":  "diagnosis",
		"ai":         "ai",
	}
	for in, want := range tests {
		if got := stem(in); got != want {
			t.Errorf("stem(%q) = %q, want %q", in, got, want)
		}
	}
}
