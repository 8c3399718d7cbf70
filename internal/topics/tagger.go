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
	// alwaysConfidence is the score of a topic the feed gives every item:
	// as sure as a rule that just reaches the threshold.
	alwaysConfidence = 0.5

	// maxMatched bounds the terms kept as a topic's reason.
	maxMatched = 5
)

// The fields of an item the tagger reads, each with its own weight.
type field int

const (
	fieldTitle field = iota
	fieldSummary
	fieldCategory
	numFields
)

var fieldNames = [numFields]string{fieldTitle: "title", fieldSummary: "summary", fieldCategory: "category"}

// Text is what the tagger reads of an item.
type Text struct {
	Title   string
	Summary string
	// Categories are the feed entry's own tags or sections; each is matched
	// on its own, so a phrase never spans two.
	Categories []string
}

// FeedTopics are the topics an item's feed gives it (its registry entry).
type FeedTopics struct {
	// Always are given to every item of the feed besides what the rules find
	// (a federation for one modality).
	Always []string
	// Defaults are given only when no rule places the item.
	Defaults []string
}

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
	term   string
	weight float64
}

// matcher recognises one spelling of a rule or of a "not about" phrase: its
// first word is the map key it is filed under, rest the words that must
// follow. target is a rule index, or for a "not about" phrase its topic.
type matcher struct {
	rest     []word
	target   int
	notAbout bool
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
			g.rules = append(g.rules, compiledRule{topic: topic, term: r.Term, weight: r.Weight})
			for _, term := range append([]string{r.Term}, r.Variants...) {
				g.add(term, matcher{target: ruleIndex})
			}
		}
		for _, phrase := range t.notAbout[topic] {
			g.add(phrase, matcher{target: topic, notAbout: true})
		}
	}
	return g
}

// add files a matcher for pattern under its first word.
func (g *Tagger) add(pattern string, m matcher) {
	// Load validated every pattern, so the error cannot happen.
	words, _ := parsePattern(pattern)
	first := words[0]
	m.rest = words[1:]
	if first.prefix {
		g.byPrefix[first.text] = append(g.byPrefix[first.text], m)
		if !slices.Contains(g.prefixLength, len(first.text)) {
			g.prefixLength = append(g.prefixLength, len(first.text))
		}
	} else {
		g.byWord[first.text] = append(g.byWord[first.text], m)
	}
}

// Tag scores an item's title, summary and categories against every topic;
// a rule adds its weight times the weight of each field it is found in.
//
// The rules give the topics that reach both their threshold and the
// relative threshold (a share of the best topic's score), best first, at
// most the taxonomy's max_topics, each with the terms and fields that
// decided it. A topic scores raw/(raw+threshold), so one that just reaches
// the threshold scores 0.5 and stronger evidence approaches 1.
//
// With a model in the taxonomy, the model decides instead: the topics whose
// probability reaches the model's threshold for them, most probable first,
// at most max_topics, scored by that probability; each keeps its rules'
// terms and the words that weighed most for it as its reason.
//
// The feed's Always topics follow. The result is never empty: when nothing
// else places the item, it gets the feed's defaults (unknown ids are
// ignored), else the taxonomy's fallback.
func (g *Tagger) Tag(text Text, feed FeedTopics) []items.TopicScore {
	tax := g.taxonomy
	found, scores, ruleTopics := g.byRules(text)
	var tagged []items.TopicScore
	if m := tax.model; m != nil {
		// The model decides, from the rules' findings and decision, the
		// feed and the item's words.
		features := g.features(text, feed, found, scores, ruleTopics, func(w string) bool { return m.stopwords[w] })
		p, rows := m.probabilities(features)
		for _, i := range chosen(p, m.thresholds, tax.maxTopics) {
			tagged = append(tagged, items.TopicScore{ID: tax.topics[i].ID, Score: p[i], Source: items.SourceRules, Matched: g.modelMatched(i, found, features, rows)})
		}
	} else {
		for _, i := range ruleTopics {
			s, threshold := scores[i], tax.thresholds[i]
			tagged = append(tagged, items.TopicScore{ID: tax.topics[i].ID, Score: s / (s + threshold), Source: items.SourceRules, Matched: g.matched(i, found)})
		}
	}

	tagged = g.appendFeedTopics(tagged, feed.Always, alwaysConfidence)
	if len(tagged) == 0 {
		tagged = g.appendFeedTopics(tagged, feed.Defaults, unscoredConfidence)
	}
	if len(tagged) == 0 {
		tagged = []items.TopicScore{{ID: tax.fallback, Score: unscoredConfidence, Source: items.SourceFallback}}
	}
	return tagged
}

