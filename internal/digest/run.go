package digest

import (
	"slices"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/keywords"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// Run is the items of one planning run, to pick from for many subscribers.
// What keyword and mute phrases need is done once per run, not once per
// subscriber: each item's title and summary is tokenised once (and only
// once some subscriber has phrases), and each distinct list of phrases is
// compiled and matched against every item once, then reused by everyone
// who wrote the same list. A Run is not safe for concurrent use.
type Run struct {
	all   []items.Item
	index *keywords.Index        // nil until a subscriber with phrases is picked for
	lists map[string]*phraseList // by the phrases as written, in order
}

// phraseList is one subscriber's keywords or mute phrases, compiled and
// matched against the run's items.
type phraseList struct {
	phrases []keywords.Phrase
	each    []keywords.Bits // the items each phrase matches
	any     keywords.Bits   // the items any phrase matches
}

// NewRun returns a Run over all.
func NewRun(all []items.Item) *Run {
	return &Run{all: all, lists: map[string]*phraseList{}}
}

// Items returns the run's items; Pick's positions are positions in it.
func (r *Run) Items() []items.Item { return r.all }

// Pick returns the positions of the items first seen in (since, until]
// that are for a subscriber with preferences p, newest published first,
// ties by key. An item is for them when it comes from one of their
// societies (none chosen means every society), does not match any of their
// mute phrases, and either has one of their topics or matches one of their
// keywords: a keyword brings an item in from outside the chosen topics,
// never from outside the chosen societies, and a mute phrase beats both.
func (r *Run) Pick(p subscribers.Preferences, since, until time.Time) []int {
	follow, mute := r.list(p.Keywords), r.list(p.Mute)
	var picked []int
	for i := range r.all {
		it := &r.all[i]
		if !it.FirstSeen.After(since) || it.FirstSeen.After(until) {
			continue
		}
		if len(p.Societies) > 0 && !slices.Contains(p.Societies, it.Society) {
			continue
		}
		if mute != nil && mute.any.Has(i) {
			continue
		}
		if hasTopic(p, it) || (follow != nil && follow.any.Has(i)) {
			picked = append(picked, i)
		}
	}
	slices.SortFunc(picked, func(a, b int) int { return newestFirst(r.all[a], r.all[b]) })
	return picked
}

// Followed returns the phrases among keywords that match at least one of
// the picked items, in the order given: those a mail of these items says
// "You follow: …" for.
func (r *Run) Followed(keywords []string, picked []int) []string {
	l := r.list(keywords)
	if l == nil {
		return nil
	}
	// Few items match any keyword: only those are checked phrase by phrase.
	var matched []int
	for _, i := range picked {
		if l.any.Has(i) {
			matched = append(matched, i)
		}
	}
	if len(matched) == 0 {
		return nil
	}
	var out []string
	for j, bits := range l.each {
		if slices.ContainsFunc(matched, bits.Has) {
			out = append(out, l.phrases[j].Text)
		}
	}
	return out
}

// list compiles and matches phrases once per run; nil for none.
func (r *Run) list(phrases []string) *phraseList {
	if len(phrases) == 0 {
		return nil
	}
	// Phrases hold no control characters (subscribers.NormalizePhrases),
	// so the separator cannot join two lists into the same key.
	key := strings.Join(phrases, "\x1f")
	if l, ok := r.lists[key]; ok {
		return l
	}
	if r.index == nil {
		texts := make([]keywords.Text, len(r.all))
		for i := range r.all {
			texts[i] = keywords.Tokenize(r.all[i].Title, r.all[i].Summary)
		}
		r.index = keywords.NewIndex(texts)
	}
	l := &phraseList{phrases: keywords.Compile(phrases), any: keywords.NewBits(len(r.all))}
	for _, ph := range l.phrases {
		bits := r.index.Match(ph)
		l.each = append(l.each, bits)
		l.any.Or(bits)
	}
	r.lists[key] = l
	return l
}

func hasTopic(p subscribers.Preferences, it *items.Item) bool {
	for _, t := range it.Topics {
		if slices.Contains(p.Topics, t.ID) {
			return true
		}
	}
	return false
}
