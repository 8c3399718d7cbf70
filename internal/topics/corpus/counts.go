package corpus

// Counts tallies item×topic decisions of a tagger against labels: the
// quality test and `make tagger-report` score with it.
type Counts struct{ TruePos, FalsePos, FalseNeg int }

// Add counts one decision: whether the labels (gold) and the tagger (got)
// give the topic.
func (c *Counts) Add(gold, got bool) {
	switch {
	case gold && got:
		c.TruePos++
	case got:
		c.FalsePos++
	case gold:
		c.FalseNeg++
	}
}

func (c Counts) Precision() float64 { return ratio(c.TruePos, c.TruePos+c.FalsePos) }
func (c Counts) Recall() float64    { return ratio(c.TruePos, c.TruePos+c.FalseNeg) }

// Support is how many labels give the topic.
func (c Counts) Support() int { return c.TruePos + c.FalseNeg }

// F1 is the harmonic mean of precision and recall, 0 when both are.
func (c Counts) F1() float64 {
	p, r := c.Precision(), c.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
