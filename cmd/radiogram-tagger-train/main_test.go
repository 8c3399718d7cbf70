package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/topics"
	"github.com/radiogram/radiogram/internal/topics/corpus"
)

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Training reads only the tune split and writes the models into the
// taxonomy file; -clear takes them out again.
func TestTrainWritesModelsFromTheTuneSplit(t *testing.T) {
	dir := t.TempDir()
	taxonomyPath := writeFile(t, dir, "topics.json", infra.Topics)
	feedsPath := writeFile(t, dir, "feeds.json", infra.Feeds)
	var items []corpus.Item
	for i := range 12 {
		items = append(items,
			corpus.Item{ID: fmt.Sprintf("t%d", i), Society: "esr", Title: "A screening trial", Summary: "Results of the trial.", Topics: []string{"screening", "research"}, Split: corpus.Tune},
			corpus.Item{ID: fmt.Sprintf("u%d", i), Society: "esr", Title: "Film screening at the annual congress", Summary: "Registration is open.", Topics: []string{"events"}, Split: corpus.Tune},
			corpus.Item{ID: fmt.Sprintf("h%d", i), Society: "esr", Title: "Holdout item", Summary: "Never read.", Topics: []string{"ai"}, Split: corpus.Holdout},
		)
	}
	data, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	corpusPath := writeFile(t, dir, "corpus.json", data)

	var out strings.Builder
	if err := run([]string{"-taxonomy", taxonomyPath, "-feeds", feedsPath, "-corpus", corpusPath}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "trained on 24 tune items") {
		t.Errorf("output %q, want it to count the 24 tune items only", out.String())
	}
	trained, err := os.ReadFile(taxonomyPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topics.Load(trained); err != nil {
		t.Fatalf("trained taxonomy does not load: %v", err)
	}
	if !strings.Contains(string(trained), `"model": {"bias": `) {
		t.Errorf("no model written:\n%s", trained)
	}

	if err := run([]string{"-taxonomy", taxonomyPath, "-clear"}, &out); err != nil {
		t.Fatal(err)
	}
	cleared, err := os.ReadFile(taxonomyPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(cleared) != string(infra.Topics) {
		t.Errorf("-clear did not restore the taxonomy without models")
	}
}

func TestTrainFailsWithoutTuneItems(t *testing.T) {
	dir := t.TempDir()
	taxonomyPath := writeFile(t, dir, "topics.json", infra.Topics)
	feedsPath := writeFile(t, dir, "feeds.json", infra.Feeds)
	corpusPath := writeFile(t, dir, "corpus.json", []byte(`[{"id":"h","society":"esr","title":"T","summary":"S","topics":["ai"],"split":"holdout"}]`))
	err := run([]string{"-taxonomy", taxonomyPath, "-feeds", feedsPath, "-corpus", corpusPath}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "no tune items") {
		t.Errorf("err = %v, want no tune items", err)
	}
}
