package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/items"
)

// Correction is an admin's correction of one item's topics, as the audit
// keeps it: a snapshot of the item as the admin saw it, its topics before
// (with what gave each) and after, who and when. Corrections are labelled
// examples too: the tagger report measures the tagger against them.
type Correction struct {
	ItemID  string             `json:"item_id"`
	Society string             `json:"society"`
	Title   string             `json:"title"`
	Summary string             `json:"summary"`
	Before  []items.TopicScore `json:"before"`
	After   []items.TopicScore `json:"after"`
	By      string             `json:"by"`
	At      time.Time          `json:"at"`
	Client  string             `json:"client,omitempty"`
}

// CorrectionStore applies and lists corrections (*dynamo.CorrectionStore).
type CorrectionStore interface {
	// Item reads one item; ErrNotFound for an unknown id.
	Item(ctx context.Context, id string) (items.Item, error)
	// Correct replaces the item's topics by c.After, marks them as set by
	// an admin (so that no later ingest replaces them), and records c,
	// all at once. It fills c's snapshot (society, title, summary, topics
	// before) from the item it replaced, and returns the item as it is now
	// with the correction recorded. ErrNotFound for an unknown item.
	Correct(ctx context.Context, c Correction) (items.Item, Correction, error)
	// Corrections lists the latest corrections, newest first.
	Corrections(ctx context.Context, limit int) ([]Correction, error)
}

// maxItemIDBytes bounds an item id before it reaches the store: longer
// than any key items.KeyFor makes.
const maxItemIDBytes = 200

// Item returns one stored item; an unknown id is an error matching
// ErrNotFound.
func (s *Service) Item(ctx context.Context, id string) (items.Item, error) {
	if id == "" || len(id) > maxItemIDBytes {
		return items.Item{}, because(ErrNotFound, nil, fmt.Sprintf("no item %q", id))
	}
	return s.CorrectionStore.Item(ctx, id)
}

// CheckTopics says what is wrong with a list of topics an admin gives an
// item: none, a duplicate, more than the taxonomy allows, or an unknown
// id; nil when nothing is.
func (s *Service) CheckTopics(ids []string) error {
	if len(ids) == 0 {
		return because(ErrBadRequest, nil, "topics must list at least one topic")
	}
	if len(ids) > s.MaxTopics {
		return because(ErrBadRequest, nil, fmt.Sprintf("an item has at most %d topics; %d given", s.MaxTopics, len(ids)))
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !s.KnownTopic(id) {
			return fmt.Errorf("%w %q", ErrUnknownTopic, id)
		}
		if seen[id] {
			return because(ErrBadRequest, nil, fmt.Sprintf("topic %q is listed twice", id))
		}
		seen[id] = true
	}
	return nil
}

// CorrectTopics sets an item's topics to ids, in the order given, each as
// set by an admin. It applies at once to the stored item, and so to every
// listing, feed and digest planned after it; no later ingest of the item
// replaces them. The correction is recorded with the item's previous
// topics; a list CheckTopics refuses is an error matching ErrBadRequest or
// ErrUnknownTopic, an unknown item one matching ErrNotFound.
func (s *Service) CorrectTopics(ctx context.Context, id string, ids []string, actor string) (items.Item, error) {
	if err := s.CheckTopics(ids); err != nil {
		return items.Item{}, err
	}
	if id == "" || len(id) > maxItemIDBytes {
		return items.Item{}, because(ErrNotFound, nil, fmt.Sprintf("no item %q", id))
	}
	after := make([]items.TopicScore, len(ids))
	for i, t := range ids {
		after[i] = items.TopicScore{ID: t, Score: 1, Source: items.SourceAdmin}
	}
	it, c, err := s.CorrectionStore.Correct(ctx, Correction{ItemID: id, After: after, By: actor, At: s.Now().UTC(), Client: ClientFrom(ctx)})
	if err != nil {
		return items.Item{}, err
	}
	before := topicIDs(c.Before)
	s.Log.InfoContext(ctx, "item topics corrected", "item", id, "society", c.Society,
		"before", before, "after", ids, "by", actor, "client", c.Client)
	s.audit(ctx, actor, "item.topics", fmt.Sprintf("%s: %s → %s", id, strings.Join(before, ", "), strings.Join(ids, ", ")))
	return it, nil
}

// Corrections lists the latest corrections of items' topics, newest first.
func (s *Service) Corrections(ctx context.Context, limit int) ([]Correction, error) {
	return s.CorrectionStore.Corrections(ctx, limit)
}

func topicIDs(list []items.TopicScore) []string {
	ids := make([]string, len(list))
	for i, t := range list {
		ids[i] = t.ID
	}
	return ids
}
