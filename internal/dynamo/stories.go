package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/radiogram/radiogram/internal/items"
)

// StoryTexts returns the items first seen in (since, until] with only what
// recognising a story needs: key, feed, society, title, summary, first
// seen and story. Ingest reads it once per run to index the recent items'
// texts (internal/stories); leaving out the content, up to 64 KB an item,
// keeps a week of items to a few megabytes.
func (s *ItemStore) StoryTexts(ctx context.Context, since, until time.Time) ([]items.Item, error) {
	// Names for every attribute, so that none can clash with a word
	// DynamoDB reserves.
	names := map[string]string{"#i": "id", "#f": "feed_id", "#s": "society", "#t": "title", "#m": "summary", "#w": "first_seen", "#y": "story"}
	found, err := s.ingestedBetween(ctx, since, until, aws.String("#i, #f, #s, #t, #m, #w, #y"), names)
	if err != nil {
		return nil, fmt.Errorf("read recent items' texts: %w", err)
	}
	return found, nil
}
