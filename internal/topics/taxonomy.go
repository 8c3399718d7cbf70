// Package topics owns the topic taxonomy and tagging items with topics.
//
// The taxonomy is data (infra/topics.json): an admin adds a topic or a
// keyword by editing that file, not the code.
package topics

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Topic is one subject readers can follow.
type Topic struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Group gathers related topics under one heading on the preferences page.
	Group string `json:"group"`
}

// Rule is one weighted keyword or phrase of a topic.
//
// Matching is case-insensitive and on whole words; plural "s" and "ies"
// are folded, so "guideline" also matches "guidelines". A word ending in
// "*" matches any word it starts ("oncolog*" matches "oncologist").
// Variants are alternative spellings of the same rule. A rule adds its
// weight once for each field it is found in (title, summary, categories),
// times that field's weight, a little more when the summary repeats it. A
// negative weight argues against the topic.
type Rule struct {
	Term     string   `json:"term"`
	Variants []string `json:"variants,omitempty"`
	Weight   float64  `json:"weight"`
}

// FieldWeights multiply the weight of a rule found in each field of an
// item. Unset fields keep their defaults: title 2 (or the taxonomy's
// title_weight), summary 1, category 0 (categories are read only when the
// taxonomy gives them a weight).
type FieldWeights struct {
	Title    *float64 `json:"title,omitempty"`
	Summary  *float64 `json:"summary,omitempty"`
	Category *float64 `json:"category,omitempty"`
}

// Taxonomy is the validated set of topics and the settings of their tagging.
type Taxonomy struct {
	topics []Topic
	rules  [][]Rule // rules[i] belongs to topics[i]
	index  map[string]int
	// Per topic, like rules: the threshold in force and the "not about"
	// phrases.
	thresholds []float64
	notAbout   [][]string

	threshold         float64
	relativeThreshold float64
	fieldWeights      [numFields]float64
	negationCues      []string
	maxTopics         int
	fallback          string
	// model, when the file has one, decides the topics (see Model).
	model *compiledModel
}

type taxonomyFile struct {
	// Threshold is the score a topic needs for an item to be tagged with it,
	// unless the topic sets its own.
	Threshold float64 `json:"threshold"`
	// RelativeThreshold is the share of the item's best score a topic also
	// needs: an item squarely about one topic that mentions another in
	// passing is not about both.
	RelativeThreshold float64 `json:"relative_threshold"`
	// TitleWeight multiplies the weight of rules matched in the title; kept
	// for taxonomies written before FieldWeights, which overrides it.
	TitleWeight  float64       `json:"title_weight,omitempty"`
	FieldWeights *FieldWeights `json:"field_weights,omitempty"`
	// NegationCues are words that cancel a rule matched right after them:
	// with "non", "non-cancer findings" is not about cancer.
	NegationCues []string `json:"negation_cues,omitempty"`
	// MaxTopics caps how many topics the rules give one item.
	MaxTopics int `json:"max_topics"`
	// Fallback is the topic of items that nothing else fits.
	Fallback string      `json:"fallback"`
	Topics   []topicFile `json:"topics"`
	// Model is written by radiogram-tagger-train, never by hand.
	Model *Model `json:"model,omitempty"`
}

type topicFile struct {
	Topic
	// Threshold, when set, replaces the taxonomy's threshold for this topic.
	Threshold float64 `json:"threshold,omitempty"`
	// NotAbout lists phrases that use the topic's terms without being about
	// it ("urged congress" for events): a rule matched inside one of them
	// does not count.
	NotAbout []string `json:"not_about,omitempty"`
	Rules    []Rule   `json:"rules"`
}

const (
	defaultTitleWeight = 2
	defaultMaxTopics   = 4
)

