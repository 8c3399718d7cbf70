package web

import (
	"context"

	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/topics"
)

// CatalogSource is what the pages' catalog is read from (*feeds.Catalog):
// the taxonomy's topics and the societies of the feed registry.
type CatalogSource interface {
	Topics() []topics.Topic
	Societies(ctx context.Context) ([]feeds.Society, error)
}

// CatalogFrom returns a Handlers.Catalog that reads src on each call. On a
// read error it returns what src still answered along with the error.
func CatalogFrom(src CatalogSource) func(ctx context.Context) (Catalog, error) {
	return func(ctx context.Context) (Catalog, error) {
		list, err := src.Societies(ctx)
		var societies []Society
		if list != nil {
			societies = make([]Society, len(list))
			for i, s := range list {
				societies[i] = Society{ID: s.ID, Name: s.Name}
			}
		}
		return Catalog{Topics: src.Topics(), Societies: societies}, err
	}
}
