package feedparse

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// plainText reduces an HTML fragment (or text that may contain markup) to
// its words: tags dropped, entities decoded, whitespace collapsed. The text
// of elements a reader never sees, such as scripts, is dropped with them.
// C1 control characters become what windows-1252 means by them (fixC1).
func plainText(fragment string) string {
	fragment = fixC1(fragment)
	if !strings.ContainsAny(fragment, "<&") {
		return strings.Join(strings.Fields(fragment), " ")
	}
	var text strings.Builder
	tokens := html.NewTokenizer(strings.NewReader(fragment))
	hidden := 0 // depth inside elements whose text is not shown
	for {
		kind := tokens.Next()
		switch kind {
		case html.ErrorToken:
			return strings.Join(strings.Fields(fixC1(text.String())), " ")
		case html.TextToken:
			if hidden == 0 {
				text.Write(tokens.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := tokens.TagName()
			element := atom.Lookup(name)
			if isHiddenElement(element) && kind != html.SelfClosingTagToken {
				if kind == html.StartTagToken {
					hidden++
				} else if hidden > 0 {
					hidden--
				}
			}
			// Block boundaries separate words ("<p>a</p><p>b</p>" is "a b");
			// inline ones do not ("un<b>believ</b>able" is one word).
			if !isInlineElement(element) {
				text.WriteByte(' ')
			}
		}
	}
}

func isHiddenElement(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Iframe,
		atom.Object, atom.Head, atom.Title, atom.Svg, atom.Math:
		return true
	}
	return false
}

func isInlineElement(a atom.Atom) bool {
	switch a {
	case atom.A, atom.Abbr, atom.B, atom.Bdi, atom.Bdo, atom.Cite, atom.Code, atom.Data,
		atom.Del, atom.Dfn, atom.Em, atom.Font, atom.I, atom.Ins, atom.Kbd, atom.Mark,
		atom.Q, atom.S, atom.Samp, atom.Small, atom.Span, atom.Strike, atom.Strong,
		atom.Sub, atom.Sup, atom.Time, atom.Tt, atom.U, atom.Var:
		return true
	}
	return false
}

// truncateWords shortens text to at most limit runes plus an ellipsis,
// cutting at the last word boundary. Only a single word longer than limit is
// cut inside the word, as there is no boundary to cut at.
func truncateWords(text string, limit int) string {
	if utf8.RuneCountInString(text) <= limit {
		return text
	}
	cut := 0 // byte offset just past the limit-th rune
	for i := range text {
		if limit == 0 {
			cut = i
			break
		}
		limit--
	}
	prefix := text[:cut]
	next, _ := utf8.DecodeRuneInString(text[cut:])
	if !unicode.IsSpace(next) {
		if space := strings.LastIndexFunc(prefix, unicode.IsSpace); space > 0 {
			prefix = prefix[:space]
		}
	}
	return trimCutEnd(prefix) + "…"
}

// trimCutEnd drops the spaces and punctuation that would otherwise stand
// before the ellipsis at the end of cut text.
func trimCutEnd(prefix string) string {
	return strings.TrimRightFunc(prefix, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;:-–—", r)
	})
}
