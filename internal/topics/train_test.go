package topics

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestTrainLearnsFromExamples(t *testing.T) {
	f := validFile()
	f.Topics[0].Rules = []Rule{{Term: "artificial intelligence", Variants: []string{"ai"}, Weight: 3}, {Term: "algorithm", Weight: 1}, {Term: "robot", Weight: 2}}
	data := mustJSON(t, f)

	// In these examples "ai" alone is an acronym of something else, while
	// "algorithm" alone is always about AI: the reverse of the hand weights.
	var examples []Example
	for range 10 {
		examples = append(examples,
			Example{Text: Text{Summary: "An algorithm for triage"}, Topics: []string{"ai"}},
			Example{Text: Text{Summary: "AI: the society's annual index"}, Topics: []string{"general"}},
			Example{Text: Text{Summary: "Nothing to see"}, Topics: []string{"general"}},
		)
	}
	// Items of a feed that always gives ai teach it nothing.
	for range 20 {
		examples = append(examples, Example{Text: Text{Summary: "AI news"}, Feed: FeedTopics{Always: []string{"ai"}}, Topics: []string{"ai"}})
	}

	out, fits, err := Train(data, examples, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fits[0] != (TopicFit{ID: "ai", Examples: 20, Positives: 10}) {
		t.Errorf("ai fit = %+v, want 20 examples (not the feed's), 10 positive", fits[0])
	}
	if !strings.Contains(fits[1].Skipped, "one class") {
		t.Errorf("general fit = %+v, want skipped: \"news\" is never about it", fits[1])
	}
	tax, err := Load(out)
	if err != nil {
		t.Fatalf("trained taxonomy: %v\n%s", err, out)
	}
	m := tax.models[tax.index["ai"]]
	if m == nil || m.Weights["algorithm"] <= m.Weights["artificial intelligence"] || m.Weights["robot"] != 0.667 {
		t.Errorf("ai model = %+v; want algorithm over ai, and robot (never seen) at its hand weight over the threshold", m)
	}
	if tax.models[tax.index["general"]] != nil {
		t.Error("general got a model from examples of one class")
	}
	g := NewTagger(tax)
	if got := ids(g.Tag(Text{Summary: "An algorithm for triage"}, FeedTopics{})); !slices.Equal(got, []string{"ai"}) {
		t.Errorf("trained: algorithm → %v, want [ai]", got)
	}
	if got := ids(g.Tag(Text{Summary: "AI: the annual index"}, FeedTopics{})); !slices.Equal(got, []string{"general"}) {
		t.Errorf("trained: ai → %v, want [general]", got)
	}

	again, _, err := Train(out, examples, TrainOptions{})
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("training again (on its own output) gave other weights: %v\n%s\nthen\n%s", err, out, again)
	}
}

func TestTrainRejects(t *testing.T) {
	if _, _, err := Train([]byte(`{`), nil, TrainOptions{}); err == nil {
		t.Error("Train(bad JSON) succeeded")
	}
	if _, _, err := Train(mustJSON(t, validFile()), nil, TrainOptions{L2: -1}); err == nil {
		t.Error("Train(negative L2) succeeded")
	}
}
