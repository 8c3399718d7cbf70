package feedparse

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/radiogram/radiogram/internal/items"
)

// newContentPolicy allows the markup a news article needs and that email
// clients render: text structure, lists, tables, links and images. There
// are no scripts, styles, frames, embeds or forms, no event handlers and no
// style attributes (bluemonday's style parsing is slow on hostile input, and
// email clients ignore most of it anyway). Links may be relative here;
// sanitize resolves them afterwards and drops any it cannot make absolute.
func newContentPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements(
		"p", "br", "hr", "div", "span",
		"h1", "h2", "h3", "h4", "h5", "h6",
		"blockquote", "pre", "code", "em", "strong", "b", "i", "u", "s", "strike",
		"del", "ins", "sub", "sup", "small", "mark", "abbr", "cite", "q",
		"ul", "ol", "li", "dl", "dt", "dd",
		"figure", "figcaption",
		"table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
	)
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("title").OnElements("a", "abbr")
	p.AllowAttrs("src", "alt").OnElements("img")
	p.AllowAttrs("width", "height").Matching(regexp.MustCompile(`^[0-9]{1,5}(px)?$`)).OnElements("img")
	p.AllowAttrs("colspan", "rowspan").Matching(regexp.MustCompile(`^[0-9]{1,3}$`)).OnElements("td", "th")
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowRelativeURLs(true)
	p.RequireParseableURLs(true)
	p.AddSpaceWhenStrippingTag(true)
	return p
}

// sanitize cleans an item's HTML for a page or an email. After bluemonday
// has removed everything unsafe, a second pass over the parsed fragment
// makes link and image URLs absolute against base, strips tracking
// parameters, marks links noopener noreferrer and drops tracking pixels.
// That pass only removes nodes or sets URL attributes to http(s) (or
// mailto) values, and html.Render escapes what it writes, so the result
// stays as safe as bluemonday's. Content longer than items.MaxContentBytes
// is cut after the last text that fits (cutContent).
func (p *Parser) sanitize(fragment string, base *url.URL) string {
	clean := p.policy.Sanitize(fragment)
	if strings.TrimSpace(clean) == "" {
		return ""
	}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(clean), body)
	if err != nil {
		// x/net/html refuses elements nested more than 512 deep. No article
		// needs that, so the content is dropped rather than passed on with
		// its URLs unchecked.
		return ""
	}
	for _, n := range nodes {
		body.AppendChild(n)
	}
	rewriteURLs(body, base)
	fixTreeC1(body)

	out, ok := renderChildren(body)
	if !ok {
		return ""
	}
	if len(out) > items.MaxContentBytes {
		return cutContent(body, items.MaxContentBytes)
	}
	return out
}

// fixTreeC1 applies fixC1 to every text and attribute below parent, after
// the parser has decoded references such as "&#146;".
func fixTreeC1(parent *html.Node) {
	for n := parent.FirstChild; n != nil; n = n.NextSibling {
		switch n.Type {
		case html.TextNode:
			n.Data = fixC1(n.Data)
		case html.ElementNode:
			for i := range n.Attr {
				n.Attr[i].Val = fixC1(n.Attr[i].Val)
			}
			fixTreeC1(n)
		}
	}
}

// rewriteURLs applies the post-sanitising rules to every link and image
// below parent.
func rewriteURLs(parent *html.Node, base *url.URL) {
	for n := parent.FirstChild; n != nil; {
		next := n.NextSibling
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.A:
				if !rewriteLink(n, base) {
					n = unwrap(n)
					continue
				}
			case atom.Img:
				if !rewriteImage(n, base) {
					parent.RemoveChild(n)
					n = next
					continue
				}
			}
			rewriteURLs(n, base)
		}
		n = next
	}
}

// rewriteLink makes a link's target absolute and untracked and sets its rel.
// It reports false when the link has no usable target, so its text should
// stay without the link.
func rewriteLink(a *html.Node, base *url.URL) bool {
	u := resolve(attr(a, "href"), base)
	switch {
	case u == nil:
		return false
	case isWebURL(u):
		stripTrackingParams(u)
	case u.Scheme != "mailto":
		return false
	}
	setAttr(a, "href", u.String())
	setAttr(a, "rel", "noopener noreferrer")
	return true
}

// rewriteImage makes an image's source absolute and untracked. It reports
// false for an image to drop: one without an http(s) source, or a tracking
// pixel.
func rewriteImage(img *html.Node, base *url.URL) bool {
	src := webURL(attr(img, "src"), base)
	if src == nil || isTrackerURL(src) {
		return false
	}
	setAttr(img, "src", src.String())
	for _, name := range []string{"width", "height"} {
		value := attr(img, name)
		if value == "" {
			continue
		}
		pixels, err := strconv.Atoi(strings.TrimSuffix(value, "px"))
		if err != nil {
			removeAttr(img, name)
			continue
		}
		if pixels <= 2 {
			return false
		}
		setAttr(img, name, strconv.Itoa(pixels))
	}
	return true
}

// isTrackerURL reports whether an image source looks like an open-tracking
// beacon rather than a picture of the story.
func isTrackerURL(src *url.URL) bool {
	where := strings.ToLower(src.Host + src.Path)
	markers := [...]string{
		"/pixel", "pixel.", "feedburner.com/~r", "feedburner.com/~ff", "/track/open",
		"doubleclick", "google-analytics.com", "stats.wordpress.com",
	}
	for _, marker := range markers {
		if strings.Contains(where, marker) {
			return true
		}
	}
	return false
}

// unwrap replaces n by its children and returns the node to visit next: the
// first of those children, so they are still rewritten, else n's sibling.
func unwrap(n *html.Node) *html.Node {
	parent := n.Parent
	first := n.FirstChild
	for c := n.FirstChild; c != nil; c = n.FirstChild {
		n.RemoveChild(c)
		parent.InsertBefore(c, n)
	}
	next := n.NextSibling
	parent.RemoveChild(n)
	if first != nil {
		return first
	}
	return next
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == name {
			return a.Val
		}
	}
	return ""
}

func setAttr(n *html.Node, name, value string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == name {
			n.Attr[i].Val = value
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: name, Val: value})
}

func removeAttr(n *html.Node, name string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == name {
			n.Attr = append(n.Attr[:i], n.Attr[i+1:]...)
			return
		}
	}
}
