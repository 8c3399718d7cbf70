package ingest

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/httpfeed"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/topics"
)

// recordingTagger keeps what ingest hands the tagger.
type recordingTagger struct {
	mu    sync.Mutex
	calls map[string]topics.FeedTopics // by title
	texts map[string]topics.Text
}

func (r *recordingTagger) Tag(text topics.Text, feed topics.FeedTopics) []items.TopicScore {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[text.Title], r.texts[text.Title] = feed, text
	return []items.TopicScore{{ID: "ai", Score: 1, Source: items.SourceRules}}
}

const categorisedRSS = `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Society</title><link>https://a.org/</link>
<item><guid>1</guid><title>Board news</title><link>https://a.org/news/1</link><description>The board met.</description>
<category>Education</category><category><![CDATA[<b>Courses</b>]]></category></item>
</channel></rss>`

// Ingest hands the tagger the entry's title, summary and categories, the
// registry's always_topics for the feed and the feed's default topics.
func TestRunHandsTheTaggerFieldsAndFeedTopics(t *testing.T) {
	const withAlways, without = "https://fed.example/feed", "https://other.example/feed"
	st := &memItems{items: map[string]items.Item{}}
	fetch := scriptedFetcher{
		withAlways: &httpfeed.Response{Body: []byte(categorisedRSS), FinalURL: withAlways},
	}
	r, fs := newRunner(fetch, nil, st,
		feeds.Feed{Society: "fed", URL: withAlways, Topics: []string{"ultrasound", "events"}, AlwaysTopics: []string{"ultrasound"}})
	tagger := &recordingTagger{calls: map[string]topics.FeedTopics{}, texts: map[string]topics.Text{}}
	r.Parser, r.Tagger = feedparse.NewParser(), tagger
	if _, err := r.Run(context.Background(), TriggerManual); err != nil {
		t.Fatal(err)
	}
	wantText := topics.Text{Title: "Board news", Summary: "The board met.", Categories: []string{"Education", "Courses"}}
	if got := tagger.texts["Board news"]; !reflect.DeepEqual(got, wantText) {
		t.Errorf("text = %+v, want %+v", got, wantText)
	}
	wantFeed := topics.FeedTopics{Always: []string{"ultrasound"}, Defaults: []string{"ultrasound", "events"}}
	if got := tagger.calls["Board news"]; !reflect.DeepEqual(got, wantFeed) {
		t.Errorf("feed topics = %+v, want %+v", got, wantFeed)
	}

	// always_topics come from the registry, not the table: a feed the table
	// holds but the registry does not list gets none.
	fs.feeds[feeds.IDFor("other", without)] = feeds.Feed{ID: feeds.IDFor("other", without), Society: "other", URL: without, Enabled: true,
		Topics: []string{"events"}, AlwaysTopics: []string{"ultrasound"}}
	delete(fetch, withAlways)
	fetch[without] = &httpfeed.Response{Body: []byte(categorisedRSS), FinalURL: without}
	tagger.calls = map[string]topics.FeedTopics{}
	if _, err := r.Run(context.Background(), TriggerManual); err != nil {
		t.Fatal(err)
	}
	if got := tagger.calls["Board news"]; got.Always != nil || !slices.Equal(got.Defaults, []string{"events"}) {
		t.Errorf("feed outside the registry: feed topics %+v, want no always topics and defaults [events]", got)
	}
}

// The stored item keeps each topic's reason: where it came from and, for
// the rules, the terms and fields that decided it.
func TestRunStoresTopicReasons(t *testing.T) {
	const url = "https://fed.example/feed"
	taxonomy, err := topics.Load(infra.Topics)
	if err != nil {
		t.Fatal(err)
	}
	st := &memItems{items: map[string]items.Item{}}
	fetch := scriptedFetcher{url: &httpfeed.Response{FinalURL: url, Body: rssBody(
		rssEntry{"1", "New guideline on lung cancer", "&lt;p&gt;The society's guideline.&lt;/p&gt;"},
	)}}
	r, _ := newRunner(fetch, nil, st, feeds.Feed{Society: "fed", URL: url, AlwaysTopics: []string{"ultrasound"}})
	r.Parser, r.Tagger = feedparse.NewParser(), topics.NewTagger(taxonomy)
	if _, err := r.Run(context.Background(), TriggerManual); err != nil {
		t.Fatal(err)
	}
	it := st.items[items.KeyFor("fed", "1")]
	byID := map[string]items.TopicScore{}
	for _, ts := range it.Topics {
		byID[ts.ID] = ts
	}
	guidelines := byID["guidelines"]
	if guidelines.Source != items.SourceRules || len(guidelines.Matched) == 0 ||
		guidelines.Matched[0] != (items.Match{Term: "guideline", Field: "title"}) {
		t.Errorf("guidelines: %+v, want from the rules, matched first by \"guideline\" in the title", guidelines)
	}
	if us := byID["ultrasound"]; us.Source != items.SourceFeed || us.Matched != nil {
		t.Errorf("ultrasound: %+v, want given by the feed", us)
	}
}
