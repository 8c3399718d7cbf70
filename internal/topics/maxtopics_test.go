package topics

import "testing"

func TestMaxTopics(t *testing.T) {
	tests := []struct {
		name string
		file string
		want int
	}{
		{"default taxonomy", "", 4},
		{"set", `{"threshold":1,"fallback":"ab","max_topics":2,"topics":[{"id":"ab","name":"A","group":"g","rules":[{"term":"a","weight":1}]}]}`, 2},
		{"unset means the default", `{"threshold":1,"fallback":"ab","topics":[{"id":"ab","name":"A","group":"g","rules":[{"term":"a","weight":1}]}]}`, defaultMaxTopics},
	}
	for _, tt := range tests {
		tax := loadDefaultTaxonomy(t)
		if tt.file != "" {
			var err error
			if tax, err = Load([]byte(tt.file)); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
		}
		if got := tax.MaxTopics(); got != tt.want {
			t.Errorf("%s: MaxTopics() = %d, want %d", tt.name, got, tt.want)
		}
	}
}
