package topics

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/infra"
)

// validFile is a small, valid taxonomy that the tests below break one way
// at a time.
func validFile() taxonomyFile {
	return taxonomyFile{
		Threshold: 3,
		Fallback:  "general",
		Topics: []topicFile{
			{Topic: Topic{ID: "ai", Name: "AI", Group: "Technology"}, Rules: []Rule{{Term: "artificial intelligence", Variants: []string{"ai"}, Weight: 3}}},
			{Topic: Topic{ID: "general", Name: "General", Group: "Other"}, Rules: []Rule{{Term: "news", Weight: 1}}},
		},
	}
}

func loadDefaultTaxonomy(t testing.TB) *Taxonomy {
	t.Helper()
	tax, err := Load(infra.Topics)
	if err != nil {
		t.Fatalf("default taxonomy: %v", err)
	}
	return tax
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLoadDefaultTaxonomy(t *testing.T) {
	tax := loadDefaultTaxonomy(t)

	want := []string{"ai", "screening", "cancer", "safety", "education", "events", "guidelines", "research",
		"workforce", "equity", "patients", "policy", "value", "ultrasound", "molecular", "covid"}
	var got []string
	for _, topic := range tax.Topics() {
		got = append(got, topic.ID)
		if topic.Description == "" {
			t.Errorf("topic %s: no description", topic.ID)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("topic ids = %v, want %v", got, want)
	}
	if _, ok := tax.Lookup(tax.Fallback()); !ok {
		t.Errorf("fallback %q is not a topic", tax.Fallback())
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(f *taxonomyFile)
		wantErr string
	}{
		{"duplicate id", func(f *taxonomyFile) { f.Topics[1].ID = "ai" }, `duplicate id "ai"`},
		{"upper-case id", func(f *taxonomyFile) { f.Topics[0].ID = "AI" }, `id "AI"`},
		{"one-letter id", func(f *taxonomyFile) { f.Topics[0].ID = "a" }, `id "a"`},
		{"id starting with a digit", func(f *taxonomyFile) { f.Topics[0].ID = "3d" }, `id "3d"`},
		{"id with underscore", func(f *taxonomyFile) { f.Topics[0].ID = "deep_learning" }, `id "deep_learning"`},
		{"id too long", func(f *taxonomyFile) { f.Topics[0].ID = "a" + strings.Repeat("b", 31) }, "must match"},
		{"empty name", func(f *taxonomyFile) { f.Topics[0].Name = " " }, "empty name"},
		{"empty group", func(f *taxonomyFile) { f.Topics[0].Group = "" }, "empty group"},
		{"no rules", func(f *taxonomyFile) { f.Topics[0].Rules = nil }, "no rule with a positive weight"},
		{"only negative rules", func(f *taxonomyFile) { f.Topics[0].Rules = []Rule{{Term: "said", Weight: -1}} }, "no rule with a positive weight"},
		{"zero weight", func(f *taxonomyFile) { f.Topics[0].Rules[0].Weight = 0 }, "zero weight"},
		{"term without words", func(f *taxonomyFile) { f.Topics[0].Rules[0].Term = " - " }, "has no words"},
		{"variant without words", func(f *taxonomyFile) { f.Topics[0].Rules[0].Variants = []string{"/"} }, "has no words"},
		{"stray wildcard", func(f *taxonomyFile) { f.Topics[0].Rules[0].Term = "*intelligence" }, `"*" must directly follow a word`},
		{"short prefix", func(f *taxonomyFile) { f.Topics[0].Rules[0].Term = "ai*" }, "too many words"},
		{"missing fallback", func(f *taxonomyFile) { f.Fallback = "" }, `fallback ""`},
		{"unknown fallback", func(f *taxonomyFile) { f.Fallback = "misc" }, `fallback "misc"`},
		{"zero threshold", func(f *taxonomyFile) { f.Threshold = 0 }, "threshold 0"},
		{"relative threshold above one", func(f *taxonomyFile) { f.RelativeThreshold = 1.5 }, "relative_threshold"},
		{"negative title weight", func(f *taxonomyFile) { f.TitleWeight = -2 }, "title_weight"},
		{"negative max topics", func(f *taxonomyFile) { f.MaxTopics = -1 }, "max_topics"},
		{"no topics", func(f *taxonomyFile) { f.Topics = nil }, "no topics"},
		{"negative field weight", func(f *taxonomyFile) { f.FieldWeights = &FieldWeights{Category: ptr(-1.0)} }, "field_weights.category"},
		{"negative topic threshold", func(f *taxonomyFile) { f.Topics[0].Threshold = -1 }, "threshold -1"},
		{"negation cue of two words", func(f *taxonomyFile) { f.NegationCues = []string{"not about"} }, `negation cue "not about"`},
		{"negation cue prefix", func(f *taxonomyFile) { f.NegationCues = []string{"non*"} }, `negation cue "non*"`},
		{"not_about without words", func(f *taxonomyFile) { f.Topics[0].NotAbout = []string{"--"} }, "not_about"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validFile()
			tt.breakIt(&f)
			_, err := Load(mustJSON(t, f))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load: error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	if _, err := Load(mustJSON(t, validFile())); err != nil {
		t.Errorf("Load(valid) = %v", err)
	}
	if _, err := Load([]byte(`{"topics": [`)); err == nil || !strings.Contains(err.Error(), "parse taxonomy") {
		t.Errorf("Load(truncated JSON): error %v, want a parse error", err)
	}
}

func TestTopicsGroupedInFileOrder(t *testing.T) {
	f := validFile()
	rules := []Rule{{Term: "x-ray", Weight: 1}}
	f.Topics = []topicFile{
		{Topic: Topic{ID: "ai", Name: "AI", Group: "Technology"}, Rules: rules},
		{Topic: Topic{ID: "general", Name: "General", Group: "Other"}, Rules: rules},
		// Appended by an admin at the end, yet shown with its group.
		{Topic: Topic{ID: "pacs", Name: "PACS", Group: "Technology"}, Rules: rules},
	}
	tax, err := Load(mustJSON(t, f))
	if err != nil {
		t.Fatal(err)
	}

	var ids []string
	for _, topic := range tax.Topics() {
		ids = append(ids, topic.ID)
	}
	if want := []string{"ai", "pacs", "general"}; !slices.Equal(ids, want) {
		t.Errorf("Topics() order = %v, want %v", ids, want)
	}

	tax.Topics()[0].Name = "changed by a caller"
	if topic, _ := tax.Lookup("ai"); topic.Name != "AI" {
		t.Errorf("changing the result of Topics() changed the taxonomy: name %q", topic.Name)
	}
}

func TestLookup(t *testing.T) {
	tax, err := Load(mustJSON(t, validFile()))
	if err != nil {
		t.Fatal(err)
	}
	if topic, ok := tax.Lookup("ai"); !ok || topic.Name != "AI" || topic.Group != "Technology" {
		t.Errorf(`Lookup("ai") = %+v, %v`, topic, ok)
	}
	if topic, ok := tax.Lookup("cardiac"); ok {
		t.Errorf(`Lookup("cardiac") = %+v, true; want not found`, topic)
	}
}
