package feeds

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/topics"
)

// countingTable is a feeds table that counts its reads.
type countingTable struct {
	feeds []Feed
	err   error
	reads int
}

func (t *countingTable) ListFeeds(context.Context) ([]Feed, error) {
	t.reads++
	if t.err != nil {
		return nil, t.err
	}
	return append([]Feed(nil), t.feeds...), nil
}

// newTestCatalog returns a catalog over table and registry whose clock
// the returned function moves.
func newTestCatalog(t *testing.T, table Lister, registry []Feed) (*Catalog, func(time.Duration)) {
	t.Helper()
	taxonomy, err := topics.Load(infra.Topics)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCatalog(taxonomy, table, registry, time.Minute)
	now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	return c, func(d time.Duration) { now = now.Add(d) }
}

func TestCatalogReadsTableOncePerTTL(t *testing.T) {
	ctx := context.Background()
	table := &countingTable{feeds: []Feed{{Society: "esr", Name: "European Society of Radiology"}}}
	c, advance := newTestCatalog(t, table, nil)
	for range 3 {
		if _, err := c.Societies(ctx); err != nil {
			t.Fatal(err)
		}
		if !c.KnownSociety("esr") {
			t.Error("esr unknown")
		}
	}
	if table.reads != 1 {
		t.Errorf("%d table reads within the ttl, want 1", table.reads)
	}
	advance(59 * time.Second)
	c.Societies(ctx)
	if table.reads != 1 {
		t.Errorf("%d table reads before the ttl ran out, want 1", table.reads)
	}
	// An admin adds a feed: it is known once the cached list expires.
	table.feeds = append(table.feeds, Feed{Society: "rsna", Name: "RSNA"})
	if c.KnownSociety("rsna") {
		t.Error("rsna known before the ttl ran out: the table was read again")
	}
	advance(time.Second)
	if !c.KnownSociety("rsna") {
		t.Error("rsna unknown after the ttl")
	}
	if table.reads != 2 {
		t.Errorf("%d table reads after one ttl, want 2", table.reads)
	}
}

func TestCatalogRegistryKnownBeforeIngest(t *testing.T) {
	registry := []Feed{
		{Society: "wfumb", Name: "World Federation for Ultrasound in Medicine and Biology"},
		{Society: "esr", Name: "ESR (registry)"},
		{Society: "acr", Name: "american College of Radiology"},
		{Society: "esr", Name: "ESR, second feed"},
	}
	// Before the first ingest the feeds table is empty.
	c, _ := newTestCatalog(t, &countingTable{}, registry)
	for _, id := range []string{"wfumb", "esr", "acr"} {
		if !c.KnownSociety(id) {
			t.Errorf("%s unknown before the first ingest", id)
		}
	}
	if c.KnownSociety("nasa") {
		t.Error("nasa known")
	}

	// The table's names come first; each society once, sorted by name
	// regardless of case.
	c, _ = newTestCatalog(t, &countingTable{feeds: []Feed{{Society: "esr", Name: "European Society of Radiology"}}}, registry)
	got, err := c.Societies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Society{
		{ID: "acr", Name: "american College of Radiology"},
		{ID: "esr", Name: "European Society of Radiology"},
		{ID: "wfumb", Name: "World Federation for Ultrasound in Medicine and Biology"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("societies:\n got %v\nwant %v", got, want)
	}
}

func TestCatalogKeepsLastGoodList(t *testing.T) {
	ctx := context.Background()
	table := &countingTable{feeds: []Feed{{Society: "esr", Name: "ESR"}}}
	c, advance := newTestCatalog(t, table, nil)
	good, err := c.Societies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	table.err = errors.New("throttled")
	got, err := c.Societies(ctx)
	if !errors.Is(err, table.err) || !reflect.DeepEqual(got, good) {
		t.Errorf("after a failed read: %v, %v; want %v and the error", got, err, good)
	}
	if !c.KnownSociety("esr") {
		t.Error("esr unknown while the table cannot be read")
	}
	if table.reads != 3 {
		t.Errorf("%d reads, want 3: a failed read is retried on the next call", table.reads)
	}
}

func TestCatalogTopics(t *testing.T) {
	c, _ := newTestCatalog(t, &countingTable{}, nil)
	if !c.KnownTopic("ai") || c.KnownTopic("astrology") {
		t.Error("KnownTopic does not follow the taxonomy")
	}
	if list := c.Topics(); len(list) == 0 || list[0].ID != "cancer" {
		t.Errorf("topics: %v", list)
	}
}
