// Package taggerreport measures the topic tagger against what people said
// an item is about: every item an admin corrected (the admin's topics are
// its labels) and the labelled corpus (internal/topics/corpus, per split).
// It prints precision, recall and F1, the rules behind the most
// corrections (a rule that gave a topic the admin then removed), and the
// topics admins most often had to add. `make tagger-report` runs it.
package taggerreport

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/topics/corpus"
)

// Tag is the tagger under test: the topic ids it gives the example's item,
// as ingest would tag it (its society's feed settings apply).
type Tag func(Example) []string

// CorrectionSource reads every correction, newest first
// (*dynamo.CorrectionStore).
type CorrectionSource interface {
	AllCorrections(ctx context.Context) ([]admin.Correction, error)
}

// Example is one labelled item: its text and the topics it should have.
type Example struct {
	Society        string
	Title, Summary string
	Categories     []string
	Gold           []string
}

// Counts tallies item×topic decisions.
type Counts = corpus.Counts

// Score is how the tagger did on a set of examples.
type Score struct {
	Items int
	// Exact counts the items whose topics were exactly the labels.
	Exact    int
	Micro    Counts
	PerTopic map[string]Counts
}

// Measure tags each example and compares its topics with the labels.
func Measure(examples []Example, tag Tag) Score {
	s := Score{Items: len(examples), PerTopic: map[string]Counts{}}
	for _, ex := range examples {
		got := tag(ex)
		exact := true
		for _, id := range union(got, ex.Gold) {
			inGot, inGold := slices.Contains(got, id), slices.Contains(ex.Gold, id)
			c := s.PerTopic[id]
			c.Add(inGold, inGot)
			s.Micro.Add(inGold, inGot)
			exact = exact && inGot == inGold
			s.PerTopic[id] = c
		}
		if exact {
			s.Exact++
		}
	}
	return s
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, id := range b {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Latest keeps each item's latest correction: corrections come newest
// first, and a later one overrules an earlier.
func Latest(corrections []admin.Correction) []admin.Correction {
	seen := map[string]bool{}
	var out []admin.Correction
	for _, c := range corrections {
		if !seen[c.ItemID] {
			seen[c.ItemID] = true
			out = append(out, c)
		}
	}
	return out
}

// FromCorrections makes each correction a labelled example: the item's
// text as the admin saw it, labelled with the admin's topics.
func FromCorrections(corrections []admin.Correction) []Example {
	out := make([]Example, len(corrections))
	for i, c := range corrections {
		out[i] = Example{Society: c.Society, Title: c.Title, Summary: c.Summary, Gold: topicIDs(c.After)}
	}
	return out
}

// FromCorpus selects the corpus items of one split as examples.
func FromCorpus(list []corpus.Item, split string) []Example {
	var out []Example
	for _, it := range list {
		if it.Split == split {
			out = append(out, Example{Society: it.Society, Title: it.Title, Summary: it.Summary, Categories: it.Categories, Gold: it.Topics})
		}
	}
	return out
}

func topicIDs(list []items.TopicScore) []string {
	ids := make([]string, len(list))
	for i, t := range list {
		ids[i] = t.ID
	}
	return ids
}

// Tally is one line of a ranking: what, and in how many corrections.
type Tally struct {
	What string
	N    int
}

// Blame ranks the rules behind corrections: for each topic an admin
// removed, what had given it (each matched term, the feed, or the
// fallback), counted once per correction.
func Blame(corrections []admin.Correction) []Tally {
	n := map[string]int{}
	for _, c := range corrections {
		kept := topicIDs(c.After)
		seen := map[string]bool{}
		for _, t := range c.Before {
			if slices.Contains(kept, t.ID) {
				continue
			}
			var causes []string
			switch {
			case t.Source == items.SourceRules && len(t.Matched) > 0:
				for _, m := range t.Matched {
					causes = append(causes, fmt.Sprintf("%s ← %q (%s)", t.ID, m.Term, m.Field))
				}
			case t.Source == items.SourceFeed:
				causes = append(causes, t.ID+" ← the feed's topics")
			case t.Source == items.SourceFallback:
				causes = append(causes, t.ID+" ← the fallback")
			default:
				causes = append(causes, t.ID+" ← rules (terms not recorded)")
			}
			for _, cause := range causes {
				if !seen[cause] {
					seen[cause] = true
					n[cause]++
				}
			}
		}
	}
	return ranked(n)
}

// Missed ranks the topics admins added: the tagger had not given them.
func Missed(corrections []admin.Correction) []Tally {
	n := map[string]int{}
	for _, c := range corrections {
		before := topicIDs(c.Before)
		for _, t := range c.After {
			if !slices.Contains(before, t.ID) {
				n[t.ID]++
			}
		}
	}
	return ranked(n)
}

func ranked(n map[string]int) []Tally {
	out := make([]Tally, 0, len(n))
	for what, count := range n {
		out = append(out, Tally{What: what, N: count})
	}
	slices.SortFunc(out, func(a, b Tally) int { return cmp.Or(cmp.Compare(b.N, a.N), strings.Compare(a.What, b.What)) })
	return out
}

// Options are a report's inputs.
type Options struct {
	// Corrections is nil when no store is configured: the report then
	// says that it did not read them.
	Corrections CorrectionSource
	Corpus      []corpus.Item
	Tag         Tag
	// Top bounds the rankings; 0 means 10.
	Top int
}

// Write reads every correction and prints the report to w.
func Write(ctx context.Context, w io.Writer, o Options) error {
	top := cmp.Or(o.Top, 10)
	p := &printer{w: w}
	p.line("Tagger report")
	p.line("")
	if o.Corrections == nil {
		p.line("Corrections: not read (no store configured: set RADIOGRAM_ITEMS_TABLE and RADIOGRAM_ADMIN_TABLE).")
	} else {
		all, err := o.Corrections.AllCorrections(ctx)
		if err != nil {
			return fmt.Errorf("read corrections: %w", err)
		}
		latest := Latest(all)
		p.line("Corrections: %d, of %d items (each item's latest correction is its labels).", len(all), len(latest))
		if len(latest) > 0 {
			p.score(Measure(FromCorrections(latest), o.Tag))
			p.line("")
			p.line("Rules behind the most corrections (a topic they gave, the admin removed):")
			p.tallies(Blame(latest), top)
			p.line("")
			p.line("Topics admins added most often (the tagger missed them):")
			p.tallies(Missed(latest), top)
		}
	}
	p.line("")
	p.line("Labelled corpus (internal/topics/corpus): %d items.", len(o.Corpus))
	for _, split := range []string{corpus.Tune, corpus.Holdout} {
		examples := FromCorpus(o.Corpus, split)
		p.line("")
		p.line("Split %s: %d items.", split, len(examples))
		if len(examples) > 0 {
			p.score(Measure(examples, o.Tag))
		}
	}
	return p.err
}

// printer writes lines, keeping the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *printer) score(s Score) {
	p.line("  overall  precision %.2f  recall %.2f  micro-F1 %.2f  exactly right %d of %d",
		s.Micro.Precision(), s.Micro.Recall(), s.Micro.F1(), s.Exact, s.Items)
	p.line("  %-14s %9s %6s %5s %4s %4s %4s", "topic", "precision", "recall", "F1", "tp", "fp", "fn")
	for _, id := range slices.Sorted(maps.Keys(s.PerTopic)) {
		c := s.PerTopic[id]
		p.line("  %-14s %9.2f %6.2f %5.2f %4d %4d %4d", id, c.Precision(), c.Recall(), c.F1(), c.TruePos, c.FalsePos, c.FalseNeg)
	}
}

func (p *printer) tallies(list []Tally, top int) {
	if len(list) == 0 {
		p.line("  none")
	}
	for _, t := range list[:min(top, len(list))] {
		p.line("  %3d  %s", t.N, t.What)
	}
}
