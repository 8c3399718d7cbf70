package feedparse

import (
	"strings"
	"unicode/utf8"
)

// Limits on an entry's categories: they only help the tagger place the
// entry, so a feed that tags each entry with dozens of keywords, or with a
// paragraph, gets no more say than one that tags it well.
const (
	MaxCategories     = 10
	MaxCategoryRunes  = 64
	categoryTruncated = MaxCategoryRunes - 1 // room for the ellipsis
)

// Categories are the entry's own tags or sections as the feed gives them
// (RSS <category>, Atom category terms, JSON Feed tags), as plain text: at
// most MaxCategories, each at most MaxCategoryRunes, without blanks and
// without repeats (ignoring case), in the feed's order. An entry made by
// NormalisedEntry has none.
func (e Entry) Categories() []string {
	if e.raw == nil {
		return nil
	}
	return cleanCategories(e.raw.entry.Categories)
}

func cleanCategories(raw []string) []string {
	var out []string
	for _, c := range raw {
		if len(out) == MaxCategories {
			break
		}
		text := plainText(c)
		if utf8.RuneCountInString(text) > MaxCategoryRunes {
			text = truncateWords(text, categoryTruncated)
		}
		if text == "" || containsFold(out, text) {
			continue
		}
		out = append(out, text)
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
