// Package corpus holds Radiogram's labelled news corpus: real items of
// radiology societies' and imaging journals' news pages, each labelled with
// the topics a reader of that topic would want it for (LABELLING.md says
// how). The tagger is tuned on the "tune" split and only measured on the
// "holdout" split.
package corpus

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// The splits.
const (
	Tune    = "tune"
	Holdout = "holdout"
)

// Item is one labelled news item.
type Item struct {
	ID string `json:"id"`
	// Society is the publisher: a registry society id (infra/feeds.json)
	// when it has one, else a short lower-case name of the site.
	Society    string   `json:"society"`
	Source     string   `json:"source"` // the page the item was read from
	Published  string   `json:"published,omitempty"`
	Title      string   `json:"title"`
	Summary    string   `json:"summary"`
	Categories []string `json:"categories,omitempty"`
	Topics     []string `json:"topics"` // the gold labels
	Split      string   `json:"split"`
	Note       string   `json:"note,omitempty"` // why, where the labels are not obvious
}

//go:embed corpus.json
var corpusJSON []byte

// Items parses the embedded corpus.
func Items() ([]Item, error) {
	var items []Item
	if err := json.Unmarshal(corpusJSON, &items); err != nil {
		return nil, fmt.Errorf("parse corpus: %w", err)
	}
	return items, nil
}
