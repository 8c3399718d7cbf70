package feeds

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/topics"
)

func TestParseRegistry(t *testing.T) {
	known := func(id string) bool { return id == "ultrasound" }
	tests := []struct {
		name    string
		data    string
		wantErr string
		want    int
	}{
		{name: "valid", data: `[{"society":"esr","name":"ESR","url":"https://example.org/feed"},{"society":"wfumb","name":"WFUMB","url":"http://example.org/rss","enabled":false,"topics":["ultrasound"]}]`, want: 2},
		{name: "empty list", data: `[]`, want: 0},
		{name: "not json", data: `{`, wantErr: "parse feed registry"},
		{name: "unknown field", data: `[{"society":"esr","name":"ESR","url":"https://e.org","colour":"red"}]`, wantErr: "unknown field"},
		{name: "bad society", data: `[{"society":"ESR!","name":"ESR","url":"https://e.org"}]`, wantErr: "entry 1: society"},
		{name: "missing name", data: `[{"society":"esr","url":"https://e.org"}]`, wantErr: "name is required"},
		{name: "ftp url", data: `[{"society":"esr","name":"ESR","url":"ftp://e.org/feed"}]`, wantErr: "http or https"},
		{name: "relative url", data: `[{"society":"esr","name":"ESR","url":"/feed"}]`, wantErr: "http or https"},
		{name: "credentials", data: `[{"society":"esr","name":"ESR","url":"https://u:p@e.org/"}]`, wantErr: "credentials"},
		{name: "unknown topic", data: `[{"society":"esr","name":"ESR","url":"https://e.org","topics":["astrology"]}]`, wantErr: `unknown topic "astrology"`},
		{name: "unknown always topic", data: `[{"society":"esr","name":"ESR","url":"https://e.org","always_topics":["astrology"]}]`, wantErr: `unknown topic "astrology" in always_topics`},
		{name: "duplicate", data: `[{"society":"esr","name":"ESR","url":"https://e.org"},{"society":"esr","name":"ESR 2","url":"https://e.org"}]`, wantErr: "entry 2: https://e.org is listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := ParseRegistry([]byte(tt.data), known)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(reg.Feeds) != tt.want {
				t.Fatalf("got %d feeds, want %d", len(reg.Feeds), tt.want)
			}
			if reg.Version == "" {
				t.Error("registry has no version")
			}
		})
	}
}