var validID = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}$`)

// Load parses and validates a taxonomy in the format of infra/topics.json.
//
// Topics() lists the topics grouped: groups in the order they first appear,
// topics in file order within their group.
func Load(data []byte) (*Taxonomy, error) {
	var f taxonomyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse taxonomy: %w", err)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("invalid taxonomy: %w", err)
	}

	t := &Taxonomy{
		index:             make(map[string]int, len(f.Topics)),
		threshold:         f.Threshold,
		relativeThreshold: f.RelativeThreshold,
		fieldWeights:      f.fieldWeights(),
		maxTopics:         f.MaxTopics,
		fallback:          f.Fallback,
	}
	for _, cue := range f.NegationCues {
		t.negationCues = append(t.negationCues, strings.ToLower(strings.TrimSpace(cue)))
	}
	if t.maxTopics == 0 {
		t.maxTopics = defaultMaxTopics
	}
	for _, group := range groupsInOrder(f.Topics) {
		for _, tf := range f.Topics {
			if tf.Group != group {
				continue
			}
			t.index[tf.ID] = len(t.topics)
			t.topics = append(t.topics, tf.Topic)
			t.rules = append(t.rules, tf.Rules)
			t.thresholds = append(t.thresholds, cmp.Or(tf.Threshold, f.Threshold))
			t.notAbout = append(t.notAbout, tf.NotAbout)
		}
	}
	if f.Model != nil {
		t.model = f.Model.compile(t.index)
	}
	return t, nil
}

func (f *taxonomyFile) validate() error {
	var errs []error
	if f.Threshold <= 0 {
		errs = append(errs, fmt.Errorf("threshold %v: must be positive", f.Threshold))
	}
	if f.RelativeThreshold < 0 || f.RelativeThreshold > 1 {
		errs = append(errs, fmt.Errorf("relative_threshold %v: must be between 0 and 1", f.RelativeThreshold))
	}
	if f.TitleWeight < 0 {
		errs = append(errs, fmt.Errorf("title_weight %v: must not be negative", f.TitleWeight))
	}
	if fw := f.FieldWeights; fw != nil {
		for name, w := range map[string]*float64{"title": fw.Title, "summary": fw.Summary, "category": fw.Category} {
			if w != nil && *w < 0 {
				errs = append(errs, fmt.Errorf("field_weights.%s %v: must not be negative", name, *w))
			}
		}
	}
	for _, cue := range f.NegationCues {
		if words, err := parsePattern(cue); err != nil || len(words) != 1 || words[0].prefix {
			errs = append(errs, fmt.Errorf("negation cue %q: must be one word", cue))
		}
	}
	if f.MaxTopics < 0 {
		errs = append(errs, fmt.Errorf("max_topics %d: must not be negative", f.MaxTopics))
	}
	if len(f.Topics) == 0 {
		errs = append(errs, errors.New("no topics"))
	}
	seen := make(map[string]bool, len(f.Topics))
	for i, tf := range f.Topics {
		if err := tf.validate(); err != nil {
			errs = append(errs, fmt.Errorf("topic %d (%q): %w", i, tf.ID, err))
		}
		if seen[tf.ID] {
			errs = append(errs, fmt.Errorf("topic %d: duplicate id %q", i, tf.ID))
		}
		seen[tf.ID] = true
	}
	if !seen[f.Fallback] {
		errs = append(errs, fmt.Errorf("fallback %q: not a topic id", f.Fallback))
	}
	if f.Model != nil {
		ids := make([]string, len(f.Topics))
		for i, tf := range f.Topics {
			ids[i] = tf.ID
		}
		if err := f.Model.validate(ids); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (tf *topicFile) validate() error {
	var errs []error
	if !validID.MatchString(tf.ID) {
		errs = append(errs, fmt.Errorf("id %q: must match %s", tf.ID, validID))
	}
	if strings.TrimSpace(tf.Name) == "" {
		errs = append(errs, errors.New("empty name"))
	}
	if strings.TrimSpace(tf.Group) == "" {
		errs = append(errs, errors.New("empty group"))
	}
	if tf.Threshold < 0 {
		errs = append(errs, fmt.Errorf("threshold %v: must not be negative", tf.Threshold))
	}
	for _, phrase := range tf.NotAbout {
		if err := validTerm(phrase); err != nil {
			errs = append(errs, fmt.Errorf("not_about: %w", err))
		}
	}
	positive := false
	for _, r := range tf.Rules {
		if err := r.validate(); err != nil {
			errs = append(errs, fmt.Errorf("rule %q: %w", r.Term, err))
		}
		positive = positive || r.Weight > 0
	}
	if !positive {
		// A topic no rule can score is reachable only through defaults.
		errs = append(errs, errors.New("no rule with a positive weight"))
	}
	return errors.Join(errs...)
}

// fieldWeights resolves the field weights from their defaults, the legacy
// title_weight and field_weights.
func (f *taxonomyFile) fieldWeights() [numFields]float64 {
	w := [numFields]float64{fieldTitle: cmp.Or(f.TitleWeight, defaultTitleWeight), fieldSummary: 1}
	if fw := f.FieldWeights; fw != nil {
		for field, set := range [numFields]*float64{fieldTitle: fw.Title, fieldSummary: fw.Summary, fieldCategory: fw.Category} {
			if set != nil {
				w[field] = *set
			}
		}
	}
	return w
}

func (r Rule) validate() error {
	if r.Weight == 0 {
		return errors.New("zero weight")
	}
	for _, term := range append([]string{r.Term}, r.Variants...) {
		if err := validTerm(term); err != nil {
			return err
		}
	}
	return nil
}

func validTerm(term string) error {
	words, err := parsePattern(term)
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return fmt.Errorf("term %q has no words", term)
	}
	return nil
}

func groupsInOrder(topics []topicFile) []string {
	var groups []string
	seen := make(map[string]bool)
	for _, tf := range topics {
		if !seen[tf.Group] {
			seen[tf.Group] = true
			groups = append(groups, tf.Group)
		}
	}
	return groups
}

// Topics lists every topic in display order.
func (t *Taxonomy) Topics() []Topic {
	return append([]Topic(nil), t.topics...)
}

// Lookup finds a topic by id.
func (t *Taxonomy) Lookup(id string) (Topic, bool) {
	i, ok := t.index[id]
	if !ok {
		return Topic{}, false
	}
	return t.topics[i], true
}

// Fallback is the id of the topic given to items nothing else fits.
func (t *Taxonomy) Fallback() string { return t.fallback }
