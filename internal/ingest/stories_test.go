package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/feedparse"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/httpfeed"
	"github.com/radiogram/radiogram/internal/items"
)

// StoryTexts makes memItems a StoryTexts: the items first seen in
// (since, until].
func (m *memItems) StoryTexts(_ context.Context, since, until time.Time) ([]items.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []items.Item
	for _, it := range m.items {
		if it.FirstSeen.After(since) && !it.FirstSeen.After(until) {
			list = append(list, it)
		}
	}
	return list, nil
}

const jointLead = "The radiology societies call on health ministers to fund lung cancer screening programmes with low-dose CT for people at high risk, and to train more radiographers to run them."

func story(guid, title, lead string) items.Item {
	it := item(guid, title)
	it.Summary = lead
	return it
}

func TestRunGroupsStories(t *testing.T) {
	st := &memItems{items: map[string]items.Item{}}
	parse := docParser{
		"esr": {Items: []items.Item{
			story("esr-1", "Joint statement on lung cancer screening", jointLead),
			story("esr-2", "ECR 2027 opens its call for abstracts", "Abstracts for the European Congress of Radiology 2027 can be submitted from 1 September until the end of October, in every subspecialty."),
		}},
		"ers": {Items: []items.Item{
			story("ers-1", "Societies urge ministers to fund lung screening", "Brussels — "+jointLead),
		}},
	}
	fetch := scriptedFetcher{
		"https://esr.org/feed": &httpfeed.Response{Body: []byte("esr")},
		"https://ers.org/feed": &httpfeed.Response{Body: []byte("ers")},
		"https://rcr.org/feed": &httpfeed.Response{Body: []byte("rcr")},
	}
	r, _ := newRunner(fetch, parse, st,
		feeds.Feed{Society: "esr", URL: "https://esr.org/feed"},
		feeds.Feed{Society: "ers", URL: "https://ers.org/feed"},
		feeds.Feed{Society: "rcr", URL: "https://rcr.org/feed"})
	r.Stories = st
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	r.Now = func() time.Time { return now }
	ctx := context.Background()
	if sum, _ := r.Run(ctx, TriggerManual); sum.ItemsNew != 3 {
		t.Fatalf("first run stored %d new items, want 3", sum.ItemsNew)
	}
	esr, ers := st.items[items.KeyFor("esr", "esr-1")], st.items[items.KeyFor("ers", "ers-1")]
	// The two feeds ran at once: whichever stored first is the story.
	head, copy := esr, ers
	if esr.Story != "" {
		head, copy = ers, esr
	}
	if head.Story != "" || copy.Story != head.Key {
		t.Fatalf("one run's joint statement: stories %q (%s) and %q (%s); want one to name the other", esr.Story, esr.Key, ers.Story, ers.Key)
	}
	if other := st.items[items.KeyFor("esr", "esr-2")]; other.Story != "" {
		t.Errorf("an item no other feed carries has story %q, want none", other.Story)
	}

	// A day later a third society reprints it, and the first society
	// posts a follow-up in the same words: the reprint joins the story of
	// its earliest member; the same feed's item stays its own.
	now = now.Add(24 * time.Hour)
	parse["rcr"] = &feedparse.Document{Items: []items.Item{story("rcr-1", "RCR backs call for lung screening funding", jointLead+" Read more on our site.")}}
	parse["esr"].Items = append(parse["esr"].Items, story("esr-3", "Joint statement on lung cancer screening: update", jointLead))
	if sum, _ := r.Run(ctx, TriggerManual); sum.ItemsNew != 2 {
		t.Fatalf("second run stored %d new items, want 2", sum.ItemsNew)
	}
	if rcr := st.items[items.KeyFor("rcr", "rcr-1")]; rcr.Story != head.Key {
		t.Errorf("reprint a day later: story %q, want the earliest member %s", rcr.Story, head.Key)
	}
	if esr3 := st.items[items.KeyFor("esr", "esr-3")]; esr3.Story != "" {
		t.Errorf("the first feed's own follow-up: story %q, want none", esr3.Story)
	}

	// Eight days on, the story is out of the window: a new copy is new.
	now = now.Add(8 * 24 * time.Hour)
	parse["ers"].Items = append(parse["ers"].Items, story("ers-2", "Lung screening call, one week on", jointLead))
	if sum, _ := r.Run(ctx, TriggerManual); sum.ItemsNew != 1 {
		t.Fatalf("third run stored %d new items, want 1", sum.ItemsNew)
	}
	if late := st.items[items.KeyFor("ers", "ers-2")]; late.Story != "" {
		t.Errorf("a copy eight days later: story %q, want none (the window is %v)", late.Story, StoryWindow)
	}
}

func TestRunForgetsUnstoredStoryMembers(t *testing.T) {
	st := &memItems{items: map[string]items.Item{}}
	rejected := items.KeyFor("esr", "esr-1")
	st.fail = func(it items.Item) error {
		if it.Key == rejected {
			return items.ErrRejected
		}
		return nil
	}
	parse := docParser{
		"esr": {Items: []items.Item{story("esr-1", "Joint statement on lung cancer screening", jointLead)}},
		"ers": {Items: []items.Item{story("ers-1", "Societies urge ministers to fund lung screening", jointLead)}},
	}
	fetch := scriptedFetcher{
		"https://esr.org/feed": &httpfeed.Response{Body: []byte("esr")},
		"https://ers.org/feed": &httpfeed.Response{Body: []byte("ers")},
	}
	r, _ := newRunner(fetch, parse, st,
		feeds.Feed{Society: "esr", URL: "https://esr.org/feed"},
		feeds.Feed{Society: "ers", URL: "https://ers.org/feed"})
	r.Concurrency = 1
	r.Stories = st
	if _, err := r.Run(context.Background(), TriggerManual); err != nil {
		t.Fatal(err)
	}
	if ers := st.items[items.KeyFor("ers", "ers-1")]; ers.Story != "" {
		t.Errorf("story %q names an item the store rejected; want none", ers.Story)
	}
}
