package digest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/keywords"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// phraseItems are a day of news for the keyword and mute tests.
func phraseItems(t *testing.T) []items.Item {
	t.Helper()
	at := func(h int) time.Time { return mustTime(t, "2026-11-21T07:00:00Z").Add(time.Duration(h) * time.Hour) }
	return []items.Item{
		{Key: "lcs-oncology", Society: "esr", Title: "Lung cancer screening programmes expand", Topics: topics("oncology", 0.9), FirstSeen: at(1), Published: at(1)},
		{Key: "lcs-screened", Society: "rsna", Title: "Smokers screened early", Summary: "Results for lung cancer screened cohorts.", Topics: topics("oncology", 0.9), FirstSeen: at(2), Published: at(2)},
		{Key: "ai-covid", Society: "esr", Title: "AI triage during COVID-19", Topics: topics("ai", 0.9), FirstSeen: at(3), Published: at(3)},
		{Key: "ai-plain", Society: "esr", Title: "AI reads chest films", Topics: topics("ai", 0.8), FirstSeen: at(4), Published: at(4)},
		{Key: "said", Society: "esr", Title: "President said workforce grows", Topics: topics("workforce", 0.8), FirstSeen: at(5), Published: at(5)},
		{Key: "acr-lcs", Society: "acr", Title: "Lung cancer screening in the US", Topics: topics("oncology", 0.8), FirstSeen: at(6), Published: at(6)},
		{Key: "old-lcs", Society: "esr", Title: "Lung cancer screening, last year", Topics: topics("oncology", 0.8), FirstSeen: at(-30), Published: at(-30)},
		{Key: "societe", Society: "esr", Title: "La Société Française publie", Summary: "Échographie pédiatrique.", Topics: topics("ultrasound", 0.8), FirstSeen: at(7), Published: at(7)},
	}
}

