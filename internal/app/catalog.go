package app

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/topics"
	"github.com/radiogram/radiogram/internal/web"
)

// catalog answers which topics and societies exist. Societies come from the
// feed registry, read at most once a minute: sign-ups validate against it
// and must not cost a table scan each.
type catalog struct {
	taxonomy *topics.Taxonomy
	feeds    interface {
		ListFeeds(ctx context.Context) ([]feeds.Feed, error)
	}
	// registry lists the societies of the configured registry, known even
	// before the first ingest has seeded the feeds table.
	registry []feeds.Feed
	ttl      time.Duration

	mu        sync.Mutex
	societies []web.Society
	readAt    time.Time
}

func (c *catalog) KnownTopic(id string) bool {
	_, ok := c.taxonomy.Lookup(id)
	return ok
}

func (c *catalog) KnownSociety(id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, _ := c.Societies(ctx)
	return slices.ContainsFunc(list, func(s web.Society) bool { return s.ID == id })
}

// Societies lists the societies of the registered feeds, by id. On a read
// failure it keeps answering from the last good list.
func (c *catalog) Societies(ctx context.Context) ([]web.Society, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.societies != nil && time.Since(c.readAt) < c.ttl {
		return c.societies, nil
	}
	list, err := c.feeds.ListFeeds(ctx)
	if err != nil {
		return c.societies, err
	}
	var societies []web.Society
	for _, f := range append(list, c.registry...) {
		if !slices.ContainsFunc(societies, func(s web.Society) bool { return s.ID == f.Society }) {
			societies = append(societies, web.Society{ID: f.Society, Name: f.Name})
		}
	}
	slices.SortFunc(societies, func(a, b web.Society) int {
		return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	c.societies, c.readAt = societies, time.Now()
	return societies, nil
}

// Web returns the catalog as the pages show it.
func (c *catalog) Web(ctx context.Context) (web.Catalog, error) {
	societies, err := c.Societies(ctx)
	return web.Catalog{Topics: c.taxonomy.Topics(), Societies: societies}, err
}
