package digest

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// AlsoFrom names the societies of a shown item's other story members, as a
// mail and the archive both say it: "Also from RSNA, ACR", each name once,
// in the members' order, never the item's own society; "" when there is
// none to name. name gives a society's display name.
func AlsoFrom(own string, members []string, name func(society string) string) string {
	var names []string
	for _, society := range members {
		if society == own {
			continue
		}
		if n := name(society); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "Also from " + strings.Join(names, ", ")
}

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

// SentBefore is the stretch of the past (after, until] whose matching
// items a subscriber was already mailed, as far as a planner can tell: up
// to the watermark (the end of their last period, sent or found empty),
// from their confirmation. A subscriber never sent anything (zero
// watermark) was sent nothing: until is zero.
func SentBefore(sub subscribers.Subscriber, watermark time.Time) (after, until time.Time) {
	if watermark.IsZero() {
		return time.Time{}, time.Time{}
	}
	return sub.ConfirmedAt, watermark
}

// StorySent reports whether a subscriber with preferences p was already
// mailed it's story: another of its members (from members, the story's
// items the planner knows) was first seen in (after, until] and matches p.
// An item that starts its story, or has none, never was.
func StorySent(p subscribers.Preferences, it items.Item, members []items.Item, after, until time.Time) bool {
	if it.Story == "" || until.IsZero() {
		return false
	}
	for _, m := range members {
		if m.Key != it.Key && m.FirstSeen.After(after) && !m.FirstSeen.After(until) && IsFor(p, m) {
			return true
		}
	}
	return false
}
