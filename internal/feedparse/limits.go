package feedparse

import (
	"bytes"
	"encoding/json"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/radiogram/radiogram/internal/items"
)

// windows1252C1 is what windows-1252 means by the bytes 0x80 to 0x9F, which
// a feed that was really windows-1252 (or that wrote "&#146;") leaves in its
// text as the C1 control characters U+0080 to U+009F. HTML5 reads numeric
// references in that range the same way. The five bytes windows-1252 leaves
// unassigned (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to 0: they are dropped.
var windows1252C1 = [32]rune{
	'\u20AC', 0, '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
	'\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', 0, '\u017D', 0,
	0, '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
	'\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', 0, '\u017E', '\u0178',
}

// fixC1 replaces the C1 control characters in s by their windows-1252
// meaning and drops the unassigned ones. C1 characters are never markup, so
// it is safe on HTML as well as on text.
func fixC1(s string) string {
	// In UTF-8 every C1 character is 0xC2 followed by 0x80 to 0x9F.
	if strings.IndexByte(s, 0xC2) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= 0x80 && r <= 0x9F {
			if mapped := windows1252C1[r-0x80]; mapped != 0 {
				return mapped
			}
			return -1
		}
		return r
	}, s)
}

// capLink drops a link longer than items.MaxLinkBytes: cut short, it would
// lead somewhere else.
func capLink(link string) string {
	if len(link) > items.MaxLinkBytes {
		return ""
	}
	return link
}

// capGUID stores a GUID longer than items.MaxGUIDBytes as its SHA-256, which
// stays the same from one fetch to the next.
func capGUID(guid string) string {
	if len(guid) > items.MaxGUIDBytes {
		return "sha256:" + sha256Hex(guid)
	}
	return guid
}

// fillFromMedia gives an entry without a title or description those of its
// Media RSS extension (media:title, media:description), found on the entry
// itself, in a media:group or in a media:content, as YouTube and podcast
// feeds carry them.
func fillFromMedia(entry *gofeed.Item) {
	media := entry.Extensions["media"]
	if len(media) == 0 {
		return
	}
	if strings.TrimSpace(entry.Title) == "" {
		if text, isHTML := mediaText(media, "title"); text != "" {
			if !isHTML {
				text = html.EscapeString(text) // entry titles are read as HTML
			}
			entry.Title = text
		}
	}
	if strings.TrimSpace(entry.Description) == "" && strings.TrimSpace(entry.Content) == "" {
		if text, isHTML := mediaText(media, "description"); text != "" {
			if !isHTML {
				text = textToHTML(text)
			}
			entry.Description = text
		}
	}
}

// mediaText is the first non-blank media:<name> directly in media, else in
// a media:group or media:content, and whether its type says it is HTML
// (Media RSS text is plain unless type="html").
func mediaText(media map[string][]ext.Extension, name string) (string, bool) {
	found := func(list []ext.Extension) (string, bool, bool) {
		for _, e := range list {
			if strings.TrimSpace(e.Value) != "" {
				return e.Value, strings.EqualFold(strings.TrimSpace(e.Attrs["type"]), "html"), true
			}
		}
		return "", false, false
	}
	if text, isHTML, ok := found(media[name]); ok {
		return text, isHTML
	}
	for _, parent := range []string{"group", "content"} {
		for _, p := range media[parent] {
			if text, isHTML, ok := found(p.Children[name]); ok {
				return text, isHTML
			}
			// A media:content inside a media:group.
			for _, c := range p.Children["content"] {
				if text, isHTML, ok := found(c.Children[name]); ok {
					return text, isHTML
				}
			}
		}
	}
	return "", false
}

