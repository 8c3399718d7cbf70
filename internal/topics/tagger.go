package topics

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/radiogram/radiogram/internal/items"
)

const (
	// maxTextBytes bounds the work per item: the lead of a long article says
	// what it is about, and its tail adds mostly noise.
	maxTextBytes = 4000

	// unscoredConfidence is the score of a topic given from the feed's
	// defaults or the fallback: below any topic a rule actually matched,
	// which scores at least 0.5.
	unscoredConfidence = 0.1
)

// Tagger assigns topics to items. It is built once from a taxonomy and is
// safe for concurrent use.
type Tagger struct {
	taxonomy *Taxonomy
	rules    []compiledRule
	// byWord holds the matchers whose first word must equal a text word
	// (after stemming); byPrefix those whose first word is a prefix pattern.
	byWord       map[string][]matcher
	byPrefix     map[string][]matcher
	prefixLength []int
}

type compiledRule struct {
	topic  int
	weight float64
}

// matcher recognises one spelling of a rule: its first word is the map key
// it is filed under, rest the words that must follow.
type matcher struct {
	rest []word
	rule int
}

// word is one word of a pattern: lower-case and stemmed, or a raw prefix.
type word struct {
	text   string
	prefix bool
}

// token is one word of an item's text.
type token struct {
	raw  string
	stem string
}

func (w word) matches(t token) bool {
	if w.prefix {
		return strings.HasPrefix(t.raw, w.text)
	}
	return w.text == t.stem
}

// NewTagger compiles the taxonomy's rules into matchers.
func NewTagger(t *Taxonomy) *Tagger {
	g := &Tagger{
		taxonomy: t,
		byWord:   make(map[string][]matcher),
		byPrefix: make(map[string][]matcher),
	}
	for topic, rules := range t.rules {
		for _, r := range rules {
			ruleIndex := len(g.rules)
			g.rules = append(g.rules, compiledRule{topic: topic, weight: r.Weight})
			for _, term := range append([]string{r.Term}, r.Variants...) {
				// Load validated every term, so the error cannot happen.
				words, _ := parsePattern(term)
				first, m := words[0], matcher{rest: words[1:], rule: ruleIndex}
				if first.prefix {
					g.byPrefix[first.text] = append(g.byPrefix[first.text], m)
					if !slices.Contains(g.prefixLength, len(first.text)) {
						g.prefixLength = append(g.prefixLength, len(first.text))
					}
				} else {
					g.byWord[first.text] = append(g.byWord[first.text], m)
				}
			}
		}
	}
	return g
}

