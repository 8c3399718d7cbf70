package delivery

import (
	"context"
	"time"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/stories"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// storyMembers lists, by story, the members the planner knows of every
// story that has more than one item among all: the items read for the
// plan, and each story's first item when it was first seen before them
// (one batched read of those keys). A story's other members seen before
// the plan's items are not read: the first item is the one most likely
// sent, and finding the others would cost a read per story. A failed read
// is logged and leaves the stories as the items show them: a story sent
// twice is better than a plan that fails.
func (p *Planner) storyMembers(ctx context.Context, all []items.Item) map[string][]items.Item {
	// Most items tell a story of their own: only the stories some item
	// names are gathered.
	members := map[string][]items.Item{}
	for _, it := range all {
		if it.Story != "" {
			members[it.Story] = nil
		}
	}
	if len(members) == 0 {
		return nil
	}
	have := map[string]bool{}
	for _, it := range all {
		if _, named := members[it.StoryKey()]; named {
			have[it.Key] = true
			members[it.StoryKey()] = append(members[it.StoryKey()], it)
		}
	}
	var missing []string
	for story := range members {
		if !have[story] {
			missing = append(missing, story)
		}
	}
	if len(missing) > 0 {
		firsts, err := p.Items.GetMany(ctx, missing)
		if err != nil {
			p.Log.WarnContext(ctx, "read the first items of stories; a story may be sent twice", "stories", len(missing), "err", err)
		}
		for _, it := range firsts {
			members[it.Key] = append(members[it.Key], it)
		}
	}
	for story, group := range members {
		if len(group) < 2 {
			delete(members, story)
		}
	}
	return members
}

// sentBefore is digest.SentBefore for one candidate, with the confirmation
// dropped when it cannot matter: every member of a story of an item first
// seen after since was first seen after since less stories.Window, so an
// earlier confirmation excludes none, and subscribers who confirmed long
// ago share one selection.
func (s *selector) sentBefore(c Candidate, since time.Time) (after, until time.Time) {
	if len(s.stories) == 0 {
		return time.Time{}, time.Time{} // nothing to drop: one selection per period, as before
	}
	after, until = digest.SentBefore(c.Subscriber, c.Watermark)
	if after.Before(since.Add(-stories.Window)) {
		after = time.Time{}
	}
	return after, until
}

// dropSentStories removes from picked the items whose story the
// subscriber was already mailed (digest.StorySent).
func (s *selector) dropSentStories(p subscribers.Preferences, picked []int, after, until time.Time) []int {
	if len(s.stories) == 0 || until.IsZero() {
		return picked
	}
	kept := picked[:0]
	for _, n := range picked {
		it := s.run.Items()[n]
		if it.Story != "" && digest.StorySent(p, it, s.stories[it.Story], after, until) {
			continue
		}
		kept = append(kept, n)
	}
	return kept
}
