package topics

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Words returns the words of s as the tagger reads them, for matchers
// outside this package (subscribers' keyword and mute phrases): lower-case,
// accents folded ("é" → "e", so "Société" matches "societe"), split where
// the tagger splits ("MRI-guided" is "mri", "guided"), and plurals stemmed
// ("screenings" → "screening").
func Words(s string) []string {
	s = Fold(s)
	words := make([]string, 0, len(s)/6+1)
	eachWord(s, func(w string, _ int) {
		words = append(words, stem(w))
	})
	return words
}

// Fold lower-cases s and removes its accents: the text is decomposed and
// its combining marks dropped, so "Ré" and "RE" both fold to "re". Letters
// that do not decompose (ß, ø, ł) are kept as they are.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
