package topics

import "strings"

// Words splits s into the words the tagger matches rules on: lower-cased
// runs of letters and digits, plurals folded ("studies" → "study"). Other
// packages that compare texts (near-duplicate stories) use it so that two
// texts count as the same words exactly when the tagger would.
func Words(s string) []string {
	lower := strings.ToLower(s)
	words := make([]string, 0, len(lower)/6+1)
	eachWord(lower, func(w string, _ int) {
		words = append(words, stem(w))
	})
	return words
}
