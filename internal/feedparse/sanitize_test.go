package feedparse

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestSanitize(t *testing.T) {
	base, _ := url.Parse("https://example.org/news/2024/item.html")
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"script removed", `<p>Hello</p><script>alert(1)</script>`, `<p>Hello</p>`},
		{"style element removed", `<style>p{color:red}</style><p>Hi</p>`, `<p>Hi</p>`},
		{"event handler removed", `<img src="https://cdn.example.org/a.png" alt="A" onerror="alert(1)">`, `<img src="https://cdn.example.org/a.png" alt="A"/>`},
		{"javascript link unwrapped, words kept apart", `<a href="javascript:alert(1)">click</a>me`, `click me`},
		{"encoded javascript link unwrapped", `<a href="jav&#x09;ascript:alert(1)">click</a>`, `click`},
		{"iframe removed", `<iframe src="https://evil.example/"></iframe><p>ok</p>`, `<p>ok</p>`},
		{"object, embed and form removed", `<object data="x.swf"></object><embed src="y.swf"><form action="/steal"><input name="q"></form><p>ok</p>`, `<p>ok</p>`},
		{"style attribute removed", `<p style="color:red;background:url(javascript:x)">text</p>`, `<p>text</p>`},
		{"data image removed", `<p><img src="data:image/png;base64,iVBORw0KGgo=" alt="x">text</p>`, `<p>text</p>`},
		{"one-pixel image removed", `<p>a<img src="https://cdn.example.org/p.gif" width="1" height="1">b</p>`, `<p>ab</p>`},
		{"zero-height image removed", `<img src="https://cdn.example.org/p.gif" height="0">`, ``},
		{"pixel size in px removed", `<img src="https://cdn.example.org/p.gif" width="2px">`, ``},
		{"feedburner beacon removed", `<img src="https://feeds.feedburner.com/~r/society/~4/abc" alt="">`, ``},
		{"open-tracking path removed", `<img src="https://mail.example.com/track/open?id=9" width="300">`, ``},
		{"doubleclick image removed", `<img src="https://ad.doubleclick.net/ddm/ad.gif">`, ``},
		{"pixel path removed", `<img src="https://stats.example.com/pixel/abc.gif">`, ``},
		{"normal image kept with size", `<img src="https://cdn.example.org/scan.jpg" width="640px" height="480" title="Scan" srcset="a.jpg 2x">`, `<img src="https://cdn.example.org/scan.jpg" width="640" height="480"/>`},
		{"relative image made absolute", `<img src="../img/ct.png" alt="CT">`, `<img src="https://example.org/news/img/ct.png" alt="CT"/>`},
		{"relative link made absolute", `<a href="/about">About</a>`, `<a href="https://example.org/about" rel="noopener noreferrer">About</a>`},
		{"document-relative link", `<a href="other.html#top">Other</a>`, `<a href="https://example.org/news/2024/other.html#top" rel="noopener noreferrer">Other</a>`},
		{"utm params stripped from links", `<a href="https://journal.example.com/a?utm_source=rss&amp;id=1&amp;utm_medium=x&amp;mc_eid=9">Study</a>`, `<a href="https://journal.example.com/a?id=1" rel="noopener noreferrer">Study</a>`},
		{"tracking params stripped from images", `<img src="https://cdn.example.org/a.jpg?utm_source=rss&amp;w=300" alt="">`, `<img src="https://cdn.example.org/a.jpg?w=300" alt=""/>`},
		{"rel replaced, target dropped", `<a href="https://example.com/" rel="opener" target="_blank">x</a>`, `<a href="https://example.com/" rel="noopener noreferrer">x</a>`},
		{"mailto kept", `<a href="mailto:press@example.org">Press</a>`, `<a href="mailto:press@example.org" rel="noopener noreferrer">Press</a>`},
		{"link without href unwrapped", `<a name="top">Top</a>`, `Top`},
		{"image inside a dropped link kept", `<a href="javascript:x()"><img src="/a.png" alt="A"></a>`, `<img src="https://example.org/a.png" alt="A"/>`},
		{"svg with script removed", `<svg><script>alert(1)</script><circle r="5"/></svg><p>ok</p>`, `<p>ok</p>`},
		{"table structure kept", `<table><tr><td colspan="2" onclick="x">cell</td></tr></table>`, `<table><tbody><tr><td colspan="2">cell</td></tr></tbody></table>`},
		{"text escaped", `<p>1 &lt; 2 &amp; 3 &gt; 2</p>`, `<p>1 &lt; 2 &amp; 3 &gt; 2</p>`},
		{"noscript mutation attempt defused", `<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`, `<img src="https://example.org/news/2024/x"/>&#34;&gt;`},
		{"empty after sanitising", `<script>only()</script>`, ``},
	}
	p := NewParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.sanitize(tt.in, base)
			if got != tt.want {
				t.Errorf("sanitize(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if problem := unsafeMarkup(got); problem != "" {
				t.Errorf("sanitize(%q) = %q: %s", tt.in, got, problem)
			}
		})
	}
}

func TestSanitizeDropsContentNestedTooDeep(t *testing.T) {
	deep := strings.Repeat("<div>", 600) + "text"
	if got := NewParser().sanitize(deep, nil); got != "" {
		t.Errorf("sanitize = %.40q…, want it dropped", got)
	}
}

func TestSanitizeWithoutBaseDropsRelativeURLs(t *testing.T) {
	got := NewParser().sanitize(`<p><a href="/a">A</a><img src="b.png" alt="B"></p>`, nil)
	if want := `<p>A</p>`; got != want {
		t.Errorf("sanitize = %q, want %q", got, want)
	}
}

// unsafeMarkup describes the first thing in fragment that the content
// policy should have removed, or returns "" when there is none. It checks
// the output independently of bluemonday, by what a browser would see.
func unsafeMarkup(fragment string) string {
	allowed := map[string]bool{}
	for _, name := range strings.Fields(`p br hr div span h1 h2 h3 h4 h5 h6 blockquote pre code em strong b i u s strike
		del ins sub sup small mark abbr cite q ul ol li dl dt dd figure figcaption table thead tbody tfoot tr th td
		caption a img`) {
		allowed[name] = true
	}
	tokens := html.NewTokenizer(strings.NewReader(fragment))
	for {
		tt := tokens.Next()
		switch tt {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			token := tokens.Token()
			if !allowed[token.Data] {
				return fmt.Sprintf("element <%s> allowed", token.Data)
			}
			for _, a := range token.Attr {
				switch a.Key {
				case "href", "src":
					u, err := url.Parse(a.Val)
					if err != nil || !(u.Scheme == "https" || u.Scheme == "http" || (u.Scheme == "mailto" && a.Key == "href")) || (u.Scheme != "mailto" && u.Host == "") {
						return fmt.Sprintf("%s=%q is not an absolute web URL", a.Key, a.Val)
					}
				case "rel":
					if a.Val != "noopener noreferrer" {
						return fmt.Sprintf("rel=%q", a.Val)
					}
				case "alt", "title", "width", "height", "colspan", "rowspan":
				default:
					return fmt.Sprintf("attribute %s on <%s>", a.Key, token.Data)
				}
			}
			if token.Data == "a" && !hasAttr(token, "rel") && hasAttr(token, "href") {
				return "link without rel"
			}
		}
	}
}

func hasAttr(token html.Token, name string) bool {
	for _, a := range token.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}
