package web

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/topics"
)

type catalogSource struct {
	societies []feeds.Society
	err       error
}

func (s catalogSource) Topics() []topics.Topic {
	return []topics.Topic{{ID: "ai", Name: "AI"}}
}

func (s catalogSource) Societies(context.Context) ([]feeds.Society, error) {
	return s.societies, s.err
}

func TestCatalogFrom(t *testing.T) {
	read := CatalogFrom(catalogSource{societies: []feeds.Society{{ID: "esr", Name: "ESR"}, {ID: "rsna", Name: "RSNA"}}})
	got, err := read(context.Background())
	want := Catalog{Topics: []topics.Topic{{ID: "ai", Name: "AI"}}, Societies: []Society{{ID: "esr", Name: "ESR"}, {ID: "rsna", Name: "RSNA"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("catalog: %+v, %v; want %+v", got, err, want)
	}

	// A failed read passes on the error, and whatever was still answered.
	failed := errors.New("table unavailable")
	got, err = CatalogFrom(catalogSource{err: failed})(context.Background())
	if !errors.Is(err, failed) || got.Societies != nil || len(got.Topics) != 1 {
		t.Errorf("catalog after a failed read: %+v, %v", got, err)
	}
}
