package delivery

import (
	"slices"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestStoriesNotSentTwice: an item whose story a subscriber was already
// mailed, by another feed's item in an earlier alert or digest, is left
// out of the next one; everyone else still gets it.
func TestStoriesNotSentTwice(t *testing.T) {
	member := func(key, story string, firstSeen time.Time, topics ...string) items.Item {
		it := items.Item{Key: key, Society: key[:4], Story: story, Title: key, FirstSeen: firstSeen, Published: firstSeen}
		for _, topic := range topics {
			it.Topics = append(it.Topics, items.TopicScore{ID: topic, Score: 1})
		}
		return it
	}
	news := memItems{
		// A story first told an hour and a half ago, before the last
		// alert, and retold by another feed since.
		member("rsna-1", "", until.Add(-90*time.Minute), "ai"),
		member("acr--1", "rsna-1", until.Add(-30*time.Minute), "ai", "safety"),
		// A story first told 30 hours ago, beyond the alerts' lookback:
		// the planner reads its first item by key.
		member("rsna-2", "", until.Add(-30*time.Hour), "ai", "safety"),
		member("esr--2", "rsna-2", until.Add(-20*time.Minute), "ai", "safety"),
		member("ai---9", "", until.Add(-10*time.Minute), "ai"),
	}
	lastAlert := until.Add(-time.Hour)
	alerted := func(id string, topics ...string) Candidate {
		c := candidate(id, subscribers.Instant, topics...)
		c.Watermark = lastAlert
		c.Subscriber.ConfirmedAt = until.Add(-60 * 24 * time.Hour)
		return c
	}
	dee := alerted("dee", "ai")     // was sent both stories' first items
	eve := alerted("eve", "safety") // was sent rsna-2, not rsna-1 (not her topic)
	fay := candidate("fay", subscribers.Instant, "ai")
	fay.Subscriber.ConfirmedAt = until.Add(-2 * time.Hour) // never sent anything
	late := alerted("late", "ai")
	late.Subscriber.ConfirmedAt = until.Add(-100 * time.Minute) // confirmed after rsna-2 was first seen: was sent rsna-1 only

	p, _, q := newPlanner(dee, eve, fay, late)
	p.Items = news
	if _, err := p.Start(ctx, Request{RunID: "alerts-1", Target: Target{Kind: TargetInstant}, Until: until, StartedBy: "ingest"}); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, job := range q.jobs {
		for _, r := range job.Recipients {
			got[r.SubscriberID] = slices.Sorted(slices.Values(job.ItemKeys))
		}
	}
	want := map[string][]string{
		"dee":  {"ai---9"},
		"eve":  {"acr--1"},
		"fay":  {"acr--1", "ai---9", "esr--2", "rsna-1"},
		"late": {"ai---9", "esr--2"},
	}
	for id, keys := range want {
		if !slices.Equal(got[id], keys) {
			t.Errorf("%s's alert has %v, want %v", id, got[id], keys)
		}
	}

	// A daily digest follows the same rule: yesterday's digest carried
	// rsna-2, so today's leaves its retelling out.
	gus := candidate("gus", subscribers.Daily, "ai")
	gus.Watermark = until.Add(-24 * time.Hour)
	p, _, q = newPlanner(gus)
	p.Items = news
	if _, err := p.Start(ctx, Request{RunID: "admin-1", Target: Target{Kind: TargetAll}, Until: until, StartedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	if len(q.jobs) != 1 || !slices.Equal(slices.Sorted(slices.Values(q.jobs[0].ItemKeys)), []string{"acr--1", "ai---9", "rsna-1"}) {
		t.Errorf("daily digest: %+v, want acr--1, ai---9 and rsna-1 (shown once by the mail), not esr--2", q.jobs)
	}
}
