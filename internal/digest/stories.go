package digest

import (
	"cmp"
	"slices"

	"github.com/radiogram/radiogram/internal/items"
)

// CollapseStories shows each story once: of the items of list that tell
// the same story (items.Item.StoryKey), only the first seen stays, and the
// others are returned as also[its key], first seen first. It groups only
// among the items given, so a subscriber's filters apply to every member:
// a member from a society the subscriber does not follow is neither shown
// nor named. The order of list is kept for the items that stay.
func CollapseStories(list []items.Item) (kept []items.Item, also map[string][]items.Item) {
	members := map[string][]items.Item{}
	for _, it := range list {
		members[it.StoryKey()] = append(members[it.StoryKey()], it)
	}
	leads := map[string]string{} // story → the key of the member shown
	for story, group := range members {
		if len(group) < 2 {
			continue
		}
		slices.SortFunc(group, firstSeenFirst)
		leads[story] = group[0].Key
		if also == nil {
			also = map[string][]items.Item{}
		}
		also[group[0].Key] = group[1:]
	}
	for _, it := range list {
		if lead, grouped := leads[it.StoryKey()]; !grouped || lead == it.Key {
			kept = append(kept, it)
		}
	}
	return kept, also
}

// firstSeenFirst orders a story's members: the first seen leads (it is the
// one that named the story), ties by key.
func firstSeenFirst(a, b items.Item) int {
	if c := a.FirstSeen.Compare(b.FirstSeen); c != 0 {
		return c
	}
	return cmp.Compare(a.Key, b.Key)
}
