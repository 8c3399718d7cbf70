package topics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/radiogram/radiogram/internal/items"
)

// Model is a learned layer over the rules: per topic, a logistic regression
// over what the rules found in an item and the item's own words, trained
// offline on the labelled corpus's tune split by radiogram-tagger-train and
// stored in the taxonomy file as data (weights by feature name). With a
// model, it decides an item's topics; the rules still give the evidence and
// the reasons. Nothing is downloaded at run time.
//
// The features of an item (see Tagger.features) are named:
//
//	rule:<term>@<field>  a rule matched in the title, summary or category
//	rules:<topic>        the rules alone would tag the topic
//	score:<topic>        the topic's rule score over its threshold, in [-1/3, 1]
//	always:<topic>       the feed gives every item the topic
//	default:<topic>      the feed's default topic
//	title:<word>         a word of the title (stemmed as the rules stem)
//	summary:<word>       a word of the summary
type Model struct {
	// TrainedOn says which examples and settings gave the weights.
	TrainedOn string `json:"trained_on"`
	// L2 is the regularisation strength the weights were fitted with.
	L2 float64 `json:"l2"`
	// Topics gives the order of Bias, Thresholds and each row of Weights.
	Topics []string  `json:"topics"`
	Bias   []float64 `json:"bias"`
	// Thresholds are the probabilities each topic needs, chosen by
	// cross-validation on the training examples.
	Thresholds []float64 `json:"thresholds"`
	// Stopwords are words that are never features.
	Stopwords []string `json:"stopwords"`
	// Weights holds, per feature name, one weight per topic.
	Weights map[string][]float64 `json:"weights"`
}

// compiledModel is a Model in the taxonomy's topic order.
type compiledModel struct {
	bias, thresholds []float64
	weights          map[string][]float64
	stopwords        map[string]bool
}

