// Command radiogram-tagger-train fits the tagger's model (per-topic logistic
// regression over the rules' findings, the feed's topics and the item's
// words) on the labelled corpus's tune split, and writes it into the
// taxonomy file as data. It runs offline: the corpus is embedded in the
// binary and nothing is downloaded; the same files give the same model.
//
//	go run ./cmd/radiogram-tagger-train            # train, rewrite infra/topics.json
//	go run ./cmd/radiogram-tagger-train -clear     # remove the model: rules alone
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
	l2 := flags.Float64("l2", topics.DefaultL2, "L2 regularisation strength")
	clearModel := flags.Bool("clear", false, "remove the model instead of training")
	if err := flags.Parse(args); err != nil {
		return err
	}

	data, err := os.ReadFile(*taxonomyPath)
	if err != nil {
		return fmt.Errorf("read taxonomy: %w", err)
	}
	if *clearModel {
		cleared, err := topics.WithModel(data, nil)
		if err != nil {
			return err
		}
		return os.WriteFile(*taxonomyPath, cleared, 0o644)
	}
	tax, err := topics.Load(data)
	if err != nil {
		return err
	}
	registryData, err := os.ReadFile(*feedsPath)
	if err != nil {
		return fmt.Errorf("read feed registry: %w", err)
	}
	reg, err := feeds.ParseRegistry(registryData, func(id string) bool { _, ok := tax.Lookup(id); return ok })
	if err != nil {
		return err
	}
	list, err := loadCorpus(*corpusPath)
	if err != nil {
		return err
	}

	bySociety := reg.TopicsBySociety()
	var examples []topics.Example
	for _, it := range list {
		if it.Split != corpus.Tune {
			continue // the holdout only measures
		}
		examples = append(examples, topics.Example{
			ID:     it.ID,
			Text:   topics.Text{Title: it.Title, Summary: it.Summary, Categories: it.Categories},
			Feed:   bySociety[it.Society],
			Topics: it.Topics,
		})
	}
	model, err := topics.Train(tax, examples, topics.TrainOptions{L2: *l2})
	if err != nil {
		return err
	}
	trained, err := topics.WithModel(data, model)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "trained on %d %s items: %d features\n", len(examples), corpus.Tune, len(model.Weights))
	for i, id := range model.Topics {
		fmt.Fprintf(out, "%-12s threshold %.2f\n", id, model.Thresholds[i])
	}
	return os.WriteFile(*taxonomyPath, trained, 0o644)
}

func loadCorpus(path string) ([]corpus.Item, error) {
	if path == "" {
		return corpus.Items()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	var list []corpus.Item
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("parse corpus %s: %w", path, err)
	}
	return list, nil
}
