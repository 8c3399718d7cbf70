package topics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Example is one labelled item to train on.
type Example struct {
	Text   Text
	Feed   FeedTopics
	Topics []string // the gold topics
}

// TrainOptions tune the fit; the zero value gives the defaults.
type TrainOptions struct {
	// L2 pulls each weight towards the rule's hand-written weight over the
	// topic's threshold (and the bias towards -1): the model the rules
	// already are. A rule the examples rarely show keeps that weight. 0
	// means DefaultL2.
	L2 float64
}

// DefaultL2 is TrainOptions.L2's default.
const DefaultL2 = 2

// TopicFit reports one topic's fit.
type TopicFit struct {
	ID                  string
	Examples, Positives int
	// Skipped says why the topic got no model (too few examples, or none of
	// one class); it keeps its rules' weights.
	Skipped string
}

const (
	minExamples  = 5
	newtonRounds = 50
)

// Train fits a logistic regression per topic over its rules' evidence (the
// same per-rule, field-weighted evidence Tag adds up) and returns the
// taxonomy with each topic's model set, in Format's layout. It is offline
// and deterministic: the same file and examples give the same weights.
//
// A topic learns only from the examples where one of its rules matched,
// since Tag never tags a topic on the bias alone, and not from those whose
// feed always gives it the topic. Models already in data are replaced.
func Train(data []byte, examples []Example, opt TrainOptions) ([]byte, []TopicFit, error) {
	var f taxonomyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, nil, fmt.Errorf("parse taxonomy: %w", err)
	}
	for i := range f.Topics {
		f.Topics[i].Model = nil
	}
	stripped, err := json.Marshal(f)
	if err != nil {
		return nil, nil, fmt.Errorf("encode taxonomy: %w", err)
	}
	tax, err := Load(stripped)
	if err != nil {
		return nil, nil, err
	}
	if opt.L2 == 0 {
		opt.L2 = DefaultL2
	}
	if opt.L2 < 0 {
		return nil, nil, errors.New("l2 must be positive")
	}
	g := NewTagger(tax)
	evidence := make([][]float64, len(examples))
	for i, ex := range examples {
		counts := g.count(ex.Text)
		evidence[i] = g.evidence(&counts)
	}

	var fits []TopicFit
	for i := range f.Topics {
		tf := &f.Topics[i]
		topic := tax.index[tf.ID]
		var ruleIndex []int
		for r, cr := range g.rules {
			if cr.topic == topic {
				ruleIndex = append(ruleIndex, r)
			}
		}
		fit := TopicFit{ID: tf.ID}
		var xs [][]float64
		var ys []float64
		for e, ex := range examples {
			if slices.Contains(ex.Feed.Always, tf.ID) {
				continue
			}
			x := make([]float64, len(ruleIndex))
			any := false
			for j, r := range ruleIndex {
				x[j] = evidence[e][r]
				any = any || x[j] > 0
			}
			if !any {
				continue
			}
			y := 0.0
			if slices.Contains(ex.Topics, tf.ID) {
				y = 1
				fit.Positives++
			}
			xs, ys = append(xs, x), append(ys, y)
		}
		fit.Examples = len(xs)
		switch {
		case fit.Examples < minExamples:
			fit.Skipped = fmt.Sprintf("%d examples, fewer than %d", fit.Examples, minExamples)
		case fit.Positives == 0 || fit.Positives == fit.Examples:
			fit.Skipped = "examples of one class only"
		}
		fits = append(fits, fit)
		if fit.Skipped != "" {
			continue
		}
		threshold := tax.thresholds[topic]
		prior := make([]float64, len(ruleIndex)+1)
		prior[0] = -1
		for j, r := range tf.Rules {
			prior[j+1] = r.Weight / threshold
		}
		theta := fitLogistic(xs, ys, prior, opt.L2)
		m := &Model{Bias: round3(theta[0]), Weights: make(map[string]float64, len(tf.Rules))}
		for j, r := range tf.Rules {
			m.Weights[r.Term] = round3(theta[j+1])
		}
		tf.Model = m
	}
	out := f.format()
	if _, err := Load(out); err != nil {
		return nil, nil, fmt.Errorf("trained taxonomy: %w", err)
	}
	return out, fits, nil
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// fitLogistic minimises the log loss of sigmoid(θ₀ + θ·x) plus
// l2/2·|θ - prior|² by Newton's method, which converges in a few rounds
// on problems this small and takes no learning rate.
func fitLogistic(xs [][]float64, ys []float64, prior []float64, l2 float64) []float64 {
	k := len(prior)
	theta := slices.Clone(prior)
	for range newtonRounds {
		grad := make([]float64, k)
		hess := make([][]float64, k)
		for a := range hess {
			hess[a] = make([]float64, k)
			grad[a] = l2 * (theta[a] - prior[a])
			hess[a][a] = l2
		}
		for i, x := range xs {
			z := theta[0]
			for j, v := range x {
				z += theta[j+1] * v
			}
			p := 1 / (1 + math.Exp(-z))
			d, w := p-ys[i], p*(1-p)
			feature := func(a int) float64 {
				if a == 0 {
					return 1
				}
				return x[a-1]
			}
			for a := range k {
				fa := feature(a)
				if fa == 0 {
					continue
				}
				grad[a] += d * fa
				for c := range k {
					hess[a][c] += w * fa * feature(c)
				}
			}
		}
		step := solve(hess, grad)
		change := 0.0
		for a := range theta {
			theta[a] -= step[a]
			change = max(change, math.Abs(step[a]))
		}
		if change < 1e-9 {
			break
		}
	}
	return theta
}

// solve solves m·x = v by Gaussian elimination with partial pivoting; m is
// positive definite here (the L2 term), so a pivot is never zero.
func solve(m [][]float64, v []float64) []float64 {
	n := len(v)
	a := make([][]float64, n)
	for i := range a {
		a[i] = append(slices.Clone(m[i]), v[i])
	}
	for col := range n {
		pivot := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[pivot][col]) {
				pivot = r
			}
		}
		a[col], a[pivot] = a[pivot], a[col]
		for r := col + 1; r < n; r++ {
			factor := a[r][col] / a[col][col]
			for c := col; c <= n; c++ {
				a[r][c] -= factor * a[col][c]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		sum := a[r][n]
		for c := r + 1; c < n; c++ {
			sum -= a[r][c] * x[c]
		}
		x[r] = sum / a[r][r]
	}
	return x
}

// WithoutModels returns the taxonomy with every model removed, in Format's
// layout: the rules' own weights decide again.
func WithoutModels(data []byte) ([]byte, error) {
	var f taxonomyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse taxonomy: %w", err)
	}
	for i := range f.Topics {
		f.Topics[i].Model = nil
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("invalid taxonomy: %w", err)
	}
	return f.format(), nil
}