// normaliseJSONFeed rewrites what gofeed rejects in a JSON Feed but
// readers such as Miniflux accept: an "authors" that is one object instead
// of an array, on the feed or on an item, becomes an array of that object.
// A body that is not a JSON object, or needs no change, is returned as is.
func normaliseJSONFeed(body []byte) []byte {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || !bytes.Contains(trimmed, []byte(`"authors"`)) {
		return body
	}
	var feed map[string]json.RawMessage
	if json.Unmarshal(trimmed, &feed) != nil {
		return body
	}
	changed := wrapAuthors(feed)
	if raw, ok := feed["items"]; ok {
		var list []map[string]json.RawMessage
		if json.Unmarshal(raw, &list) == nil {
			itemsChanged := false
			for _, it := range list {
				if wrapAuthors(it) {
					itemsChanged = true
				}
			}
			if itemsChanged {
				if out, err := json.Marshal(list); err == nil {
					feed["items"], changed = out, true
				}
			}
		}
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(feed)
	if err != nil {
		return body
	}
	return out
}

// wrapAuthors turns obj's "authors" into an array when it is an object.
func wrapAuthors(obj map[string]json.RawMessage) bool {
	raw := bytes.TrimSpace(obj["authors"])
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	obj["authors"] = append(append([]byte{'['}, raw...), ']')
	return true
}

// ellipsis ends cut text.
const ellipsis = "…"

// cutContent shortens the sanitised fragment below body so that it renders
// to at most limit bytes. It keeps the nodes that fit, in document order,
// cuts the text node that does not fit at a word boundary and removes
// everything after it, then any elements left empty at the end, and marks
// the cut with an ellipsis. html.Render closes whatever elements stay open,
// so the result is whole markup, as safe as what it was cut from. Should
// the rendering still not fit, the content becomes its plain text, cut.
func cutContent(body *xhtml.Node, limit int) string {
	if out, ok := renderChildren(body); ok && len(out) <= limit {
		return out
	}
	budget := limit - len(ellipsis)
	var visit func(parent *xhtml.Node) bool
	visit = func(parent *xhtml.Node) bool {
		for n := parent.FirstChild; n != nil; n = n.NextSibling {
			size := renderedSize(n)
			if size > budget {
				removeAfter(n, body)
				if n.Type == xhtml.TextNode {
					if text := cutText(n.Data, budget); text != "" {
						n.Data = text
						return false
					}
				}
				n.Parent.RemoveChild(n)
				return false
			}
			budget -= size
			if n.Type == xhtml.ElementNode && !visit(n) {
				return false
			}
		}
		return true
	}
	if !visit(body) {
		removeEmptyTail(body)
		if last := lastText(body); last != nil && !strings.HasSuffix(last.Data, ellipsis) {
			last.Data = strings.TrimRightFunc(last.Data, unicode.IsSpace) + ellipsis
		}
	}
	out, ok := renderChildren(body)
	if ok && len(out) <= limit {
		return out
	}
	// Each rune is at most 4 bytes, at most 6 once escaped; the paragraph
	// tags and the ellipsis take the rest.
	return textToHTML(truncateWords(plainText(out), max(limit-10, 0)/6))
}

// removeEmptyTail removes the elements that a cut left empty at the end of
// the fragment, such as a paragraph whose first word did not fit.
func removeEmptyTail(body *xhtml.Node) {
	for {
		n := body.LastChild
		for n != nil && n.LastChild != nil {
			n = n.LastChild
		}
		if n == nil || n.Type != xhtml.ElementNode || n.DataAtom == atom.Img || n.DataAtom == atom.Br || n.DataAtom == atom.Hr {
			return
		}
		n.Parent.RemoveChild(n)
	}
}

// lastText is the last text node below n in document order, or nil.
func lastText(n *xhtml.Node) *xhtml.Node {
	for c := n.LastChild; c != nil; c = c.PrevSibling {
		if c.Type == xhtml.TextNode && strings.TrimSpace(c.Data) != "" {
			return c
		}
		if found := lastText(c); found != nil {
			return found
		}
	}
	return nil
}

// renderedSize is how many bytes n adds to the rendering, without its
// children: a text's escaped text, an element's start and end tags.
func renderedSize(n *xhtml.Node) int {
	shallow := &xhtml.Node{Type: n.Type, DataAtom: n.DataAtom, Data: n.Data, Namespace: n.Namespace, Attr: n.Attr}
	var out strings.Builder
	if err := xhtml.Render(&out, shallow); err != nil {
		return len(n.Data)
	}
	return out.Len()
}

// removeAfter removes every node after n in document order, up to root.
func removeAfter(n, root *xhtml.Node) {
	for x := n; x != nil && x != root; x = x.Parent {
		for x.NextSibling != nil {
			x.Parent.RemoveChild(x.NextSibling)
		}
	}
}

// cutText is the longest start of text that ends at a word boundary and
// whose escaped form, with an ellipsis, fits in budget bytes; "" if not
// even the first word fits.
func cutText(text string, budget int) string {
	size := 0
	cut := 0 // byte offset of the first rune that does not fit
	for i, r := range text {
		switch r {
		case '<', '>': // &lt; &gt;
			size += 4
		case '&', '\'', '"', '\r': // &amp; &#39; &#34; &#13;
			size += 5
		default:
			size += utf8.RuneLen(max(r, 0))
		}
		if size > budget {
			break
		}
		cut = i + utf8.RuneLen(max(r, 0))
	}
	next, _ := utf8.DecodeRuneInString(text[cut:])
	prefix := text[:cut]
	if !unicode.IsSpace(next) {
		space := strings.LastIndexFunc(prefix, unicode.IsSpace)
		if space < 0 {
			return ""
		}
		prefix = prefix[:space]
	}
	prefix = trimCutEnd(prefix)
	if prefix == "" {
		return ""
	}
	return prefix + ellipsis
}

// renderChildren renders body's children, trimmed.
func renderChildren(body *xhtml.Node) (string, bool) {
	var out strings.Builder
	for n := body.FirstChild; n != nil; n = n.NextSibling {
		if err := xhtml.Render(&out, n); err != nil {
			return "", false
		}
	}
	return strings.TrimSpace(out.String()), true
}
