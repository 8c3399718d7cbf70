package feeds

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/radiogram/radiogram/internal/topics"
)

// Society is one society whose feeds Radiogram reads, as subscribers choose
// it.
type Society struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Lister lists the feeds table.
type Lister interface {
	ListFeeds(ctx context.Context) ([]Feed, error)
}

// Catalog answers which topics and societies exist. Societies come from the
// feeds table, read at most once per ttl: sign-ups validate against it and
// must not cost a table scan each. It is safe for concurrent use.
type Catalog struct {
	taxonomy *topics.Taxonomy
	feeds    Lister
	// registry lists the societies of the configured registry, known even
	// before the first ingest has seeded the feeds table.
	registry []Feed
	ttl      time.Duration
	now      func() time.Time

	mu        sync.Mutex
	societies []Society
	readAt    time.Time
}

// NewCatalog returns the catalog of taxonomy's topics and of the societies
// of the feeds table and the registry, the table read at most once per ttl.
func NewCatalog(taxonomy *topics.Taxonomy, table Lister, registry []Feed, ttl time.Duration) *Catalog {
	return &Catalog{taxonomy: taxonomy, feeds: table, registry: registry, ttl: ttl, now: time.Now}
}

// KnownTopic reports whether the taxonomy has a topic with this id.
func (c *Catalog) KnownTopic(id string) bool {
	_, ok := c.taxonomy.Lookup(id)
	return ok
}

// KnownSociety reports whether a feed of the table or the registry is of
// the society with this id.
func (c *Catalog) KnownSociety(id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, _ := c.Societies(ctx)
	return slices.ContainsFunc(list, func(s Society) bool { return s.ID == id })
}

// Topics lists the taxonomy's topics, in display order.
func (c *Catalog) Topics() []topics.Topic {
	return c.taxonomy.Topics()
}

// Societies lists the societies of the registered feeds, by name. On a
// read failure it keeps answering from the last good list.
func (c *Catalog) Societies(ctx context.Context) ([]Society, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.societies != nil && c.now().Sub(c.readAt) < c.ttl {
		return c.societies, nil
	}
	list, err := c.feeds.ListFeeds(ctx)
	if err != nil {
		return c.societies, err
	}
	var societies []Society
	seen := map[string]bool{}
	for _, f := range slices.Concat(list, c.registry) {
		if !seen[f.Society] {
			seen[f.Society] = true
			societies = append(societies, Society{ID: f.Society, Name: f.Name})
		}
	}
	slices.SortFunc(societies, func(a, b Society) int {
		return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	c.societies, c.readAt = societies, c.now()
	return societies, nil
}
