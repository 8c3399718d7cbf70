package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/topics"
)

// TestTrainWritesTheCommittedModel: training on the embedded corpus
// rewrites a rules-only taxonomy into exactly infra/topics.json (the model
// is reproducible), and -clear gives the rules-only file back.
func TestTrainWritesTheCommittedModel(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	dir := t.TempDir()
	rulesOnly, err := topics.WithModel(infra.Topics, nil)
	if err != nil {
		t.Fatal(err)
	}
	taxonomyPath := filepath.Join(dir, "topics.json")
	feedsPath := filepath.Join(dir, "feeds.json")
	for path, data := range map[string][]byte{taxonomyPath: rulesOnly, feedsPath: infra.Feeds} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var out bytes.Buffer
	if err := run([]string{"-taxonomy", taxonomyPath, "-feeds", feedsPath}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "trained on 291 tune items") {
		t.Errorf("output = %q", out.String())
	}
	trained, err := os.ReadFile(taxonomyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(trained, infra.Topics) {
		t.Error("training gave another model than infra/topics.json holds; run go run ./cmd/radiogram-tagger-train and measure")
	}

	if err := run([]string{"-taxonomy", taxonomyPath, "-clear"}, &out); err != nil {
		t.Fatal(err)
	}
	cleared, err := os.ReadFile(taxonomyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cleared, rulesOnly) {
		t.Error("-clear did not give the rules-only taxonomy back")
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "topics.json")
	if err := os.WriteFile(bad, []byte(`{"threshold": 0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"-taxonomy", bad, "-feeds", filepath.Join(dir, "none.json")}, &out); err == nil || !strings.Contains(err.Error(), "invalid taxonomy") {
		t.Errorf("error = %v, want invalid taxonomy", err)
	}
	if err := run([]string{"-taxonomy", filepath.Join(dir, "missing.json")}, &out); err == nil || !strings.Contains(err.Error(), "read taxonomy") {
		t.Errorf("error = %v, want read taxonomy", err)
	}
}
