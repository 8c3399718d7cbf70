package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/httpfeed"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/metrics"
)

func TestSummaryMetrics(t *testing.T) {
	tests := []struct {
		name string
		sum  Summary
		want map[string]float64
	}{
		{"no feed fetched", Summary{FeedsSkipped: 4},
			map[string]float64{"FeedsOK": 0, "FeedsFailed": 0, "FeedsUnchanged": 0, "ItemsNew": 0, "ItemsUpdated": 0, "ItemsUnchanged": 0, "FeedsFailedPercent": 0}},
		{"one of four failed", Summary{FeedsOK: 2, FeedsUnchanged: 1, FeedsFailed: 1, FeedsSkipped: 7, ItemsNew: 5, ItemsUpdated: 2, ItemsUnchanged: 40, ItemsSkipped: 1},
			map[string]float64{"FeedsOK": 2, "FeedsFailed": 1, "FeedsUnchanged": 1, "ItemsNew": 5, "ItemsUpdated": 2, "ItemsUnchanged": 40, "FeedsFailedPercent": 25}},
		{"all failed", Summary{FeedsFailed: 3},
			map[string]float64{"FeedsOK": 0, "FeedsFailed": 3, "FeedsUnchanged": 0, "ItemsNew": 0, "ItemsUpdated": 0, "ItemsUnchanged": 0, "FeedsFailedPercent": 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]float64{}
			for _, m := range tt.sum.Metrics() {
				wantUnit := metrics.Count
				if m.Name == "FeedsFailedPercent" {
					wantUnit = metrics.Percent
				}
				if m.Unit != wantUnit {
					t.Errorf("%s in %s, want %s", m.Name, m.Unit, wantUnit)
				}
				got[m.Name] = m.Value
			}
			if len(got) != len(tt.want) {
				t.Errorf("metrics %v, want %v", got, tt.want)
			}
			for name, v := range tt.want {
				if g, ok := got[name]; !ok || g != v {
					t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
				}
			}
		})
	}
}

func TestSummaryErr(t *testing.T) {
	tests := []struct {
		name    string
		sum     Summary
		wantErr bool
	}{
		{"no feed due", Summary{FeedsSkipped: 3}, false},
		{"all fine", Summary{FeedsOK: 2, FeedsUnchanged: 1}, false},
		{"some failed", Summary{FeedsOK: 1, FeedsFailed: 2}, false},
		{"only unchanged and failed", Summary{FeedsUnchanged: 1, FeedsFailed: 2}, false},
		{"every feed fetched failed", Summary{FeedsFailed: 2, FeedsSkipped: 5, Feeds: []FeedResult{{Error: "HTTP 503"}, {Error: "timeout"}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.sum.Err()
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrAllFeedsFailed)) {
				t.Fatalf("Err() = %v, want an error %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "HTTP 503") {
				t.Errorf("Err() = %v, want the first feed's error in it", err)
			}
		})
	}
}

// Each run writes one EMF record of its metrics, under the names the
// template's alarms watch.
func TestRunEmitsMetrics(t *testing.T) {
	st := &memItems{items: map[string]items.Item{}}
	r, _ := newRunner(
		scriptedFetcher{
			"https://a.org/feed": &httpfeed.Response{Body: []byte("a")},
			"https://b.org/feed": &httpfeed.StatusError{StatusCode: 503},
		},
		docParser{"a": {Items: []items.Item{item("1", "One"), item("2", "Two")}}},
		st,
		feeds.Feed{Society: "a", URL: "https://a.org/feed"},
		feeds.Feed{Society: "b", URL: "https://b.org/feed"},
	)
	var out bytes.Buffer
	r.Metrics = metrics.New(&out, "Radiogram/test")
	if _, err := r.Run(context.Background(), TriggerManual); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("wrote %d records, want 1: %s", len(lines), out.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"FeedsOK": 1, "FeedsFailed": 1, "FeedsUnchanged": 0, "ItemsNew": 2, "ItemsUpdated": 0, "ItemsUnchanged": 0, "FeedsFailedPercent": 50}
	for name, v := range want {
		if rec[name] != v {
			t.Errorf("%s = %v, want %v in %s", name, rec[name], v, lines[0])
		}
	}
	if !strings.Contains(lines[0], `"Namespace":"Radiogram/test"`) {
		t.Errorf("record %s is not under the namespace", lines[0])
	}
}