func TestRunPickPhrases(t *testing.T) {
	since := mustTime(t, "2026-11-21T07:00:00Z")
	until := since.Add(24 * time.Hour)
	tests := []struct {
		name  string
		prefs subscribers.Preferences
		want  []string // newest first
	}{
		{"topics only", subscribers.Preferences{Topics: []string{"ai"}}, []string{"ai-plain", "ai-covid"}},
		{"a keyword brings items from outside the topics, stemmed",
			subscribers.Preferences{Topics: []string{"ai"}, Keywords: []string{"lung cancer screening"}},
			[]string{"acr-lcs", "ai-plain", "ai-covid", "lcs-screened", "lcs-oncology"}},
		{"societies still apply to keywords",
			subscribers.Preferences{Topics: []string{"ai"}, Societies: []string{"esr"}, Keywords: []string{"lung cancer screening"}},
			[]string{"ai-plain", "ai-covid", "lcs-oncology"}},
		{"a mute phrase drops an item of a chosen topic",
			subscribers.Preferences{Topics: []string{"ai"}, Mute: []string{"covid"}},
			[]string{"ai-plain"}},
		{"mute beats keyword",
			subscribers.Preferences{Topics: []string{"ai"}, Keywords: []string{"lung cancer"}, Mute: []string{"smokers", "covid"}},
			[]string{"acr-lcs", "ai-plain", "lcs-oncology"}},
		{"word boundaries: AI is not in said",
			subscribers.Preferences{Topics: []string{"oncology"}, Keywords: []string{"AI"}},
			[]string{"acr-lcs", "ai-plain", "ai-covid", "lcs-screened", "lcs-oncology"}},
		{"accents and case folded",
			subscribers.Preferences{Topics: []string{"ai"}, Keywords: []string{"ECHOGRAPHIE"}, Mute: []string{"chest"}},
			[]string{"societe", "ai-covid"}},
		{"only the period", subscribers.Preferences{Topics: []string{"workforce"}, Keywords: []string{"last year"}}, []string{"said"}},
	}
	all := phraseItems(t)
	run := NewRun(all)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, i := range run.Pick(tt.prefs, since, until) {
				got = append(got, all[i].Key)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Pick = %q, want %q", got, tt.want)
			}
			// Select, without a shared run, picks the same.
			if got := keysOf(Select(tt.prefs, all, since, until)); !slices.Equal(got, tt.want) {
				t.Errorf("Select = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunCompilesEachListOnce(t *testing.T) {
	all := phraseItems(t)
	run := NewRun(all)
	since, until := mustTime(t, "2026-11-21T07:00:00Z"), mustTime(t, "2026-11-22T07:00:00Z")
	p := subscribers.Preferences{Topics: []string{"ai"}, Keywords: []string{"lung cancer screening", "échographie"}, Mute: []string{"covid"}}
	if run.index != nil {
		t.Fatal("the run tokenised items before anyone had phrases")
	}
	run.Pick(subscribers.Preferences{Topics: []string{"ai"}}, since, until)
	if run.index != nil {
		t.Fatal("a subscriber without phrases made the run tokenise items")
	}
	first := run.Pick(p, since, until)
	index, lists := run.index, len(run.lists)
	for range 3 {
		if again := run.Pick(p, since, until); !slices.Equal(again, first) {
			t.Fatalf("Pick changed: %v, then %v", first, again)
		}
	}
	if run.index != index || len(run.lists) != lists || lists != 2 {
		t.Errorf("the run rebuilt its index or lists: %d lists", len(run.lists))
	}
}

func TestRunFollowed(t *testing.T) {
	all := phraseItems(t)
	run := NewRun(all)
	since, until := mustTime(t, "2026-11-21T07:00:00Z"), mustTime(t, "2026-11-22T07:00:00Z")
	p := subscribers.Preferences{Topics: []string{"ai"}, Keywords: []string{"cardiac", "Chest", "lung cancer screening"}, Societies: []string{"esr"}}
	picked := run.Pick(p, since, until)
	if got, want := run.Followed(p.Keywords, picked), []string{"Chest", "lung cancer screening"}; !slices.Equal(got, want) {
		t.Errorf("Followed = %q, want %q", got, want)
	}
	if got := run.Followed(nil, picked); got != nil {
		t.Errorf("Followed without keywords = %q", got)
	}
}

func TestMatchKeyPhrases(t *testing.T) {
	base := subscribers.Preferences{Topics: []string{"ai"}, Societies: []string{"esr"}}
	with := func(kw, mute []string) subscribers.Preferences {
		p := base
		p.Keywords, p.Mute = kw, mute
		return p
	}
	if MatchKey(base) != "ai|esr" {
		t.Errorf("the key of preferences without phrases changed: %q", MatchKey(base))
	}
	same := [][2]subscribers.Preferences{
		{with([]string{"a b", "c"}, nil), with([]string{"c", "a b"}, nil)},
		{with(nil, []string{"x", "y"}), with(nil, []string{"y", "x"})},
		{with([]string{}, []string{}), base},
	}
	for _, pair := range same {
		if MatchKey(pair[0]) != MatchKey(pair[1]) {
			t.Errorf("%q and %q: keys differ", MatchKey(pair[0]), MatchKey(pair[1]))
		}
	}
	distinct := []subscribers.Preferences{
		base,
		with([]string{"covid"}, nil),
		with(nil, []string{"covid"}),
		with([]string{"a", "b"}, nil),
		with([]string{"a"}, []string{"b"}),
		with([]string{"a b"}, nil),
		with([]string{"COVID"}, nil),
	}
	var memo MatchKeys
	for _, p := range append(distinct, same[0][0], same[0][1], same[1][0], same[2][0]) {
		for range 2 { // the second time from the memo
			if got := string(memo.Append([]byte("x"), p)); got != "x"+MatchKey(p) {
				t.Errorf("MatchKeys.Append = %q, want %q", got, "x"+MatchKey(p))
			}
		}
	}
	seen := map[string]int{}
	for i, p := range distinct {
		if j, dup := seen[MatchKey(p)]; dup {
			t.Errorf("preferences %d and %d share the key %q", j, i, MatchKey(p))
		}
		seen[MatchKey(p)] = i
	}
}

// TestRunPickMatchesTheRule compares the run's merged picks, shared across
// many subscribers, with the rule applied item by item.
func TestRunPickMatchesTheRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	vocab := []string{"lung", "cancer", "screening", "screened", "ai", "said", "covid", "mri", "ct", "dose", "échographie", "echographie", "stroke", "policy"}
	topicIDs := []string{"ai", "oncology", "safety", "neuro", "policy"}
	societies := []string{"esr", "rsna", "acr"}
	words := func(n int) string {
		var w []string
		for range n {
			w = append(w, vocab[rng.IntN(len(vocab))])
		}
		return strings.Join(w, " ")
	}
	base := mustTime(t, "2026-11-21T00:00:00Z")
	var all []items.Item
	for i := range 150 {
		seen := base.Add(time.Duration(rng.IntN(72)) * time.Hour)
		all = append(all, items.Item{Key: fmt.Sprintf("k%03d", i), Society: societies[rng.IntN(3)], Title: words(5), Summary: words(12),
			Topics: topics(topicIDs[rng.IntN(len(topicIDs))], 0.9), FirstSeen: seen, Published: seen.Add(-time.Duration(rng.IntN(3)) * time.Hour)})
	}
	run := NewRun(all)
	for n := range 300 {
		var p subscribers.Preferences
		p.Topics = []string{topicIDs[rng.IntN(len(topicIDs))]}
		if rng.IntN(2) == 0 {
			p.Societies = []string{societies[rng.IntN(3)]}
		}
		for range rng.IntN(3) {
			p.Keywords = append(p.Keywords, words(1+rng.IntN(2)))
		}
		for range rng.IntN(3) {
			p.Mute = append(p.Mute, words(1+rng.IntN(2)))
		}
		since := base.Add(time.Duration(rng.IntN(48)) * time.Hour)
		until := since.Add(24 * time.Hour)

		follow, mute := keywords.Compile(p.Keywords), keywords.Compile(p.Mute)
		var want []items.Item
		for _, it := range all {
			text := keywords.Tokenize(it.Title, it.Summary)
			_, followed := keywords.First(follow, text)
			_, muted := keywords.First(mute, text)
			inPeriod := it.FirstSeen.After(since) && !it.FirstSeen.After(until)
			fromChosen := len(p.Societies) == 0 || slices.Contains(p.Societies, it.Society)
			if inPeriod && fromChosen && !muted && (Matches(p, it) || followed) {
				want = append(want, it)
			}
		}
		slices.SortFunc(want, newestFirst)
		var got []string
		for _, i := range run.Pick(p, since, until) {
			got = append(got, all[i].Key)
		}
		if !slices.Equal(got, keysOf(want)) {
			t.Fatalf("subscriber %d %+v:\n got %q\nwant %q", n, p, got, keysOf(want))
		}
	}
}
