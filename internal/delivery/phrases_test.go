package delivery

import (
	"slices"
	"testing"

	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestPlanKeywordsAndMute plans one shard for subscribers whose phrases
// differ: each gets the items their own phrases choose, and the jobs carry
// the keywords the mail names.
func TestPlanKeywordsAndMute(t *testing.T) {
	ids := idsInShard(5, 6, "kw")
	with := func(id string, kw, mute []string) Candidate {
		c := candidate(id, subscribers.Daily, "ai")
		c.Subscriber.Preferences.Keywords, c.Subscriber.Preferences.Mute = kw, mute
		return c
	}
	subs := []Candidate{
		with(ids[0], nil, nil),                                 // topics only
		with(ids[1], []string{"contrast shortage"}, nil),       // + the safety item
		with(ids[2], []string{"Contrast shortages"}, nil),      // the same, spelled otherwise
		with(ids[3], nil, []string{"reporting"}),               // - ai-2
		with(ids[4], []string{"shortage"}, []string{"triage"}), // + safety, - ai-1
		with(ids[5], []string{"cardiac"}, nil),                 // a keyword matching nothing
	}
	p, _, q := newPlanner(subs...)
	p.Items = append(p.Items.(memItems)[:0:0], p.Items.(memItems)...)
	news := p.Items.(memItems)
	for i := range news {
		switch news[i].Key {
		case "ai-1":
			news[i].Title = "AI triage in the emergency department"
		case "ai-2":
			news[i].Summary = "Structured reporting with AI."
		case "safety-1":
			news[i].Title = "Iodinated contrast shortage: what to do"
		}
	}
	// A dry run counts what each would get, as the real run then sends.
	dry, err := p.Plan(ctx, Request{RunID: "dry", Target: Target{Kind: TargetAll}, Until: until, Shard: 5, Sharded: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, r := range dry.Recipients {
		counts[r.SubscriberID] = r.Items
	}
	if len(q.jobs) != 0 || counts[ids[1]] != 3 || counts[ids[3]] != 1 || counts[ids[4]] != 2 {
		t.Errorf("dry run: %d jobs queued, items per subscriber %v", len(q.jobs), counts)
	}
	if _, err := p.Plan(ctx, Request{RunID: "r", Target: Target{Kind: TargetAll}, Until: until, Shard: 5, Sharded: true}); err != nil {
		t.Fatal(err)
	}
	type got struct {
		items, keywords []string
	}
	byID := map[string]got{}
	for _, j := range q.jobs {
		for _, r := range j.Recipients {
			byID[r.SubscriberID] = got{slices.Sorted(slices.Values(j.ItemKeys)), j.Keywords}
		}
	}
	want := map[string]got{
		ids[0]: {[]string{"ai-1", "ai-2"}, nil},
		ids[1]: {[]string{"ai-1", "ai-2", "safety-1"}, []string{"contrast shortage"}},
		ids[2]: {[]string{"ai-1", "ai-2", "safety-1"}, []string{"Contrast shortages"}},
		ids[3]: {[]string{"ai-1"}, nil},
		ids[4]: {[]string{"ai-2", "safety-1"}, []string{"shortage"}},
		ids[5]: {[]string{"ai-1", "ai-2"}, nil},
	}
	for id, w := range want {
		g := byID[id]
		if !slices.Equal(g.items, w.items) || !slices.Equal(g.keywords, w.keywords) {
			t.Errorf("%s got items %q, keywords %q; want %q, %q", id, g.items, g.keywords, w.items, w.keywords)
		}
	}
	// The topics-only subscriber and the one whose keyword matched nothing
	// get the same mail: one job. The two spellings of a keyword name it
	// differently: two jobs.
	if len(q.jobs) != 5 {
		t.Errorf("%d jobs, want 5", len(q.jobs))
	}
}
