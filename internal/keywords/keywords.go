// Package keywords matches subscribers' phrases, the keywords that bring an
// item into their mail and the mute words that keep one out, against
// items' titles and summaries. A phrase matches a run of whole words, in
// order, in the title or in the summary (never across the two), ignoring
// case and accents, with the tagger's plural stemming and common verb
// endings folded too, so that "screening" matches "screened" and
// "screens" but "AI" does not match "said".
//
// Matching is built for a planning run: each item's text is tokenised once
// (Tokenize, NewIndex), each distinct phrase is compiled once (Compile)
// and looked up in the index's word lists rather than compared with every
// item. It is pure logic: no storage, no clock, no I/O.
package keywords

import (
	"strings"
	"unicode/utf8"

	"github.com/radiogram/radiogram/internal/topics"
)

// maxSummaryBytes bounds the text matched per item, as the tagger bounds
// its own: a summary's lead says what the item is about.
const maxSummaryBytes = 4000

// Text is an item's title and summary as words to match.
type Text struct {
	fields [2][]string // title, summary
}

// Tokenize reads an item's title and summary into words to match.
func Tokenize(title, summary string) Text {
	if len(summary) > maxSummaryBytes {
		cut := maxSummaryBytes
		for cut > 0 && !utf8.RuneStart(summary[cut]) {
			cut--
		}
		summary = summary[:cut]
	}
	return Text{fields: [2][]string{roots(title), roots(summary)}}
}

// roots is topics.Words with verb endings folded as well.
func roots(s string) []string {
	words := topics.Words(s)
	for i, w := range words {
		words[i] = root(w)
	}
	return words
}

// root folds what the tagger's stem leaves of the common English verb
// endings, so that a phrase finds the forms of its words: "screening",
// "screened" and "screen" are all "screen"; "imaging", "image" and
// "imaged" are all "imag"; "studied" is "study", as the tagger makes
// "studies". Phrases and texts are folded alike, so a word cut too short
// ("speed" → "spe") still matches only its own forms. The tagger keeps
// its own stem: its rules were tuned on it.
func root(w string) string {
	n := len(w)
	switch {
	case n > 5 && strings.HasSuffix(w, "ing"):
		w = w[:n-3]
	case n > 4 && strings.HasSuffix(w, "ied"):
		return w[:n-3] + "y"
	case n > 4 && strings.HasSuffix(w, "ed"):
		w = w[:n-2]
	}
	if len(w) > 4 && strings.HasSuffix(w, "e") {
		w = w[:len(w)-1]
	}
	return w
}

// Phrase is one subscriber phrase, compiled.
type Phrase struct {
	// Text is the phrase as the subscriber wrote it, for "You follow: …".
	Text  string
	words []string
}

// Key names what the phrase matches: phrases with the same key match the
// same texts ("Screening" and "screenings" do).
func (p Phrase) Key() string { return strings.Join(p.words, " ") }

// Compile compiles phrases in order. A phrase without a letter or digit
// matches nothing and is left out (validation refuses such phrases).
func Compile(phrases []string) []Phrase {
	out := make([]Phrase, 0, len(phrases))
	for _, s := range phrases {
		if words := roots(s); len(words) > 0 {
			out = append(out, Phrase{Text: s, words: words})
		}
	}
	return out
}

// Matches reports whether the phrase's words occur in a row in t's title
// or summary.
func (p Phrase) Matches(t Text) bool {
	for _, field := range t.fields {
		if containsRun(field, p.words) {
			return true
		}
	}
	return false
}

func containsRun(field, words []string) bool {
	for i := 0; i+len(words) <= len(field); i++ {
		if field[i] != words[0] {
			continue
		}
		j := 1
		for j < len(words) && field[i+j] == words[j] {
			j++
		}
		if j == len(words) {
			return true
		}
	}
	return false
}

// First returns the first of phrases that matches t, in the order given.
func First(phrases []Phrase, t Text) (Phrase, bool) {
	for _, p := range phrases {
		if p.Matches(t) {
			return p, true
		}
	}
	return Phrase{}, false
}

// Index is the texts of a run's items, each tokenised once, with the
// texts each word occurs in: a phrase is compared only with the texts that
// hold its rarest word.
type Index struct {
	texts    []Text
	postings map[string][]int32 // texts holding the word, ascending, each once
}

// NewIndex indexes texts; positions in it are positions in texts.
func NewIndex(texts []Text) *Index {
	x := &Index{texts: texts, postings: make(map[string][]int32)}
	for i, t := range texts {
		for _, field := range t.fields {
			for _, w := range field {
				list := x.postings[w]
				if n := len(list); n == 0 || list[n-1] != int32(i) {
					x.postings[w] = append(list, int32(i))
				}
			}
		}
	}
	return x
}

// Len is how many texts the index holds.
func (x *Index) Len() int { return len(x.texts) }

// Match returns the texts p matches.
func (x *Index) Match(p Phrase) Bits {
	bits := NewBits(len(x.texts))
	if len(p.words) == 0 {
		return bits
	}
	rarest := x.postings[p.words[0]]
	for _, w := range p.words[1:] {
		if list := x.postings[w]; len(list) < len(rarest) {
			rarest = list
		}
	}
	for _, i := range rarest {
		if len(p.words) == 1 || p.Matches(x.texts[i]) {
			bits.Set(int(i))
		}
	}
	return bits
}

// Bits is a set of positions in an Index.
type Bits []uint64

// NewBits returns an empty set for n positions.
func NewBits(n int) Bits { return make(Bits, (n+63)/64) }

// Set adds position i.
func (b Bits) Set(i int) { b[i/64] |= 1 << (i % 64) }

// Has reports whether position i is in the set; a nil set has none.
func (b Bits) Has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }

// Or adds every position of o.
func (b Bits) Or(o Bits) {
	for i := range min(len(b), len(o)) {
		b[i] |= o[i]
	}
}
