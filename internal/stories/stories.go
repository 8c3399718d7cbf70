// Package stories recognises near-duplicate items: the same story told by
// two feeds, such as a joint statement two societies publish or a press
// release a news site reprints with its own headline. It is pure logic: a
// text becomes a MinHash signature of its word shingles, and an in-memory
// index of signatures, banded for locality-sensitive hashing, finds the
// stored items whose estimated resemblance reaches Threshold.
//
// The threshold was chosen on labelled pairs (testdata/pairs.json); the
// table of precision and recall per threshold is in docs/relevance.md.
package stories

import (
	"hash/fnv"
	"math/bits"
	"slices"
	"strings"

	"github.com/radiogram/radiogram/internal/topics"
)

// Parameters of the detector. Changing one changes every signature: they
// are only ever compared within one process (ingest builds its index per
// run from the stored texts), so nothing stored depends on them.
const (
	// ShingleWords is the words per shingle. Two-word shingles keep word
	// order without making a reworded sentence share nothing.
	ShingleWords = 2
	// Hashes is the length of a signature: the estimate's standard error
	// is at most 0.5/√Hashes ≈ 0.044.
	Hashes = 128
	// Bands × Rows = Hashes. Two items land in a common band with
	// probability 1-(1-J^Rows)^Bands for a resemblance J: 0.9976 at J=0.3,
	// 0.92 at J=0.2, 0.47 at J=0.1, 0.025 at J=0.02 (unrelated texts).
	// Candidates are then checked against Threshold on the whole
	// signature, so the bands only need to miss no pair above it.
	Bands = 64
	Rows  = Hashes / Bands
	// Threshold is the estimated resemblance (Jaccard index of the two
	// texts' shingle sets) at or above which two items tell the same
	// story; docs/relevance.md shows how it was chosen.
	Threshold = 0.4
	// MinShingles is the fewest shingles a text needs to be compared at
	// all: two short generic headlines ("Annual meeting 2026") would
	// otherwise look alike for want of anything else.
	MinShingles = 6
	// MinHeadlineWords is the fewest words (after Normalise) a headline
	// needs for two identical ones to make the same story whatever their
	// leads: in the labelled pairs and the corpus every pair of identical
	// headlines that long is one story, told with a different lead.
	MinHeadlineWords = 5
)

// Signature is a text's MinHash signature, with the numbers of its title;
// the zero value (too short a text) resembles nothing.
type Signature struct {
	mins [Hashes]uint64
	ok   bool
	// numbers are the title's numbers, sorted and distinct: two titles that
	// each have a number the other lacks name different editions or dates
	// ("Tip Sheet: October 6, 2025" and "… Sept 12, 2025", "KCR 2016" and
	// "KCR 2017"), however alike the rest of their text.
	numbers []string
	// headline hashes the normalised title when it has MinHeadlineWords
	// words; 0 otherwise.
	headline uint64
}

// Valid reports whether the text was long enough to be compared.
func (s *Signature) Valid() bool { return s.ok }

// Similarity estimates the Jaccard resemblance of the two texts' shingle
// sets: the share of hash functions whose minimum they share. It is 0 when
// either text was too short.
func Similarity(a, b *Signature) float64 {
	if !a.ok || !b.ok {
		return 0
	}
	same := 0
	for i := range a.mins {
		if a.mins[i] == b.mins[i] {
			same++
		}
	}
	return float64(same) / Hashes
}

// Score is how alike two items are for grouping: 1 for the same long
// headline, else Similarity; 0 when their titles' numbers conflict (each
// has one the other lacks). Two items tell the same story when Score
// reaches Threshold.
func Score(a, b *Signature) float64 {
	switch {
	case numbersConflict(a.numbers, b.numbers):
		return 0
	case a.headline != 0 && a.headline == b.headline:
		return 1
	}
	return Similarity(a, b)
}

// numbersConflict reports whether each sorted list holds a number the other
// lacks. A headline that adds a number to a story ("220 physicians …")
// does not conflict with one that has none.
func numbersConflict(a, b []string) bool {
	return hasOutside(a, b) && hasOutside(b, a)
}