func (m *Model) validate(ids []string) error {
	var errs []error
	if len(m.Topics) != len(ids) {
		errs = append(errs, fmt.Errorf("%d topics, the taxonomy has %d", len(m.Topics), len(ids)))
	}
	for _, id := range m.Topics {
		if !slices.Contains(ids, id) {
			errs = append(errs, fmt.Errorf("topic %q: not in the taxonomy", id))
		}
	}
	if len(m.Bias) != len(m.Topics) || len(m.Thresholds) != len(m.Topics) {
		errs = append(errs, fmt.Errorf("%d biases and %d thresholds for %d topics", len(m.Bias), len(m.Thresholds), len(m.Topics)))
	}
	for i, t := range m.Thresholds {
		if !(t > 0 && t < 1) {
			errs = append(errs, fmt.Errorf("threshold %d (%v): must be between 0 and 1", i, t))
		}
	}
	for name, row := range m.Weights {
		if len(row) != len(m.Topics) {
			errs = append(errs, fmt.Errorf("weights of %q: %d, want one per topic (%d)", name, len(row), len(m.Topics)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	return nil
}

// compile reorders a validated model into the taxonomy's topic order.
func (m *Model) compile(index map[string]int) *compiledModel {
	n := len(index)
	order := make([]int, len(m.Topics)) // model position → taxonomy index
	for i, id := range m.Topics {
		order[i] = index[id]
	}
	reorder := func(row []float64) []float64 {
		out := make([]float64, n)
		for i, v := range row {
			out[order[i]] = v
		}
		return out
	}
	c := &compiledModel{
		bias:       reorder(m.Bias),
		thresholds: reorder(m.Thresholds),
		weights:    make(map[string][]float64, len(m.Weights)),
		stopwords:  make(map[string]bool, len(m.Stopwords)),
	}
	for name, row := range m.Weights {
		c.weights[name] = reorder(row)
	}
	for _, w := range m.Stopwords {
		c.stopwords[w] = true
	}
	return c
}

// feature is one named feature of an item and its value.
type feature struct {
	name  string
	value float64
}

// The prefixes of words' feature names, by field.
const (
	titleWordPrefix   = "title:"
	summaryWordPrefix = "summary:"
)

// features names what the rules found in an item (its tally, topic scores
// and the topics the rules alone give), its feed's topics and its words.
func (g *Tagger) features(text Text, feed FeedTopics, found *tally, scores []float64, ruleTopics []int, stopwords func(string) bool) []feature {
	tax := g.taxonomy
	seen := make(map[string]bool, 64)
	out := make([]feature, 0, 64)
	add := func(name string, value float64) {
		if !seen[name] {
			seen[name] = true
			out = append(out, feature{name, value})
		}
	}
	for _, rc := range found.found {
		for f, n := range rc.n {
			if n > 0 {
				add("rule:"+g.rules[rc.rule].term+"@"+fieldNames[f], 1)
			}
		}
	}
	for _, i := range ruleTopics {
		add("rules:"+tax.topics[i].ID, 1)
	}
	for i, s := range scores {
		if s != 0 {
			add("score:"+tax.topics[i].ID, math.Max(-1, math.Min(s/tax.thresholds[i], 3))/3)
		}
	}
	for _, id := range feed.Always {
		add("always:"+id, 1)
	}
	for _, id := range feed.Defaults {
		add("default:"+id, 1)
	}
	for _, w := range Words(text.Title) {
		if len(w) >= 2 && !stopwords(w) {
			add(titleWordPrefix+w, 1)
		}
	}
	for _, w := range Words(lead(text.Summary)) {
		if len(w) >= 2 && !stopwords(w) {
			add(summaryWordPrefix+w, 1)
		}
	}
	return out
}

// probabilities are the model's per-topic probabilities for an item's
// features, and each feature's weights (nil for a feature the model lacks).
func (m *compiledModel) probabilities(features []feature) (p []float64, rows [][]float64) {
	z := slices.Clone(m.bias)
	rows = make([][]float64, len(features))
	for k, f := range features {
		row := m.weights[f.name]
		rows[k] = row
		for i, w := range row {
			z[i] += w * f.value
		}
	}
	for i, v := range z {
		z[i] = 1 / (1 + math.Exp(-v))
	}
	return z, rows
}

// chosen lists the topics whose probability reaches their threshold, most
// probable first (equal ones in taxonomy order), at most max.
func chosen(p, thresholds []float64, max int) []int {
	var out []int
	for i, v := range p {
		if v >= thresholds[i] {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
	return out[:min(len(out), max)]
}

// modelMatched is a model topic's reason: its rules' terms as without a
// model, then the item's words that weigh most for the topic, with their
// field, at most maxMatched in all. rows are the features' weights.
func (g *Tagger) modelMatched(topic int, found *tally, features []feature, rows [][]float64) []items.Match {
	out := g.matched(topic, found)
	if len(out) >= maxMatched {
		return out
	}
	// A word the topic's rules already name in that field is not repeated.
	named := make([]items.Match, len(out))
	for i, m := range out {
		named[i] = items.Match{Term: strings.Join(Words(m.Term), " "), Field: m.Field}
	}
	type contribution struct {
		match items.Match
		value float64
	}
	var words []contribution
	for k, f := range features {
		if rows[k] == nil || rows[k][topic]*f.value <= 0 {
			continue
		}
		var m items.Match
		if term, ok := strings.CutPrefix(f.name, titleWordPrefix); ok {
			m = items.Match{Term: term, Field: fieldNames[fieldTitle]}
		} else if term, ok := strings.CutPrefix(f.name, summaryWordPrefix); ok {
			m = items.Match{Term: term, Field: fieldNames[fieldSummary]}
		} else {
			continue
		}
		if !slices.Contains(named, m) {
			words = append(words, contribution{m, rows[k][topic] * f.value})
		}
	}
	// The strongest first (the earlier of equals): a few picks, not a sort.
	for len(out) < maxMatched && len(words) > 0 {
		best := 0
		for i, c := range words {
			if c.value > words[best].value {
				best = i
			}
		}
		out = append(out, words[best].match)
		words = slices.Delete(words, best, best+1)
	}
	return out
}
