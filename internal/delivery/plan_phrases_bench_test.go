package delivery

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// phraseBench is the fixture of BenchmarkPlanMillionPhrases: a vocabulary
// of 5,000 words (made-up, of English word lengths: what matching costs
// depends on the number and length of words, not on their meaning), a pool
// of 1,000 phrases of one to three of those words, and the distinct
// keyword and mute lists that subscribers choose from.
type phraseBench struct {
	rng   *rand.Rand
	words []string
	pool  []string
}

func newPhraseBench(seed uint64) *phraseBench {
	f := &phraseBench{rng: rand.New(rand.NewPCG(seed, 7))}
	seen := map[string]bool{}
	for len(f.words) < 5000 {
		var w strings.Builder
		for range 4 + f.rng.IntN(7) {
			w.WriteByte(byte('a' + f.rng.IntN(26)))
		}
		if !seen[w.String()] {
			seen[w.String()] = true
			f.words = append(f.words, w.String())
		}
	}
	inPool := map[string]bool{}
	for len(f.pool) < 1000 {
		n := 1 + f.rng.IntN(3)
		phrase := make([]string, n)
		for i := range phrase {
			phrase[i] = f.words[f.rng.IntN(len(f.words))]
		}
		if p := strings.Join(phrase, " "); !inPool[p] {
			inPool[p] = true
			f.pool = append(f.pool, p)
		}
	}
	return f
}

// text is n words of the vocabulary with, half the time, one phrase of the
// pool among them, as news mentions what some subscriber follows.
func (f *phraseBench) text(n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = f.words[f.rng.IntN(len(f.words))]
	}
	if f.rng.IntN(2) == 0 {
		words[f.rng.IntN(n)] = f.pool[f.rng.IntN(len(f.pool))]
	}
	s := strings.Join(words, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// lists returns n distinct lists of k phrases of the pool, none in two
// lists' keywords and mute of the same subscriber (list i's keywords and
// list i's mute words are disjoint).
func (f *phraseBench) lists(n, k int) (keywords, mute [][]string) {
	for range n {
		perm := f.rng.Perm(len(f.pool))
		kw, mu := make([]string, k), make([]string, k)
		for j := range k {
			kw[j], mu[j] = f.pool[perm[j]], f.pool[perm[k+j]]
		}
		keywords, mute = append(keywords, kw), append(mute, mu)
	}
	return keywords, mute
}

// BenchmarkPlanMillionPhrases plans the slot of BenchmarkPlanMillion, over
// a day of 300 items with titles of 8 to 12 words and summaries of 25 to
// 40, for a million subscribers without phrases ("none") and with 20
// keywords and 20 mute phrases each ("20+20"). The lists are 3,000
// distinct pairs of 20 keywords and 20 mute phrases, so about 330
// subscribers share each pair, and almost every subscriber's choices (the
// pair, topics and societies) are their own: the planner selects for each
// of them. Compare the µs/subscriber of the two.
//
//	go test -run '^$' -bench PlanMillionPhrases -benchtime 1x -cpu 1 ./internal/delivery/
func BenchmarkPlanMillionPhrases(b *testing.B) {
	const n, distinctLists = 1_000_000, 3000
	until := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	f := newPhraseBench(3)
	day := dayOfItems(until, 300, rand.New(rand.NewPCG(1, 2)))
	for i := range day {
		day[i].Title = f.text(8 + f.rng.IntN(5))
		day[i].Summary = f.text(25 + f.rng.IntN(16))
	}
	keywords, mute := f.lists(distinctLists, subscribers.MaxPhrases)
	for _, tt := range []struct {
		name    string
		phrases bool
	}{{"none", false}, {"20+20", true}} {
		b.Run(tt.name, func(b *testing.B) {
			idx := millionDue(n, rand.New(rand.NewPCG(1, 2)))
			if tt.phrases {
				pick := rand.New(rand.NewPCG(5, 6))
				for s := range idx.shards {
					for i := range idx.shards[s] {
						j := pick.IntN(distinctLists)
						p := &idx.shards[s][i].Subscriber.Preferences
						p.Keywords, p.Mute = keywords[j], mute[j]
					}
				}
			}
			benchPlan(b, idx, memItems(day), n)
		})
	}
}

// TestPhraseBenchFixture keeps the benchmark honest: its phrases match
// some items and not most, and its lists are valid preferences.
func TestPhraseBenchFixture(t *testing.T) {
	f := newPhraseBench(3)
	keywords, mute := f.lists(10, subscribers.MaxPhrases)
	for i := range keywords {
		p, err := subscribers.Preferences{Topics: []string{"ai"}, Keywords: keywords[i], Mute: mute[i]}.Normalize(anyCatalog{})
		if err != nil || len(p.Keywords) != subscribers.MaxPhrases || len(p.Mute) != subscribers.MaxPhrases {
			t.Fatalf("list %d: %v", i, err)
		}
	}
	until := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	day := make([]items.Item, 300)
	for i := range day {
		day[i] = items.Item{Key: fmt.Sprint(i), Society: "esr", Title: f.text(10), Summary: f.text(30), FirstSeen: until.Add(-time.Hour)}
	}
	sub := candidate("s", subscribers.Daily, "none-of-these")
	sub.Subscriber.Preferences.Keywords = keywords[0]
	p, _, q := newPlanner(sub)
	p.Items = memItems(day)
	if _, err := p.Plan(ctx, Request{RunID: "r", Target: Target{Kind: TargetAll}, Until: until}); err != nil {
		t.Fatal(err)
	}
	if len(q.jobs) != 1 || len(q.jobs[0].ItemKeys) == 0 || len(q.jobs[0].ItemKeys) > 45 {
		t.Errorf("20 keywords chose %v of 300 items; want a few", q.jobs)
	}
	t.Logf("20 keywords chose %d of 300 items", len(q.jobs[0].ItemKeys))
}

type anyCatalog struct{}

func (anyCatalog) KnownTopic(string) bool   { return true }
func (anyCatalog) KnownSociety(string) bool { return true }
