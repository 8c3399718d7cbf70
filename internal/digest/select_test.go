package digest

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

func topics(idsAndScores ...any) []items.TopicScore {
	var out []items.TopicScore
	for i := 0; i < len(idsAndScores); i += 2 {
		out = append(out, items.TopicScore{ID: idsAndScores[i].(string), Score: idsAndScores[i+1].(float64)})
	}
	return out
}

func keysOf(list []items.Item) []string {
	keys := make([]string, len(list))
	for i, it := range list {
		keys[i] = it.Key
	}
	return keys
}

func TestMatches(t *testing.T) {
	mri := subscribers.Preferences{Topics: []string{"ai", "mri"}}
	mriFromTwo := subscribers.Preferences{Topics: []string{"ai", "mri"}, Societies: []string{"esr", "rsna"}}
	tests := []struct {
		name  string
		prefs subscribers.Preferences
		item  items.Item
		want  bool
	}{
		{"topic chosen, any society", mri, items.Item{Society: "esr", Topics: topics("mri", 0.9)}, true},
		{"a lesser topic chosen", mri, items.Item{Society: "esr", Topics: topics("ct", 0.9, "ai", 0.2)}, true},
		{"no topic chosen", mri, items.Item{Society: "esr", Topics: topics("ct", 0.9, "pet", 0.5)}, false},
		{"item without topics", mri, items.Item{Society: "esr"}, false},
		{"subscriber without topics", subscribers.Preferences{}, items.Item{Society: "esr", Topics: topics("mri", 0.9)}, false},
		{"society chosen", mriFromTwo, items.Item{Society: "rsna", Topics: topics("mri", 0.9)}, true},
		{"society not chosen", mriFromTwo, items.Item{Society: "acr", Topics: topics("mri", 0.9)}, false},
		{"society chosen but no topic", mriFromTwo, items.Item{Society: "esr", Topics: topics("ct", 0.9)}, false},
		{"topic ids match exactly", mri, items.Item{Society: "esr", Topics: topics("MRI", 0.9, "mri-physics", 0.8)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Matches(tt.prefs, tt.item); got != tt.want {
				t.Errorf("Matches(%+v, %+v) = %t, want %t", tt.prefs, tt.item, got, tt.want)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	since := mustTime(t, "2026-11-21T07:00:00Z")
	until := mustTime(t, "2026-11-22T07:00:00Z")
	prefs := subscribers.Preferences{Topics: []string{"mri"}, Societies: []string{"esr"}}
	item := func(key, firstSeen, published string, mods ...func(*items.Item)) items.Item {
		it := items.Item{Key: key, Society: "esr", Topics: topics("mri", 1.0),
			FirstSeen: mustTime(t, firstSeen), Published: mustTime(t, published)}
		for _, mod := range mods {
			mod(&it)
		}
		return it
	}
	updatedAt := func(s string) func(*items.Item) {
		return func(it *items.Item) { it.UpdatedAt = mustTime(t, s) }
	}
	all := []items.Item{
		item("at-since", "2026-11-21T07:00:00Z", "2026-11-21T06:00:00Z"),
		item("just-after-since", "2026-11-21T07:00:00.000000001Z", "2026-11-21T06:00:00Z"),
		item("at-until", "2026-11-22T07:00:00Z", "2026-11-22T06:00:00Z"),
		item("after-until", "2026-11-22T07:00:00.000000001Z", "2026-11-22T07:00:00Z"),
		item("old-updated-now", "2026-11-10T07:00:00Z", "2026-11-10T06:00:00Z", updatedAt("2026-11-22T01:00:00Z")),
		item("new-and-updated", "2026-11-21T12:00:00Z", "2026-11-21T11:00:00Z", updatedAt("2026-11-21T20:00:00Z")),
		item("other-topic", "2026-11-21T12:00:00Z", "2026-11-21T11:00:00Z", func(it *items.Item) { it.Topics = topics("ct", 1.0) }),
		item("other-society", "2026-11-21T12:00:00Z", "2026-11-21T11:00:00Z", func(it *items.Item) { it.Society = "rsna" }),
		// Published long ago but first seen now: new to the subscriber.
		item("late-feed", "2026-11-22T03:00:00Z", "2026-10-01T00:00:00Z"),
		// Two published at the same time: ordered by key.
		item("tie-b", "2026-11-21T15:00:00Z", "2026-11-21T14:00:00Z"),
		item("tie-a", "2026-11-21T16:00:00Z", "2026-11-21T14:00:00Z"),
	}
	before := keysOf(all)

	got := keysOf(Select(prefs, all, since, until))
	want := []string{"at-until", "tie-a", "tie-b", "new-and-updated", "just-after-since", "late-feed"}
	if !slices.Equal(got, want) {
		t.Errorf("Select = %q, want %q", got, want)
	}
	if !slices.Equal(keysOf(all), before) {
		t.Errorf("Select reordered its input: %q", keysOf(all))
	}

	anySociety := subscribers.Preferences{Topics: []string{"mri"}}
	if got := keysOf(Select(anySociety, all, since, until)); !slices.Contains(got, "other-society") || slices.Contains(got, "other-topic") {
		t.Errorf("Select without societies = %q, want other-society and not other-topic", got)
	}

	// The next period picks up where this one ended and repeats nothing.
	next := Select(prefs, all, until, until.Add(24*time.Hour))
	if got := keysOf(next); !slices.Equal(got, []string{"after-until"}) {
		t.Errorf("Select of the next period = %q, want [after-until]", got)
	}

	if got := Select(prefs, nil, since, until); len(got) != 0 {
		t.Errorf("Select of no items = %q", keysOf(got))
	}
}

func TestContentKey(t *testing.T) {
	base := ContentKey("digest", subscribers.FormatHTML, []string{"ai", "mri"}, []string{"esr-1", "esr-2", "rsna-1"})
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(base) {
		t.Fatalf("ContentKey = %q, want 32 hex digits", base)
	}

	same := []struct {
		name     string
		kind     string
		format   subscribers.Format
		topics   []string
		itemKeys []string
	}{
		{"items reordered", "digest", subscribers.FormatHTML, []string{"ai", "mri"}, []string{"rsna-1", "esr-2", "esr-1"}},
		{"topics reordered", "digest", subscribers.FormatHTML, []string{"mri", "ai"}, []string{"esr-1", "esr-2", "rsna-1"}},
		{"an item repeated", "digest", subscribers.FormatHTML, []string{"ai", "mri"}, []string{"esr-1", "esr-2", "rsna-1", "esr-1"}},
	}
	for _, tt := range same {
		if got := ContentKey(tt.kind, tt.format, tt.topics, tt.itemKeys); got != base {
			t.Errorf("%s: ContentKey = %q, want %q", tt.name, got, base)
		}
	}

	different := []struct {
		name     string
		kind     string
		format   subscribers.Format
		topics   []string
		itemKeys []string
	}{
		{"other kind", "alert", subscribers.FormatHTML, []string{"ai", "mri"}, []string{"esr-1", "esr-2", "rsna-1"}},
		{"other format", "digest", subscribers.FormatText, []string{"ai", "mri"}, []string{"esr-1", "esr-2", "rsna-1"}},
		{"a topic fewer", "digest", subscribers.FormatHTML, []string{"mri"}, []string{"esr-1", "esr-2", "rsna-1"}},
		{"a topic more", "digest", subscribers.FormatHTML, []string{"ai", "ct", "mri"}, []string{"esr-1", "esr-2", "rsna-1"}},
		{"an item fewer", "digest", subscribers.FormatHTML, []string{"ai", "mri"}, []string{"esr-1", "esr-2"}},
		{"an item more", "digest", subscribers.FormatHTML, []string{"ai", "mri"}, []string{"esr-1", "esr-2", "esr-3", "rsna-1"}},
		{"an item swapped", "digest", subscribers.FormatHTML, []string{"ai", "mri"}, []string{"esr-1", "esr-9", "rsna-1"}},
		{"items joined differently", "digest", subscribers.FormatHTML, []string{"ai", "mri"}, []string{"esr-1esr-2", "rsna-1"}},
		{"a topic moved to the items", "digest", subscribers.FormatHTML, []string{"ai"}, []string{"esr-1", "esr-2", "mri", "rsna-1"}},
	}
	seen := map[string]string{base: "base"}
	for _, tt := range different {
		got := ContentKey(tt.kind, tt.format, tt.topics, tt.itemKeys)
		if other, dup := seen[got]; dup {
			t.Errorf("%s: ContentKey = %q, the same as %s", tt.name, got, other)
		}
		seen[got] = tt.name
	}

	// Fields are kept apart: moving characters between kind and format,
	// or between two ids, changes the key.
	if ContentKey("ab", "c", nil, nil) == ContentKey("a", "bc", nil, nil) {
		t.Error("kind and format run into each other")
	}
	if ContentKey("digest", "html", []string{"a", "b"}, nil) == ContentKey("digest", "html", []string{"a"}, []string{"b"}) {
		t.Error("topics and items run into each other")
	}
}

func TestGroupByTopic(t *testing.T) {
	published := func(s string) time.Time { return mustTime(t, s) }
	list := []items.Item{
		{Key: "a", Published: published("2026-11-21T10:00:00Z"), Topics: topics("mri", 0.9, "ai", 0.5)},
		{Key: "b", Published: published("2026-11-21T11:00:00Z"), Topics: topics("pet", 0.9, "ct", 0.4)},     // pet not chosen
		{Key: "c", Published: published("2026-11-21T12:00:00Z"), Topics: topics("ct", 0.3, "ai", 0.8)},      // the better score wins
		{Key: "d", Published: published("2026-11-21T09:00:00Z"), Topics: topics("ai", 0.5, "ct", 0.5)},      // a tie: the first
		{Key: "e", Published: published("2026-11-21T13:00:00Z"), Topics: topics("pet", 1.0)},                // nothing chosen
		{Key: "g", Published: published("2026-11-21T10:00:00Z"), Topics: topics("mri", 0.7)},                // same time as a
		{Key: "f", Published: published("2026-11-21T15:00:00Z"), Topics: topics("mri", 0.6, "legacy", 0.9)}, // chosen, not in the taxonomy
	}
	before := keysOf(list)
	chosen := []string{"mri", "legacy", "ct", "ai", "cardiac"}
	order := []string{"ai", "cardiac", "ct", "mri", "pet"}

	got := GroupByTopic(chosen, order, list)
	want := []struct {
		topic string
		keys  []string
	}{
		{"ai", []string{"c", "d"}},
		{"ct", []string{"b"}},
		{"mri", []string{"a", "g"}},
		{"legacy", []string{"f"}},
	}
	if len(got) != len(want) {
		t.Fatalf("GroupByTopic gave %d sections, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Topic != w.topic || !slices.Equal(keysOf(got[i].Items), w.keys) {
			t.Errorf("section %d = %s %q, want %s %q", i, got[i].Topic, keysOf(got[i].Items), w.topic, w.keys)
		}
	}
	if !slices.Equal(keysOf(list), before) {
		t.Errorf("GroupByTopic reordered its input: %q", keysOf(list))
	}

	if got := GroupByTopic(chosen, order, nil); len(got) != 0 {
		t.Errorf("GroupByTopic of no items = %+v, want no sections", got)
	}
}

func TestPeriodLabel(t *testing.T) {
	vienna, err := time.LoadLocation("Europe/Vienna")
	if err != nil {
		t.Fatal(err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		since, until time.Time
		loc          *time.Location
		want         string
	}{
		{"same local day", mustTime(t, "2026-11-22T05:00:00Z"), mustTime(t, "2026-11-22T17:00:00Z"), vienna, "Sunday 22 November 2026"},
		{"an alert", time.Time{}, mustTime(t, "2026-11-22T17:00:00Z"), vienna, "Sunday 22 November 2026"},
		{"a moment", mustTime(t, "2026-11-22T17:00:00Z"), mustTime(t, "2026-11-22T17:00:00Z"), vienna, "Sunday 22 November 2026"},
		{"an alert is dated in the zone", time.Time{}, mustTime(t, "2026-11-22T23:30:00Z"), kolkata, "Monday 23 November 2026"},
		{"a daily digest spans two days", mustTime(t, "2026-11-21T06:00:00Z"), mustTime(t, "2026-11-22T06:00:00Z"), vienna, "21–22 November 2026"},
		{"within a month, dated in the zone", mustTime(t, "2026-11-15T23:30:00Z"), mustTime(t, "2026-11-22T06:00:00Z"), vienna, "16–22 November 2026"},
		{"across months", mustTime(t, "2026-11-28T06:00:00Z"), mustTime(t, "2026-12-04T06:00:00Z"), vienna, "28 November – 4 December 2026"},
		{"across years", mustTime(t, "2026-12-28T06:00:00Z"), mustTime(t, "2027-01-03T06:00:00Z"), vienna, "28 December 2026 – 3 January 2027"},
		{"no zone means UTC", mustTime(t, "2026-11-15T23:30:00Z"), mustTime(t, "2026-11-22T06:00:00Z"), nil, "15–22 November 2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PeriodLabel(tt.since, tt.until, tt.loc); got != tt.want {
				t.Errorf("PeriodLabel(%s, %s) = %q, want %q", tt.since, tt.until, got, tt.want)
			}
		})
	}
}

// BenchmarkSelect selects one subscriber's daily digest from 2,000 items
// ingested over a week.
func BenchmarkSelect(b *testing.B) {
	topicIDs := []string{"ai", "breast", "cardiac", "ct", "education", "guidelines", "interventional", "mri", "msk", "neuro",
		"nuclear", "oncology", "paediatric", "pet", "policy", "research", "safety", "thoracic", "ultrasound", "workforce"}
	societies := []string{"acr", "asnr", "cirse", "eanm", "esr", "esti", "rcr", "rsna", "sir", "snmmi"}
	start := time.Date(2026, 11, 15, 7, 0, 0, 0, time.UTC)
	all := make([]items.Item, 2000)
	for i := range all {
		seen := start.Add(time.Duration(i) * 7 * 24 * time.Hour / time.Duration(len(all)))
		all[i] = items.Item{
			Key:       fmt.Sprintf("%s-%06d", societies[i%len(societies)], i),
			Society:   societies[i%len(societies)],
			Published: seen.Add(-time.Duration(i%13) * time.Hour),
			FirstSeen: seen,
			Topics:    topics(topicIDs[i%len(topicIDs)], 0.9, topicIDs[(i*7+3)%len(topicIDs)], 0.4),
		}
	}
	prefs := subscribers.Preferences{Topics: []string{"ai", "mri", "neuro"}, Societies: []string{"esr", "rsna"}}
	until := start.Add(7 * 24 * time.Hour)
	since := until.Add(-24 * time.Hour)
	if len(Select(prefs, all, since, until)) == 0 {
		b.Fatal("the benchmark selects nothing")
	}
	b.ReportAllocs()
	for b.Loop() {
		Select(prefs, all, since, until)
	}
}
