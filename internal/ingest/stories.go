package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/stories"
)

// StoryTexts reads the recent items' texts for recognising stories
// (*dynamo.ItemStore): the items first seen in (since, until], with at
// least their key, feed, title, summary and story.
type StoryTexts interface {
	StoryTexts(ctx context.Context, since, until time.Time) ([]items.Item, error)
}

// StoryWindow is how far back a new item's story is looked for
// (stories.Window).
const StoryWindow = stories.Window

// storyGroups recognises, during one run, the new items that tell the
// story of a recent item of another feed, or of another new item of the
// same run (two feeds carrying a joint statement at once).
//
// The recent items are read once per run, on its first new item, through
// the by-ingested index (one query per day of the window, without the
// items' content), and their signatures indexed in memory (LSH bands). A
// week of a few hundred feeds' news is a few thousand items: megabytes to
// read and some 10 µs each to sign, once per run, against no cost at all
// for runs with nothing new. Storing each item's 64 band keys in a sparse
// index instead would cost 64 index writes per item and a query per band
// per new item, to save a read that is cheap at this size.
type storyGroups struct {
	source StoryTexts
	now    time.Time

	mu     sync.Mutex
	loaded bool
	index  *stories.Index
}

type storyGroupsKey struct{}

// withStories gives a run's context its story groups: feeds are stored
// concurrently, and each new item must see those stored before it.
func withStories(ctx context.Context, source StoryTexts, now time.Time) context.Context {
	if source == nil {
		return ctx
	}
	return context.WithValue(ctx, storyGroupsKey{}, &storyGroups{source: source, now: now, index: stories.NewIndex()})
}

// groupStory sets it.Story when a recent item of another feed tells the
// same story, and indexes it for the items after it. A failure to read
// the recent items is logged and leaves items ungrouped: a story shown
// twice is better than news not stored.
func (r *Runner) groupStory(ctx context.Context, it *items.Item) {
	g, _ := ctx.Value(storyGroupsKey{}).(*storyGroups)
	if g == nil {
		return
	}
	sig := stories.Sign(it.Title, it.Summary)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.loaded {
		g.loaded = true
		recent, err := g.source.StoryTexts(ctx, g.now.Add(-StoryWindow), g.now)
		if err != nil {
			r.Log.WarnContext(ctx, "read recent items for stories; new items are not grouped this run", "err", err)
			g.index = nil
		} else {
			for _, old := range recent {
				g.index.Add(stories.Entry{Key: old.Key, Feed: old.FeedID, Story: old.StoryKey()}, stories.Sign(old.Title, old.Summary))
			}
		}
	}
	if g.index == nil {
		return
	}
	if m, ok := g.index.Find(it.FeedID, sig); ok {
		it.Story = m.Story
		r.Log.InfoContext(ctx, "item tells a known story", "item", it.Key, "story", m.Story, "like", m.Key, "similarity", m.Similarity)
	}
	g.index.Add(stories.Entry{Key: it.Key, Feed: it.FeedID, Story: it.StoryKey()}, sig)
}

// forgetStory drops an item that was not stored after all from the run's
// index, so that no later item names it as its story.
func (r *Runner) forgetStory(ctx context.Context, key string) {
	if g, _ := ctx.Value(storyGroupsKey{}).(*storyGroups); g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.index != nil {
			g.index.Remove(key)
		}
	}
}
