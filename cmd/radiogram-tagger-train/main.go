// Command radiogram-tagger-train fits the tagger's per-topic models
// (logistic regression over the rules' evidence) on the labelled corpus's
// tune split, and writes them into the taxonomy file. It runs offline: the
// corpus is embedded in the binary, and nothing is downloaded.
//
//	go run ./cmd/radiogram-tagger-train            # train, write infra/topics.json
//	go run ./cmd/radiogram-tagger-train -clear     # remove the models again
//
// Measure before keeping the result: go test ./internal/topics -run Quality -v.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/topics"
	"github.com/radiogram/radiogram/internal/topics/corpus"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "radiogram-tagger-train:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	flags := flag.NewFlagSet("radiogram-tagger-train", flag.ContinueOnError)
	taxonomyPath := flags.String("taxonomy", "infra/topics.json", "taxonomy file to read and rewrite")
	feedsPath := flags.String("feeds", "infra/feeds.json", "feed registry whose settings apply to the corpus's societies")
	corpusPath := flags.String("corpus", "", "labelled corpus (default: the embedded internal/topics/corpus)")
	l2 := flags.Float64("l2", topics.DefaultL2, "pull of each weight towards its rule's hand-written weight")
	clear := flags.Bool("clear", false, "remove every model instead of training")
	if err := flags.Parse(args); err != nil {
		return err
	}

	data, err := os.ReadFile(*taxonomyPath)
	if err != nil {
		return err
	}
	if *clear {
		out, err := topics.WithoutModels(data)
		if err != nil {
			return err
		}
		return os.WriteFile(*taxonomyPath, out, 0o644)
	}
	tax, err := topics.Load(data)
	if err != nil {
		return err
	}
	registryData, err := os.ReadFile(*feedsPath)
	if err != nil {
		return err
	}
	reg, err := feeds.ParseRegistry(registryData, func(id string) bool { _, ok := tax.Lookup(id); return ok })
	if err != nil {
		return err
	}
	items, err := loadCorpus(*corpusPath)
	if err != nil {
		return err
	}

	bySociety := reg.TopicsBySociety()
	var examples []topics.Example
	for _, it := range items {
		if it.Split != corpus.Tune {
			continue // the holdout only measures
		}
		examples = append(examples, topics.Example{
			Text:   topics.Text{Title: it.Title, Summary: it.Summary, Categories: it.Categories},
			Feed:   bySociety[it.Society],
			Topics: it.Topics,
		})
	}
	if len(examples) == 0 {
		return fmt.Errorf("the corpus has no %s items", corpus.Tune)
	}
	trained, fits, err := topics.Train(data, examples, topics.TrainOptions{L2: *l2})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "trained on %d %s items\n", len(examples), corpus.Tune)
	for _, f := range fits {
		fmt.Fprintf(out, "%-12s %4d examples %4d positive  %s\n", f.ID, f.Examples, f.Positives, f.Skipped)
	}
	return os.WriteFile(*taxonomyPath, trained, 0o644)
}

func loadCorpus(path string) ([]corpus.Item, error) {
	if path == "" {
		return corpus.Items()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var items []corpus.Item
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("parse corpus %s: %w", path, err)
	}
	return items, nil
}
