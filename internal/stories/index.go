package stories

import "time"

// Window is how far back a new item's story is looked for: a release
// reprinted, or a joint statement posted by another society, appears
// within days. A story's members are thus first seen within Window of its
// first member.
const Window = 7 * 24 * time.Hour

// Entry is an item as the index knows it.
type Entry struct {
	Key  string // the item's storage key
	Feed string // the feed it came from: items of one feed never group
	// Story is the key of the story's earliest member: the item's own key
	// when it has none yet.
	Story string
}

// Match is a stored entry found to tell the same story, and how alike the
// two texts are estimated to be.
type Match struct {
	Entry
	Similarity float64
}

// Index finds, among the items added to it, the one that tells the same
// story as a new text. It holds the signatures in memory with their band
// keys (LSH): a lookup reads only the entries that share a band with the
// new signature, not every entry. It is not safe for concurrent use.
type Index struct {
	entries []indexed
	bands   map[uint64][]int32 // band key → positions in entries
	// feeds are the feeds each story has a member of: a story never gets
	// two members of one feed.
	feeds map[string]map[string]bool
}

type indexed struct {
	Entry
	sig     Signature
	removed bool
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{bands: map[uint64][]int32{}, feeds: map[string]map[string]bool{}}
}

// Len is the number of entries added and not removed.
func (x *Index) Len() int {
	n := 0
	for _, e := range x.entries {
		if !e.removed {
			n++
		}
	}
	return n
}

// Add indexes an entry; an entry whose text was too short is not indexed.
func (x *Index) Add(e Entry, sig Signature) {
	if !sig.ok {
		return
	}
	if e.Story == "" {
		e.Story = e.Key
	}
	n := int32(len(x.entries))
	x.entries = append(x.entries, indexed{Entry: e, sig: sig})
	if x.feeds[e.Story] == nil {
		x.feeds[e.Story] = map[string]bool{}
	}
	x.feeds[e.Story][e.Feed] = true
	for _, k := range bandKeys(&sig) {
		if k != 0 {
			x.bands[k] = append(x.bands[k], n)
		}
	}
}

// Remove forgets the entry with this key (one whose store failed). Its
// story still counts its feed as a member's: a later item of that feed is
// then left out of the story, which is the cautious side.
func (x *Index) Remove(key string) {
	for i := range x.entries {
		if x.entries[i].Key == key {
			x.entries[i].removed = true
		}
	}
}

// Find returns the entry of another feed most alike sig, if it reaches
// Threshold. Entries of the same feed, and of stories that already have a
// member of that feed, are skipped: a feed's own later entry on a subject
// is its own news (a follow-up, an update), and a feed's edit of an entry
// is the same item already.
func (x *Index) Find(feed string, sig Signature) (Match, bool) {
	if !sig.ok {
		return Match{}, false
	}
	var best Match
	bestN := int32(-1)
	checked := map[int32]bool{}
	for _, k := range bandKeys(&sig) {
		if k == 0 {
			continue
		}
		for _, n := range x.bands[k] {
			if checked[n] {
				continue
			}
			checked[n] = true
			e := &x.entries[n]
			if e.removed || e.Feed == feed || x.feeds[e.Story][feed] {
				continue
			}
			sim := Score(&e.sig, &sig)
			if sim < Threshold {
				continue
			}
			// The most alike wins; on a tie the earlier added, so that the
			// result never depends on map order.
			if bestN < 0 || sim > best.Similarity || (sim == best.Similarity && n < bestN) {
				best, bestN = Match{Entry: e.Entry, Similarity: sim}, n
			}
		}
	}
	return best, bestN >= 0
}
