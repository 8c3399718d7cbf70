package digest

import (
	"slices"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/items"
)

func TestCollapseStories(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	at := func(key, story string, h int) items.Item {
		return items.Item{Key: key, Story: story, FirstSeen: t0.Add(time.Duration(h) * time.Hour)}
	}
	keys := func(list []items.Item) []string {
		var k []string
		for _, it := range list {
			k = append(k, it.Key)
		}
		return k
	}
	tests := []struct {
		name string
		list []items.Item
		kept []string
		also map[string][]string
	}{
		{
			name: "the first seen leads, the others are named under it",
			list: []items.Item{at("acr-2", "rsna-1", 3), at("solo", "", 1), at("rsna-1", "", 0), at("esr-1", "rsna-1", 2)},
			kept: []string{"solo", "rsna-1"},
			also: map[string][]string{"rsna-1": {"esr-1", "acr-2"}},
		},
		{
			name: "without the story's first item (filtered out, or sent before) the earliest member selected leads",
			list: []items.Item{at("acr-2", "rsna-1", 3), at("esr-1", "rsna-1", 2)},
			kept: []string{"esr-1"},
			also: map[string][]string{"esr-1": {"acr-2"}},
		},
		{
			name: "singletons stay as they are",
			list: []items.Item{at("a", "", 0), at("b", "x", 1)},
			kept: []string{"a", "b"},
			also: map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, also := CollapseStories(tt.list)
			if !slices.Equal(keys(kept), tt.kept) {
				t.Errorf("kept %v, want %v", keys(kept), tt.kept)
			}
			if len(also) != len(tt.also) {
				t.Errorf("also %v, want %v", also, tt.also)
			}
			for lead, want := range tt.also {
				if got := keys(also[lead]); !slices.Equal(got, want) {
					t.Errorf("also[%s] = %v, want %v", lead, got, want)
				}
			}
		})
	}
}
