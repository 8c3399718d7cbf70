package topics

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/items"
)

// testModel gives every topic of newTestTagger's taxonomy a bias of -3 and
// a threshold of 0.5; the weights are the test's. Its topic order differs
// from the taxonomy's on purpose.
func testModel(weights map[string]map[string]float64) *Model {
	m := &Model{
		TrainedOn: "test",
		L2:        1,
		Topics:    []string{"general", "ai", "mri", "guidelines", "cancer", "studies", "events", "ultrasound"},
		Stopwords: []string{"the"},
		Weights:   map[string][]float64{},
	}
	for range m.Topics {
		m.Bias = append(m.Bias, -3)
		m.Thresholds = append(m.Thresholds, 0.5)
	}
	for name, byTopic := range weights {
		row := make([]float64, len(m.Topics))
		for i, id := range m.Topics {
			row[i] = byTopic[id]
		}
		m.Weights[name] = row
	}
	return m
}

func TestModelDecides(t *testing.T) {
	g := newTestTagger(t, func(f *taxonomyFile) {
		f.Model = testModel(map[string]map[string]float64{
			// The words of meetings tag events without a rule...
			"title:symposium": {"events": 4},
			"summary:annual":  {"events": 2},
			// ...the rules' evidence counts, and can be overruled...
			"rules:mri":      {"mri": 5},
			"rule:mri@title": {"mri": 1, "studies": -2},
			"title:trial":    {"studies": 2, "mri": -10},
			// ...and a stopword is never a feature.
			"title:the":         {"guidelines": 10},
			"always:ultrasound": {"ultrasound": -10},
		})
	})
	tests := []struct {
		name string
		text Text
		feed FeedTopics
		want []items.TopicScore
	}{
		{
			name: "words alone",
			text: Text{Title: "The spring symposium", Summary: "Our annual meeting."},
			want: []items.TopicScore{{ID: "events", Source: items.SourceRules, Matched: []items.Match{{Term: "symposium", Field: "title"}, {Term: "annual", Field: "summary"}}}},
		},
		{
			name: "rules and their terms",
			text: Text{Title: "MRI in practice"},
			want: []items.TopicScore{{ID: "mri", Source: items.SourceRules, Matched: []items.Match{{Term: "mri", Field: "title"}}}},
		},
		{
			name: "the model overrules the rules; the feed's defaults follow",
			text: Text{Title: "MRI trial"},
			feed: FeedTopics{Defaults: []string{"cancer"}},
			want: []items.TopicScore{{ID: "cancer", Source: items.SourceFeed}},
		},
		{
			name: "always topics are given whatever the model says",
			text: Text{Title: "Symposium on MRI"},
			feed: FeedTopics{Always: []string{"ultrasound"}},
			want: []items.TopicScore{
				{ID: "mri", Source: items.SourceRules, Matched: []items.Match{{Term: "mri", Field: "title"}}},
				{ID: "events", Source: items.SourceRules, Matched: []items.Match{{Term: "symposium", Field: "title"}}},
				{ID: "ultrasound", Source: items.SourceFeed},
			},
		},
		{
			name: "nothing reaches: fallback",
			text: Text{Title: "The news"},
			want: []items.TopicScore{{ID: "general", Source: items.SourceFallback}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := g.Tag(tt.text, tt.feed)
			for i := range got {
				if got[i].Source == items.SourceRules && !(got[i].Score >= 0.5 && got[i].Score < 1) {
					t.Errorf("%s: score %v, want the model's probability (at least its threshold 0.5)", got[i].ID, got[i].Score)
				}
				got[i].Score = 0
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tag = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLoadRejectsBadModels(t *testing.T) {
	tests := []struct {
		name   string
		adjust func(m *Model)
		want   string
	}{
		{"unknown topic", func(m *Model) { m.Topics[0] = "sports" }, `topic "sports": not in the taxonomy`},
		{"missing topic", func(m *Model) { m.Topics = m.Topics[1:]; m.Bias = m.Bias[1:]; m.Thresholds = m.Thresholds[1:] }, "7 topics, the taxonomy has 8"},
		{"short bias", func(m *Model) { m.Bias = m.Bias[1:] }, "7 biases and 8 thresholds for 8 topics"},
		{"threshold of 1", func(m *Model) { m.Thresholds[2] = 1 }, "threshold 2 (1): must be between 0 and 1"},
		{"short row", func(m *Model) { m.Weights["title:x"] = []float64{1} }, `weights of "title:x": 1, want one per topic (8)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testTaxonomyFile()
			f.Model = testModel(nil)
			tt.adjust(f.Model)
			_, err := Load(mustJSON(t, f))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// trainingExamples are items whose topics follow their words, not the
// test taxonomy's rules: meetings are events whatever they are called.
func trainingExamples() []Example {
	var out []Example
	for i, title := range []string{
		"Spring symposium opens", "Autumn symposium programme", "Symposium registration open", "Winter symposium abstracts",
		"Symposium on breast imaging", "Regional symposium dates", "Symposium keynote announced", "Symposium venue changes",
		"Prostate MRI protocol", "MRI safety update", "New MRI scanner", "Cardiac MRI course",
		"MRI contrast shortage", "Whole-body MRI", "MRI waiting lists", "Fast MRI sequences",
	} {
		topics := []string{"events"}
		if strings.Contains(title, "MRI") {
			topics = []string{"mri"}
		}
		out = append(out, Example{ID: string(rune('a'+i)) + "-item", Text: Text{Title: title}, Topics: topics})
	}
	return out
}

func TestTrainLearnsAndIsDeterministic(t *testing.T) {
	g := newTestTagger(t, nil)
	first, err := Train(g.taxonomy, trainingExamples(), TrainOptions{L2: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Train(g.taxonomy, trainingExamples(), TrainOptions{L2: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Error("two runs on the same examples gave different models")
	}
	if w := first.Weights["title:symposium"]; w == nil || w[slicesIndex(first.Topics, "events")] <= 0 {
		t.Errorf("weights of title:symposium = %v, want positive for events", w)
	}
	if _, ok := first.Weights["title:opens"]; ok {
		t.Error("title:opens is a feature, but only one example holds it")
	}

	data, err := WithModel(mustJSON(t, testTaxonomyFile()), first)
	if err != nil {
		t.Fatal(err)
	}
	tax, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	got := NewTagger(tax).Tag(Text{Title: "Summer symposium"}, FeedTopics{})
	if ids := ids(got); !reflect.DeepEqual(ids, []string{"events"}) {
		t.Errorf("trained tagger gives %v, want [events] (the rules alone give the fallback)", ids)
	}
	if got := NewTagger(g.taxonomy).Tag(Text{Title: "Summer symposium"}, FeedTopics{}); got[0].ID != "general" {
		t.Errorf("the rules alone give %v, want the fallback", ids(got))
	}
}

func TestTrainRejects(t *testing.T) {
	g := newTestTagger(t, nil)
	if _, err := Train(g.taxonomy, trainingExamples()[:5], TrainOptions{}); err == nil {
		t.Error("Train accepted 5 examples")
	}
	bad := trainingExamples()
	bad[0].Topics = []string{"sports"}
	if _, err := Train(g.taxonomy, bad, TrainOptions{}); err == nil || !strings.Contains(err.Error(), `unknown topic "sports"`) {
		t.Errorf("Train error = %v, want unknown topic", err)
	}
}

func TestFormatKeepsTheModel(t *testing.T) {
	rulesOnly, err := Format(mustJSON(t, testTaxonomyFile()))
	if err != nil {
		t.Fatal(err)
	}
	m := testModel(map[string]map[string]float64{"title:symposium": {"events": 1.5}})
	with, err := WithModel(rulesOnly, m)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Format(with); err != nil || !bytes.Equal(again, with) {
		t.Errorf("Format changed a file it wrote (err %v)", err)
	}
	if !bytes.Contains(with, []byte(`"title:symposium": [0, 0, 0, 0, 0, 0, 1.5, 0]`)) {
		t.Errorf("the model's weights are not one feature per line:\n%s", with)
	}
	without, err := WithModel(with, nil)
	if err != nil || !bytes.Equal(without, rulesOnly) {
		t.Errorf("removing the model did not give the rules-only file back (err %v)", err)
	}
}

func slicesIndex(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