// byRules is what the rules find in an item: the rules matched, each
// topic's score, and the topics the rules give (reaching both thresholds),
// best first, equal scores in the taxonomy's display order, at most
// max_topics.
func (g *Tagger) byRules(text Text) (*tally, []float64, []int) {
	tax := g.taxonomy
	found := g.count(text)
	scores := make([]float64, len(tax.topics))
	for k, rc := range found.found {
		rule := g.rules[rc.rule]
		scores[rule.topic] += rule.weight * found.evidence[k]
	}
	relative := tax.relativeThreshold * slices.Max(scores)
	var topics []int
	confidence := make([]float64, len(scores))
	for i, s := range scores {
		if threshold := tax.thresholds[i]; s >= max(threshold, relative) {
			topics = append(topics, i)
			confidence[i] = s / (s + threshold)
		}
	}
	slices.SortStableFunc(topics, func(a, b int) int { return cmp.Compare(confidence[b], confidence[a]) })
	return found, scores, topics[:min(len(topics), tax.maxTopics)]
}

// tally is what the tagger found in one item. An item matches few of the
// taxonomy's rules, so the tally holds only those.
type tally struct {
	// found lists the rules that matched, by rule index once counted, with
	// how often each matched in each field.
	found []ruleCount
	// evidence is, like found, how much each rule was found: the weights of
	// the fields it was found in, the summary's a little more when the
	// summary repeats it. A rule's contribution to its topic is its weight
	// times its evidence.
	evidence []float64
	// Scratch space reused from field to field.
	tokens []token
	hits   []hit
}

type ruleCount struct {
	rule int
	n    [numFields]int
}

func (t *tally) add(rule int, f field) {
	for i := range t.found {
		if t.found[i].rule == rule {
			t.found[i].n[f]++
			return
		}
	}
	rc := ruleCount{rule: rule}
	rc.n[f] = 1
	t.found = append(t.found, rc)
}

// count matches every rule against the text's fields.
func (g *Tagger) count(text Text) *tally {
	summary := lead(text.Summary)
	t := &tally{
		// English averages about six bytes a word, spaces included.
		tokens: make([]token, 0, max(len(text.Title), len(summary))/6+1),
		hits:   make([]hit, 0, 16),
	}
	g.countMatches(text.Title, fieldTitle, t)
	g.countMatches(summary, fieldSummary, t)
	if g.taxonomy.fieldWeights[fieldCategory] > 0 {
		for _, c := range text.Categories {
			g.countMatches(c, fieldCategory, t)
		}
	}
	slices.SortFunc(t.found, func(a, b ruleCount) int { return cmp.Compare(a.rule, b.rule) })
	t.evidence = make([]float64, len(t.found))
	for k, rc := range t.found {
		for f, n := range rc.n {
			if n > 0 {
				t.evidence[k] += g.fieldEvidence(field(f), n)
			}
		}
	}
	return t
}

// appendFeedTopics adds the known ids not yet tagged, as given by the feed.
func (g *Tagger) appendFeedTopics(tagged []items.TopicScore, ids []string, score float64) []items.TopicScore {
	for _, id := range ids {
		if _, known := g.taxonomy.index[id]; known && !slices.ContainsFunc(tagged, func(ts items.TopicScore) bool { return ts.ID == id }) {
			tagged = append(tagged, items.TopicScore{ID: id, Score: score, Source: items.SourceFeed})
		}
	}
	return tagged
}