// Tag scores an item's title and plain text against every topic; a rule
// matched in the title weighs more than one matched in the text.
//
// The result holds the topics that reach both the taxonomy's threshold and
// its relative threshold (a share of the best topic's score), best first,
// at most the taxonomy's max_topics. Scores are in (0,1): raw/(raw+
// threshold), so a topic that just reaches the threshold scores 0.5 and
// stronger evidence approaches 1.
//
// The result is never empty: when no topic reaches the threshold, the item
// gets defaults (the feed's own topics; unknown ids are ignored), else the
// taxonomy's fallback.
func (g *Tagger) Tag(title, text string, defaults []string) []items.TopicScore {
	tax := g.taxonomy
	if len(text) > maxTextBytes {
		cut := maxTextBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	inTitle := g.countMatches(title)
	inText := g.countMatches(text)

	scores := make([]float64, len(tax.topics))
	for i, r := range g.rules {
		if inTitle[i] > 0 {
			scores[r.topic] += r.weight * tax.titleWeight
		}
		if inText[i] > 0 {
			scores[r.topic] += r.weight * repetition(inText[i])
		}
	}

	cutoff := max(tax.threshold, tax.relativeThreshold*slices.Max(scores))
	var tagged []items.TopicScore
	for i, s := range scores {
		if s >= cutoff {
			tagged = append(tagged, items.TopicScore{ID: tax.topics[i].ID, Score: s / (s + tax.threshold)})
		}
	}
	if len(tagged) > 0 {
		// Stable, so equal scores keep the taxonomy's display order.
		slices.SortStableFunc(tagged, func(a, b items.TopicScore) int { return cmp.Compare(b.Score, a.Score) })
		return tagged[:min(len(tagged), tax.maxTopics)]
	}

	for _, id := range defaults {
		if _, known := tax.index[id]; known && !slices.ContainsFunc(tagged, func(ts items.TopicScore) bool { return ts.ID == id }) {
			tagged = append(tagged, items.TopicScore{ID: id, Score: unscoredConfidence})
		}
	}
	if len(tagged) > 0 {
		return tagged
	}
	return []items.TopicScore{{ID: tax.fallback, Score: unscoredConfidence}}
}

// repetition grows with how often a rule matches in the text, but slowly:
// a long text repeating one word is not three times as much about it.
func repetition(count int) float64 {
	return 1 + 0.5*float64(min(count, 3)-1)
}

// countMatches reports, per rule, how many times it matches in s.
func (g *Tagger) countMatches(s string) []int {
	counts := make([]int, len(g.rules))
	tokens := tokenize(s)
	for i, t := range tokens {
		following := tokens[i+1:]
		for _, m := range g.byWord[t.stem] {
			if m.matchesAt(following) {
				counts[m.rule]++
			}
		}
		for _, n := range g.prefixLength {
			if n > len(t.raw) {
				continue
			}
			for _, m := range g.byPrefix[t.raw[:n]] {
				if m.matchesAt(following) {
					counts[m.rule]++
				}
			}
		}
	}
	return counts
}

// matchesAt reports whether the matcher's remaining words begin tokens.
func (m matcher) matchesAt(tokens []token) bool {
	if len(m.rest) > len(tokens) {
		return false
	}
	for i, w := range m.rest {
		if !w.matches(tokens[i]) {
			return false
		}
	}
	return true
}

func tokenize(s string) []token {
	// English averages about six bytes a word, spaces included.
	tokens := make([]token, 0, len(s)/6+1)
	eachWord(strings.ToLower(s), func(w string, _ int) {
		tokens = append(tokens, token{raw: w, stem: stem(w)})
	})
	return tokens
}

// parsePattern splits a rule's term into words as tokenize would, marking
// the words followed by "*" as prefixes.
func parsePattern(term string) ([]word, error) {
	lower := strings.ToLower(term)
	var words []word
	eachWord(lower, func(w string, end int) {
		if end < len(lower) && lower[end] == '*' {
			words = append(words, word{text: w, prefix: true})
		} else {
			words = append(words, word{text: stem(w)})
		}
	})
	prefixes := 0
	for _, w := range words {
		if w.prefix {
			prefixes++
			if utf8.RuneCountInString(w.text) < 3 {
				return nil, fmt.Errorf("term %q: prefix %q* would match too many words", term, w.text)
			}
		}
	}
	if strings.Count(lower, "*") != prefixes {
		return nil, fmt.Errorf("term %q: %w", term, errStrayWildcard)
	}
	return words, nil
}

var errStrayWildcard = errors.New(`"*" must directly follow a word`)

// eachWord calls fn with every run of letters and digits in s and the byte
// offset just past it. Everything else separates words, so "MRI-guided"
// holds the word "mri" and "COVID-19" the words "covid" and "19".
func eachWord(s string, fn func(w string, end int)) {
	start := -1
	for i, r := range s {
		inWord := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		switch {
		case inWord && start < 0:
			start = i
		case !inWord && start >= 0:
			fn(s[start:i], i)
			start = -1
		}
	}
	if start >= 0 {
		fn(s[start:], len(s))
	}
}

// stem folds English plurals so a rule need not list them: "studies" →
// "study", "guidelines" → "guideline". It leaves short words alone, which
// keeps acronyms such as "cts" and words such as "has" intact, and words in
// "ss", "us" and "is", which are rarely plurals.
func stem(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 3 && strings.HasSuffix(w, "s") &&
		!strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:len(w)-1]
	}
	return w
}
