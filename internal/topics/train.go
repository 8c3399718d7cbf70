package topics

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Example is one labelled item to train on.
type Example struct {
	// ID places the example in a cross-validation fold (by its hash).
	ID     string
	Text   Text
	Feed   FeedTopics
	Topics []string // the gold topics
}

// TrainOptions are the settings of Train; cross-validation on the corpus's
// tune split chose the defaults (docs/relevance.md).
type TrainOptions struct {
	L2        float64  // regularisation strength; 0 means DefaultL2
	Stopwords []string // nil means DefaultStopwords
}

// DefaultL2 is the regularisation strength cross-validation chose.
const DefaultL2 = 3

// DefaultStopwords are words too common to say what an item is about.
var DefaultStopwords = strings.Fields("0 1 2 3 4 5 6 7 8 9 a about after an and are as at be been but by can for from had has have how in into is it its more new not of on or our over s than that the their these this those to was were what which who will with")

const (
	// A word is a feature only when at least minWordExamples training
	// examples hold it in that field: a word seen once teaches nothing
	// that carries over.
	minWordExamples = 2
	// The fit: full-batch AdaGrad from zero, a fixed number of rounds, so
	// the same examples always give the same weights.
	trainRounds   = 300
	trainRate     = 0.3
	trainFolds    = 5
	weightDigits  = 4
	trainedOnNote = "%d examples (the tune split of internal/topics/corpus), L2 %v, thresholds by %d-fold cross-validation"
)

// thresholdGrid are the probabilities a topic's threshold is chosen from.
var thresholdGrid = []float64{0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7}

// Train fits the model of a taxonomy (its rules; any model it has is
// ignored) on labelled examples: per topic an L2-regularised logistic
// regression, and per topic the probability threshold that gives the best
// micro-F1 over the examples' out-of-fold predictions (5 folds by a hash of
// each example's ID; one threshold for all topics first, then each topic's
// in turn, twice). It is offline and deterministic.
func Train(tax *Taxonomy, examples []Example, opt TrainOptions) (*Model, error) {
	if len(examples) < 2*trainFolds {
		return nil, fmt.Errorf("train: %d examples, want at least %d", len(examples), 2*trainFolds)
	}
	l2 := opt.L2
	if l2 == 0 {
		l2 = DefaultL2
	}
	if l2 < 0 {
		return nil, errors.New("train: L2 must not be negative")
	}
	stopwords := opt.Stopwords
	if stopwords == nil {
		stopwords = DefaultStopwords
	}
	stop := make(map[string]bool, len(stopwords))
	for _, w := range stopwords {
		stop[w] = true
	}
	rules := *tax
	rules.model = nil
	g := NewTagger(&rules)
	n := len(tax.topics)
	xs := make([][]feature, len(examples))
	ys := make([][]bool, len(examples))
	folds := make([]int, len(examples))
	for e, ex := range examples {
		xs[e] = g.ruleFeatures(ex.Text, ex.Feed, func(w string) bool { return stop[w] })
		ys[e] = make([]bool, n)
		for _, id := range ex.Topics {
			i, ok := tax.index[id]
			if !ok {
				return nil, fmt.Errorf("train: example %s: unknown topic %q", ex.ID, id)
			}
			ys[e][i] = true
		}
		h := fnv.New32a()
		h.Write([]byte(ex.ID))
		folds[e] = int(h.Sum32() % trainFolds)
	}

	// Out-of-fold probabilities choose the thresholds.
	oof := make([][]float64, len(examples))
	for k := range trainFolds {
		var train, test []int
		for e := range examples {
			if folds[e] == k {
				test = append(test, e)
			} else {
				train = append(train, e)
			}
		}
		if len(test) == 0 {
			continue
		}
		m := fit(xs, ys, train, n, l2)
		for _, e := range test {
			oof[e], _ = m.probabilities(xs[e])
		}
	}
	thresholds := chooseThresholds(oof, ys, examples, tax)

	all := make([]int, len(examples))
	for e := range all {
		all[e] = e
	}
	m := fit(xs, ys, all, n, l2)
	model := &Model{
		TrainedOn:  fmt.Sprintf(trainedOnNote, len(examples), l2, trainFolds),
		L2:         l2,
		Bias:       roundAll(m.bias),
		Thresholds: thresholds,
		Stopwords:  slices.Sorted(slices.Values(stopwords)),
		Weights:    make(map[string][]float64, len(m.weights)),
	}
	for _, t := range tax.topics {
		model.Topics = append(model.Topics, t.ID)
	}
	for name, row := range m.weights {
		if r := roundAll(row); slices.ContainsFunc(r, func(w float64) bool { return w != 0 }) {
			model.Weights[name] = r
		}
	}
	return model, nil
}

