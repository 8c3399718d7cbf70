package digest

import (
	"slices"
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
// who wrote the same list. The items are sorted once, and the pick by
// period, topics and societies alone is made once per distinct choice of
// them: a subscriber's phrases only take items out of it and merge the
// few their keywords match in. A Run is not safe for concurrent use.
type Run struct {
	all   []items.Item
	order []int                  // positions in all, newest published first; nil until the first Pick
	rank  []int                  // each position's place in order
	bases map[string][]int       // picks by period, topics and societies alone, in order
	index *keywords.Index        // nil until a subscriber with phrases is picked for
	lists map[string]*phraseList // by the phrases as written, in order
	buf   []byte                 // where the maps' keys are built
	ints  []int                  // where Pick and Followed collect positions
}

// phraseList is one subscriber's keywords or mute phrases, compiled and
// matched against the run's items.
type phraseList struct {
	phrases []keywords.Phrase
	each    []keywords.Bits // the items each phrase matches
	any     keywords.Bits   // the items any phrase matches
	inOrder []int           // the items any phrase matches, in the run's order
	ordered bool            // inOrder is filled in
}

// NewRun returns a Run over all.
func NewRun(all []items.Item) *Run {
	return &Run{all: all, lists: map[string]*phraseList{}, bases: map[string][]int{}}
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
	r.sortOnce()
	base := r.base(p, since, until)
	follow, mute := r.list(p.Keywords), r.list(p.Mute)
	if follow == nil && mute == nil {
		return slices.Clone(base)
	}
	var extra []int // what the keywords match, in order
	if follow != nil {
		if !follow.ordered {
			for _, i := range r.order {
				if follow.any.Has(i) {
					follow.inOrder = append(follow.inOrder, i)
				}
			}
			follow.ordered = true
		}
		extra = follow.inOrder
	}
	// Both lists are in the run's order: merged, the pick is too. It is
	// collected in one buffer and copied once, at its size.
	picked := r.ints[:0]
	for b, e := 0, 0; b < len(base) || e < len(extra); {
		var i int
		if e == len(extra) || (b < len(base) && r.rank[base[b]] <= r.rank[extra[e]]) {
			i = base[b]
			b++
			if e < len(extra) && extra[e] == i {
				e++
			}
		} else {
			i = extra[e]
			e++
			if !r.inPeriodFrom(p, i, since, until) {
				continue
			}
		}
		if mute == nil || !mute.any.Has(i) {
			picked = append(picked, i)
		}
	}
	r.ints = picked
	return slices.Clone(picked)
}

// sortOnce orders the run's items newest first, once.
func (r *Run) sortOnce() {
	if r.order != nil {
		return
	}
	r.order = make([]int, len(r.all))
	for i := range r.order {
		r.order[i] = i
	}
	slices.SortFunc(r.order, func(a, b int) int { return newestFirst(r.all[a], r.all[b]) })
	r.rank = make([]int, len(r.all))
	for n, i := range r.order {
		r.rank[i] = n
	}
}

// base is the pick by period, topics and societies alone, made once per
// distinct choice of them.
func (r *Run) base(p subscribers.Preferences, since, until time.Time) []int {
	r.buf = since.AppendFormat(r.buf[:0], time.RFC3339Nano)
	r.buf = until.AppendFormat(append(r.buf, '|'), time.RFC3339Nano)
	r.buf = appendJoined(append(r.buf, '|'), p.Topics, ",")
	r.buf = appendJoined(append(r.buf, '|'), p.Societies, ",")
	if picked, ok := r.bases[string(r.buf)]; ok {
		return picked
	}
	key := string(r.buf)
	picked := []int{}
	for _, i := range r.order {
		if r.inPeriodFrom(p, i, since, until) && hasTopic(p, &r.all[i]) {
			picked = append(picked, i)
		}
	}
	r.bases[key] = picked
	return picked
}

// inPeriodFrom reports whether the item at i was first seen in (since,
// until] and comes from one of p's societies.
func (r *Run) inPeriodFrom(p subscribers.Preferences, i int, since, until time.Time) bool {
	it := &r.all[i]
	return it.FirstSeen.After(since) && !it.FirstSeen.After(until) &&
		(len(p.Societies) == 0 || slices.Contains(p.Societies, it.Society))
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
	matched := r.ints[:0]
	for _, i := range picked {
		if l.any.Has(i) {
			matched = append(matched, i)
		}
	}
	r.ints = matched
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
	// so the separator cannot join two lists into the same key. The key
	// is built in one buffer: a lookup that finds the list allocates
	// nothing.
	r.buf = appendJoined(r.buf[:0], phrases, "\x1f")
	if l, ok := r.lists[string(r.buf)]; ok {
		return l
	}
	key := string(r.buf)
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