// fieldEvidence is what a rule found n times in a field adds, before its
// weight.
func (g *Tagger) fieldEvidence(f field, n int) float64 {
	w := g.taxonomy.fieldWeights[f]
	if f == fieldSummary {
		return w * repetition(n)
	}
	return w
}

// matched lists the terms that decided a topic: its rules' positive
// contributions, field by field, strongest first, at most maxMatched.
func (g *Tagger) matched(topic int, found *tally) []items.Match {
	type contribution struct {
		match items.Match
		value float64
	}
	var all []contribution
	for _, rc := range found.found {
		r := g.rules[rc.rule]
		if r.topic != topic || r.weight <= 0 {
			continue
		}
		for f, n := range rc.n {
			if n > 0 {
				all = append(all, contribution{items.Match{Term: r.term, Field: fieldNames[f]}, r.weight * g.fieldEvidence(field(f), n)})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b contribution) int { return cmp.Compare(b.value, a.value) })
	var out []items.Match
	for _, c := range all[:min(len(all), maxMatched)] {
		out = append(out, c.match)
	}
	return out
}

// lead is the start of a text, at most maxTextBytes, cut on a rune.
func lead(text string) string {
	if len(text) <= maxTextBytes {
		return text
	}
	cut := maxTextBytes
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}

// repetition grows with how often a rule matches in the text, but slowly:
// a long text repeating one word is not three times as much about it.
func repetition(count int) float64 {
	return 1 + 0.5*float64(min(count, 3)-1)
}

// hit is one match in a text: of a rule, or of a topic's "not about"
// phrase, over tokens [start, end).
type hit struct {
	m          *matcher
	start, end int
}

// countMatches counts in t how many times each rule matches s, found in
// field f. A match right after a negation cue, or inside a "not about"
// phrase of its topic, does not count.
func (g *Tagger) countMatches(s string, f field, t *tally) {
	tokens := tokenize(s, t.tokens[:0])
	hits := t.hits[:0]
	for i, tok := range tokens {
		following := tokens[i+1:]
		list := g.byWord[tok.stem]
		for j := range list {
			if m := &list[j]; m.matchesAt(following) {
				hits = append(hits, hit{m, i, i + 1 + len(m.rest)})
			}
		}
		for _, n := range g.prefixLength {
			if n > len(tok.raw) {
				continue
			}
			list := g.byPrefix[tok.raw[:n]]
			for j := range list {
				if m := &list[j]; m.matchesAt(following) {
					hits = append(hits, hit{m, i, i + 1 + len(m.rest)})
				}
			}
		}
	}
	notAbout := slices.ContainsFunc(hits, func(h hit) bool { return h.m.notAbout })
	for _, h := range hits {
		if h.m.notAbout || g.negated(tokens, h.start) || (notAbout && g.insideNotAbout(hits, h)) {
			continue
		}
		t.add(h.m.target, f)
	}
	t.tokens, t.hits = tokens, hits
}

// negated reports whether the word before position i is a negation cue.
func (g *Tagger) negated(tokens []token, i int) bool {
	return i > 0 && slices.Contains(g.taxonomy.negationCues, tokens[i-1].raw)
}

// insideNotAbout reports whether a rule's hit lies within a "not about"
// phrase of the rule's topic.
func (g *Tagger) insideNotAbout(hits []hit, h hit) bool {
	topic := g.rules[h.m.target].topic
	for _, o := range hits {
		if o.m.notAbout && o.m.target == topic && o.start <= h.start && h.end <= o.end {
			return true
		}
	}
	return false
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

// tokenize appends the words of s to tokens.
func tokenize(s string, tokens []token) []token {
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
