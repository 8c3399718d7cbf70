package digest

import (
	"slices"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
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

func TestStorySent(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	p := subscribers.Preferences{Topics: []string{"ai"}, Societies: []string{"rsna", "acr"}}
	item := func(key, society, story, topic string, h int) items.Item {
		return items.Item{Key: key, Society: society, Story: story, FirstSeen: t0.Add(time.Duration(h) * time.Hour),
			Title: "Joint statement on reporting", Topics: []items.TopicScore{{ID: topic, Score: 1}}}
	}
	retold := item("acr-1", "acr", "rsna-1", "ai", 10)
	sub := subscribers.Subscriber{ConfirmedAt: t0.Add(-24 * time.Hour)}
	watermark := t0.Add(5 * time.Hour)
	tests := []struct {
		name    string
		it      items.Item
		members []items.Item
		sub     subscribers.Subscriber
		mark    time.Time
		want    bool
		prefs   *subscribers.Preferences // p when nil
	}{
		{"its first item was in an earlier mail", retold, []items.Item{item("rsna-1", "rsna", "", "ai", 1), retold}, sub, watermark, true, nil},
		{"its first item came after the last mail", retold, []items.Item{item("rsna-1", "rsna", "", "ai", 6), retold}, sub, watermark, false, nil},
		{"its first item was of another topic", retold, []items.Item{item("rsna-1", "rsna", "", "covid", 1), retold}, sub, watermark, false, nil},
		{"its first item was of a society not followed", retold, []items.Item{item("esr-1", "esr", "", "ai", 1), retold}, sub, watermark, false, nil},
		{"never mailed", retold, []items.Item{item("rsna-1", "rsna", "", "ai", 1), retold}, sub, time.Time{}, false, nil},
		{"confirmed after its first item", retold, []items.Item{item("rsna-1", "rsna", "", "ai", 1), retold},
			subscribers.Subscriber{ConfirmedAt: t0.Add(2 * time.Hour)}, watermark, false, nil},
		{"the first item itself", item("rsna-1", "rsna", "", "ai", 1), []items.Item{item("rsna-1", "rsna", "", "ai", 1), retold}, sub, watermark, false, nil},
		{"its first item was in an earlier mail by a keyword", retold, []items.Item{item("rsna-1", "rsna", "", "covid", 1), retold}, sub, watermark, true,
			&subscribers.Preferences{Topics: []string{"ai"}, Societies: []string{"rsna", "acr"}, Keywords: []string{"joint statement"}}},
		{"its first item was muted", retold, []items.Item{item("rsna-1", "rsna", "", "ai", 1), retold}, sub, watermark, false,
			&subscribers.Preferences{Topics: []string{"ai"}, Mute: []string{"reporting"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after, until := SentBefore(tt.sub, tt.mark)
			prefs := p
			if tt.prefs != nil {
				prefs = *tt.prefs
			}
			if got := StorySent(prefs, tt.it, tt.members, after, until); got != tt.want {
				t.Errorf("StorySent = %v, want %v", got, tt.want)
			}
		})
	}
}