func hasOutside(a, b []string) bool {
	for _, n := range a {
		if _, found := slices.BinarySearch(b, n); !found {
			return true
		}
	}
	return false
}

// seeds are fixed, so that a text always has the same signature: the
// splitmix64 sequence from an arbitrary start.
var seeds = func() [Hashes]uint64 {
	var s [Hashes]uint64
	x := uint64(0x5eed_0f_0e_5701e5)
	for i := range s {
		x += 0x9e3779b97f4a7c15
		s[i] = mix(x)
	}
	return s
}()

// mix is splitmix64's finaliser: a bijection that spreads every input bit
// over the output, so h^seed_i behaves as Hashes independent hash functions.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Sign computes the signature of an item's title and lead (its summary).
func Sign(title, lead string) Signature {
	s := signShingles(Shingles(title, lead))
	if s.ok {
		words := Normalise(title)
		for _, w := range words {
			if isNumber(w) {
				s.numbers = append(s.numbers, w)
			}
		}
		slices.Sort(s.numbers)
		s.numbers = slices.Compact(s.numbers)
		if len(words) >= MinHeadlineWords {
			h := fnv.New64a()
			for _, w := range words {
				h.Write([]byte(w))
				h.Write([]byte{0})
			}
			s.headline = h.Sum64() | 1 // never 0, which means no headline
		}
	}
	return s
}

func isNumber(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return w != ""
}

func signShingles(shingles []uint64) Signature {
	var s Signature
	if len(shingles) < MinShingles {
		return s
	}
	s.ok = true
	for i := range s.mins {
		s.mins[i] = ^uint64(0)
	}
	for _, h := range shingles {
		for i, seed := range seeds {
			if v := mix(h ^ seed); v < s.mins[i] {
				s.mins[i] = v
			}
		}
	}
	return s
}

// Shingles returns the distinct hashed shingles of the normalised title and
// lead: runs of ShingleWords words, the title's and the lead's taken
// separately (a shingle never spans the two).
func Shingles(title, lead string) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	for _, part := range []string{title, lead} {
		words := Normalise(part)
		for i := 0; i+ShingleWords <= len(words); i++ {
			h := fnv.New64a()
			for j, w := range words[i : i+ShingleWords] {
				if j > 0 {
					h.Write([]byte{0})
				}
				h.Write([]byte(w))
			}
			v := h.Sum64()
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
		if len(words) > 0 && len(words) < ShingleWords {
			// A one-word part still counts, as itself.
			h := fnv.New64a()
			h.Write([]byte(words[0]))
			if v := h.Sum64(); !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// Normalise reduces a text to the words that carry its story: accents
// removed, case folded, split and plural-folded as the tagger does
// (topics.Words), and common function words dropped, which would
// otherwise make unrelated sentences share shingles ("of the").
func Normalise(s string) []string {
	words := topics.Words(s)
	kept := words[:0]
	for _, w := range words {
		if !stopWords[w] {
			kept = append(kept, w)
		}
	}
	return kept
}

// stopWords are English function words, after topics.Words' plural
// folding ("its" → "it", "has" is short and kept as is).
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but nor of in on at to for from by with
		as into onto over under about than then that this these those there here it its
		is are was were be been being has have had do doe did will would shall should can could may might must
		not no so if s he she they them their his her we our you your i me my who whom which what when where why how
		all any each both more most other some such also new up out`) {
		m[w] = true
	}
	return m
}()

// bandKeys hashes each band of a signature, with its band number, into one
// lookup key; a long headline is one more key, so that two items with the
// same headline meet however different their leads.
func bandKeys(s *Signature) [Bands + 1]uint64 {
	var keys [Bands + 1]uint64
	keys[Bands] = s.headline
	for b := range keys[:Bands] {
		h := uint64(b+1) * 0x9e3779b97f4a7c15
		for _, v := range s.mins[b*Rows : (b+1)*Rows] {
			h = bits.RotateLeft64(h^v, 27) * 0x94d049bb133111eb
		}
		keys[b] = h
	}
	return keys
}