// ruleFeatures are an item's features as Tag computes them for a model.
func (g *Tagger) ruleFeatures(text Text, feed FeedTopics, stopword func(string) bool) []feature {
	found, scores, ruleTopics := g.byRules(text)
	return g.features(text, feed, found, scores, ruleTopics, stopword)
}

// fit trains one logistic regression per topic on the examples listed.
// Words are features only when enough of those examples hold them.
func fit(xs [][]feature, ys [][]bool, examples []int, topics int, l2 float64) *compiledModel {
	count := map[string]int{}
	for _, e := range examples {
		for _, f := range xs[e] {
			count[f.name]++
		}
	}
	var names []string
	for name, c := range count {
		isWord := strings.HasPrefix(name, titleWordPrefix) || strings.HasPrefix(name, summaryWordPrefix)
		if !isWord || c >= minWordExamples {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	index := make(map[string]int, len(names))
	for i, name := range names {
		index[name] = i
	}
	type sparse struct {
		idx []int
		val []float64
	}
	vecs := make([]sparse, len(examples))
	for k, e := range examples {
		fs := slices.Clone(xs[e])
		slices.SortFunc(fs, func(a, b feature) int { return strings.Compare(a.name, b.name) })
		for _, f := range fs {
			if i, ok := index[f.name]; ok {
				vecs[k].idx = append(vecs[k].idx, i)
				vecs[k].val = append(vecs[k].val, f.value)
			}
		}
	}
	m := &compiledModel{bias: make([]float64, topics), weights: make(map[string][]float64, len(names))}
	for _, name := range names {
		m.weights[name] = make([]float64, topics)
	}
	w := make([]float64, len(names))
	g2 := make([]float64, len(names))
	grad := make([]float64, len(names))
	for t := range topics {
		clear(w)
		clear(g2)
		var b, gb2 float64
		for range trainRounds {
			for i := range grad {
				grad[i] = l2 * w[i]
			}
			var gb float64
			for k, e := range examples {
				z := b
				for j, i := range vecs[k].idx {
					z += w[i] * vecs[k].val[j]
				}
				d := 1 / (1 + math.Exp(-z))
				if ys[e][t] {
					d--
				}
				gb += d
				for j, i := range vecs[k].idx {
					grad[i] += d * vecs[k].val[j]
				}
			}
			for i, gi := range grad {
				if gi == 0 {
					continue
				}
				g2[i] += gi * gi
				w[i] -= trainRate * gi / (math.Sqrt(g2[i]) + 1e-8)
			}
			gb2 += gb * gb
			b -= trainRate * gb / (math.Sqrt(gb2) + 1e-8)
		}
		m.bias[t] = b
		for i, name := range names {
			m.weights[name][t] = w[i]
		}
	}
	return m
}

// chooseThresholds picks the thresholds that give the best micro-F1 of the
// examples' topics as Tag would decide them from the probabilities given.
func chooseThresholds(p [][]float64, ys [][]bool, examples []Example, tax *Taxonomy) []float64 {
	n := len(tax.topics)
	th := make([]float64, n)
	microF1 := func() float64 {
		var tp, fp, fn int
		for e, ex := range examples {
			got := make([]bool, n)
			for _, i := range chosen(p[e], th, tax.maxTopics) {
				got[i] = true
			}
			ids := slices.Clone(ex.Feed.Always)
			if !slices.Contains(got, true) && len(ids) == 0 {
				ids = ex.Feed.Defaults
				if len(ids) == 0 {
					ids = []string{tax.fallback}
				}
			}
			for _, id := range ids {
				if i, ok := tax.index[id]; ok {
					got[i] = true
				}
			}
			for i := range n {
				switch {
				case got[i] && ys[e][i]:
					tp++
				case got[i]:
					fp++
				case ys[e][i]:
					fn++
				}
			}
		}
		return 2 * float64(tp) / float64(max(2*tp+fp+fn, 1))
	}
	best, bestT := -1.0, 0.5
	for _, t := range thresholdGrid {
		for i := range th {
			th[i] = t
		}
		if f := microF1(); f > best+1e-9 {
			best, bestT = f, t
		}
	}
	for i := range th {
		th[i] = bestT
	}
	for range 2 {
		for i := range th {
			keep, bestI := th[i], microF1()
			for _, t := range thresholdGrid {
				th[i] = t
				if f := microF1(); f > bestI+1e-9 {
					bestI, keep = f, t
				}
			}
			th[i] = keep
		}
	}
	return th
}

// roundAll rounds weights to weightDigits decimals, so the taxonomy file
// stays readable; the quality test measures the rounded model.
func roundAll(ws []float64) []float64 {
	out := make([]float64, len(ws))
	for i, w := range ws {
		out[i], _ = strconv.ParseFloat(strconv.FormatFloat(w, 'f', weightDigits, 64), 64)
		if out[i] == 0 {
			out[i] = 0 // no -0 in the file
		}
	}
	return out
}
