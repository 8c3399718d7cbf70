package items

import "testing"

func TestTopicReason(t *testing.T) {
	tests := []struct {
		name  string
		topic TopicScore
		want  string
	}{
		{"rules with terms", TopicScore{ID: "ai", Source: SourceRules, Matched: []Match{{"deep learning", "title"}, {"algorithm", "summary"}}},
			"matched: deep learning (title), algorithm (summary)"},
		{"rules without terms", TopicScore{ID: "ai", Source: SourceRules}, "matched the taxonomy's rules"},
		{"feed", TopicScore{ID: "ultrasound", Source: SourceFeed}, "from the feed"},
		{"fallback", TopicScore{ID: "workforce", Source: SourceFallback}, "fallback"},
		{"admin", TopicScore{ID: "safety", Source: SourceAdmin}, "set by an admin"},
		{"stored before reasons", TopicScore{ID: "ai"}, ""},
	}
	for _, tt := range tests {
		if got := tt.topic.Reason(); got != tt.want {
			t.Errorf("%s: Reason() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