func TestParseRegistryDefaults(t *testing.T) {
	reg, err := ParseRegistry([]byte(`[{"society":"esr","name":" ESR ","url":" https://e.org/feed "},{"society":"isr","name":"ISR","url":"https://isr.org/feed","enabled":false}]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	esr, isr := reg.Feeds[0], reg.Feeds[1]
	if !esr.Enabled || isr.Enabled {
		t.Errorf("enabled = %v, %v; want true, false", esr.Enabled, isr.Enabled)
	}
	if esr.Name != "ESR" || esr.URL != "https://e.org/feed" {
		t.Errorf("not trimmed: %q %q", esr.Name, esr.URL)
	}
	if esr.ID != IDFor("esr", "https://e.org/feed") || !strings.HasPrefix(esr.ID, "esr-") {
		t.Errorf("id = %q", esr.ID)
	}
	again, _ := ParseRegistry([]byte(`[{"society":"esr","name":"ESR","url":"https://e.org/feed"}]`), nil)
	if again.Feeds[0].ID != esr.ID {
		t.Error("the same society and URL must give the same id")
	}
	if again.Version == reg.Version {
		t.Error("a different file must give a different version")
	}
}

func TestRegistryAlwaysTopics(t *testing.T) {
	reg, err := ParseRegistry([]byte(`[
		{"society":"wfumb","name":"WFUMB","url":"https://wfumb.example/feed","always_topics":["ultrasound"],"topics":["ultrasound","events"]},
		{"society":"esr","name":"ESR","url":"https://esr.example/feed"}]`), func(id string) bool { return id == "ultrasound" || id == "events" })
	if err != nil {
		t.Fatal(err)
	}
	wfumb, esr := reg.Feeds[0], reg.Feeds[1]
	if !slices.Equal(wfumb.AlwaysTopics, []string{"ultrasound"}) || !slices.Equal(wfumb.Topics, []string{"ultrasound", "events"}) {
		t.Errorf("wfumb: always %v, topics %v", wfumb.AlwaysTopics, wfumb.Topics)
	}
	if got := reg.AlwaysTopics(wfumb.ID); !slices.Equal(got, []string{"ultrasound"}) {
		t.Errorf("AlwaysTopics(wfumb) = %v, want [ultrasound]", got)
	}
	if got := reg.AlwaysTopics(esr.ID); got != nil {
		t.Errorf("AlwaysTopics(esr) = %v, want none", got)
	}
	if got := reg.AlwaysTopics(IDFor("rsna", "https://rsna.example/feed")); got != nil {
		t.Errorf("AlwaysTopics(a feed not in the registry) = %v, want none", got)
	}
}

func TestRegistryTopicsBySociety(t *testing.T) {
	reg, err := ParseRegistry([]byte(`[
		{"society":"fed","name":"Fed","url":"https://fed.example/a","always_topics":["ultrasound"],"topics":["events"]},
		{"society":"fed","name":"Fed","url":"https://fed.example/b","always_topics":["ultrasound","safety"]},
		{"society":"esr","name":"ESR","url":"https://esr.example/feed"}]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := reg.TopicsBySociety()
	want := map[string]topics.FeedTopics{
		"fed": {Always: []string{"ultrasound", "safety"}, Defaults: []string{"events"}},
		"esr": {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TopicsBySociety = %+v, want %+v", got, want)
	}
}

// The default registry gives the single-modality societies' items their
// modality whatever else they are about.
func TestDefaultRegistryAlwaysTopics(t *testing.T) {
	taxonomy, err := topics.Load(infra.Topics)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ParseRegistry(infra.Feeds, func(id string) bool { _, ok := taxonomy.Lookup(id); return ok })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"wfumb": {"ultrasound"}, "efsumb": {"ultrasound"}, "wmis": {"molecular"}, "eanm": {"molecular"}, "snmmi": {"molecular"}}
	for _, f := range reg.Feeds {
		if !slices.Equal(f.AlwaysTopics, want[f.Society]) {
			t.Errorf("%s: always_topics %v, want %v", f.Society, f.AlwaysTopics, want[f.Society])
		}
	}
}

func TestRecord(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	boom := errors.New("boom")
	tests := []struct {
		name         string
		before       Feed
		outcome      Outcome
		wantNext     time.Duration
		wantFailures int
		wantEnabled  bool
		wantURL      string
		wantETag     string
	}{
		{name: "ok without hints is due next run", before: Feed{Enabled: true, URL: "https://a", ConsecutiveFailures: 3}, outcome: Outcome{Status: StatusOK, ETag: `"v2"`}, wantNext: 0, wantEnabled: true, wantURL: "https://a", wantETag: `"v2"`},
		{name: "ttl honoured", before: Feed{Enabled: true, URL: "https://a"}, outcome: Outcome{Status: StatusOK, Wait: 2 * time.Hour}, wantNext: 2 * time.Hour, wantEnabled: true, wantURL: "https://a"},
		{name: "huge ttl capped", before: Feed{Enabled: true, URL: "https://a"}, outcome: Outcome{Status: StatusOK, Wait: 90 * 24 * time.Hour}, wantNext: 24 * time.Hour, wantEnabled: true, wantURL: "https://a"},
		{name: "unchanged keeps validators", before: Feed{Enabled: true, URL: "https://a", ETag: `"v1"`}, outcome: Outcome{Status: StatusUnchanged}, wantEnabled: true, wantURL: "https://a", wantETag: `"v1"`},
		{name: "permanent redirect moves url", before: Feed{Enabled: true, URL: "https://a"}, outcome: Outcome{Status: StatusOK, PermanentURL: "https://b"}, wantEnabled: true, wantURL: "https://b"},
		{name: "first failure backs off base", before: Feed{Enabled: true, URL: "https://a"}, outcome: Outcome{Status: StatusFailed, Err: boom}, wantNext: 30 * time.Minute, wantFailures: 1, wantEnabled: true, wantURL: "https://a"},
		{name: "third failure doubles twice", before: Feed{Enabled: true, URL: "https://a", ConsecutiveFailures: 2}, outcome: Outcome{Status: StatusFailed, Err: boom}, wantNext: 2 * time.Hour, wantFailures: 3, wantEnabled: true, wantURL: "https://a"},
		{name: "backoff capped", before: Feed{Enabled: true, URL: "https://a", ConsecutiveFailures: 40}, outcome: Outcome{Status: StatusFailed, Err: boom}, wantNext: 24 * time.Hour, wantFailures: 41, wantEnabled: true, wantURL: "https://a"},
		{name: "retry-after longer than backoff", before: Feed{Enabled: true, URL: "https://a"}, outcome: Outcome{Status: StatusFailed, Err: boom, Wait: 3 * time.Hour}, wantNext: 3 * time.Hour, wantFailures: 1, wantEnabled: true, wantURL: "https://a"},
		{name: "failed parse clears validators", before: Feed{Enabled: true, URL: "https://a", ETag: `"v1"`}, outcome: Outcome{Status: StatusFailed, Err: boom, ClearValidators: true}, wantNext: 30 * time.Minute, wantFailures: 1, wantEnabled: true, wantURL: "https://a"},
		{name: "gone disables", before: Feed{Enabled: true, URL: "https://a"}, outcome: Outcome{Status: StatusGone, Err: boom}, wantFailures: 1, wantEnabled: false, wantURL: "https://a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.before
			DefaultPolicy.Record(&f, tt.outcome, now)
			if got := f.NextFetchAt.Sub(now); got != tt.wantNext {
				t.Errorf("next fetch in %v, want %v", got, tt.wantNext)
			}
			if f.ConsecutiveFailures != tt.wantFailures {
				t.Errorf("failures = %d, want %d", f.ConsecutiveFailures, tt.wantFailures)
			}
			if f.Enabled != tt.wantEnabled || f.URL != tt.wantURL || f.ETag != tt.wantETag {
				t.Errorf("enabled, url, etag = %v %q %q; want %v %q %q", f.Enabled, f.URL, f.ETag, tt.wantEnabled, tt.wantURL, tt.wantETag)
			}
			if (tt.outcome.Err != nil) != (f.LastError != "") {
				t.Errorf("last error = %q", f.LastError)
			}
			if f.LastStatus != tt.outcome.Status || !f.LastFetchAt.Equal(now) {
				t.Errorf("status %q at %v", f.LastStatus, f.LastFetchAt)
			}
		})
	}
}

func TestDue(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		feed Feed
		want bool
	}{
		{Feed{Enabled: true}, true},
		{Feed{Enabled: true, NextFetchAt: now.Add(-time.Minute)}, true},
		{Feed{Enabled: true, NextFetchAt: now.Add(time.Minute)}, false},
		{Feed{Enabled: false}, false},
	} {
		if got := tt.feed.Due(now); got != tt.want {
			t.Errorf("Due(%+v) = %v, want %v", tt.feed, got, tt.want)
		}
	}
}
