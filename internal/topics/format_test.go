package topics_test

import (
	"bytes"
	"testing"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/topics"
)

// TestTaxonomyFileIsCanonical keeps infra/topics.json in the layout
// radiogram-tagger-train writes, so a training run's diff shows only what it
// changed.
func TestTaxonomyFileIsCanonical(t *testing.T) {
	got, err := topics.Format(infra.Topics)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, infra.Topics) {
		t.Errorf("infra/topics.json is not in Format's layout; run go run ./cmd/radiogram-tagger-train")
	}
}
