package web

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/radiogram/radiogram/internal/pagekit"
)

func TestTemplatesParse(t *testing.T) {
	p, err := pagekit.ParseTemplates(templateFiles, "templates", nil, pageNames...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range pageNames {
		if p[name] == nil || p[name].Lookup("main") == nil {
			t.Errorf("page %s has no main block", name)
		}
	}
}

// TestPagesAreWellFormed renders every kind of page and checks the rules
// the pages promise: each control labelled, ids unique and every reference
// to one resolvable, headings in order, and nothing inline that the CSP
// would block.
func TestPagesAreWellFormed(t *testing.T) {
	pages := []struct{ method, target, contentType, body string }{
		{"GET", "/", "", ""},
		{"POST", "/subscribe", formType, form("email", "bad", "topics", "ai")},
		{"POST", "/subscribe", formType, form("email", "a@example.org")},
		{"POST", "/subscribe", formType, form("email", "a@example.org", "topics", "ai", "frequency", "hourly")},
		{"POST", "/subscribe", formType, form("email", "a@example.org", "topics", "ai", "frequency", "weekly", "day", "someday")},
		{"POST", "/subscribe", formType, form("email", "a@example.org", "topics", "ai", "hour", "x")},
		{"POST", "/subscribe", formType, form("email", "a@example.org", "topics", "ai", "timezone", "Nowhere/Land")},
		{"POST", "/subscribe", formType, form("email", "a@example.org", "topics", "ai", "format", "pdf")},
		{"POST", "/subscribe", formType, form("email", "a@example.org", "topics", "ai", "societies", "nope")},
		{"POST", "/subscribe", formType, form("email", "a@example.org", "topics", "ai")},
		{"POST", "/manage", formType, form("email", "bad")},
		{"GET", "/confirm?token=confirm:s2", "", ""},
		{"GET", "/confirm?token=expired:s2", "", ""},
		{"GET", "/preferences?token=preferences:s1", "", ""},
		{"POST", "/preferences", formType, form("token", "preferences:s1", "topics", "screening", "frequency", "weekly")},
		{"POST", "/preferences", formType, form("token", "preferences:s1")},
		{"POST", "/preferences/data-link", formType, form("token", "preferences:s1")},
		{"GET", "/unsubscribe?token=unsubscribe:s1", "", ""},
		{"POST", "/unsubscribe", formType, form("token", "unsubscribe:s1")},
		{"GET", "/me/erase?token=erase:s1", "", ""},
		{"POST", "/me/erase", formType, form("token", "erase:s1")},
	}
	for _, p := range pages {
		t.Run(p.method+" "+p.target+" "+p.body, func(t *testing.T) {
			rec := newHarness(t, testCatalog()).do(p.method, p.target, p.contentType, p.body)
			doc, err := html.Parse(rec.Body)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for _, problem := range lintPage(doc) {
				t.Error(problem)
			}
		})
	}
}

// lintPage lists what breaks the pages' accessibility and CSP rules.
func lintPage(doc *html.Node) []string {
	var problems []string
	ids := map[string]string{}       // id -> element
	labelled := map[string]bool{}    // ids named by a label's for
	var described, labelFor []string // ids referred to
	var controls []string            // ids of controls that need a label
	var headings []int
	lang, viewport := "", false

	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(name string) (string, bool) {
				for _, a := range n.Attr {
					if a.Key == name {
						return a.Val, true
					}
				}
				return "", false
			}
			if id, ok := attr("id"); ok {
				if prev, dup := ids[id]; dup {
					problems = append(problems, fmt.Sprintf("id %q on both <%s> and <%s>", id, prev, n.Data))
				}
				ids[id] = n.Data
			}
			if v, ok := attr("aria-describedby"); ok {
				described = append(described, strings.Fields(v)...)
			}
			if _, ok := attr("style"); ok {
				problems = append(problems, fmt.Sprintf("<%s> has a style attribute, which the CSP blocks", n.Data))
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					problems = append(problems, fmt.Sprintf("<%s> has an inline handler %s", n.Data, a.Key))
				}
			}
			switch n.Data {
			case "html":
				lang, _ = attr("lang")
			case "meta":
				if name, _ := attr("name"); name == "viewport" {
					viewport = true
				}
			case "script":
				if _, ok := attr("src"); !ok {
					problems = append(problems, "inline <script>, which the CSP blocks")
				}
			case "style":
				problems = append(problems, "inline <style>, which the CSP blocks")
			case "label":
				if f, ok := attr("for"); ok {
					labelled[f] = true
					labelFor = append(labelFor, f)
				} else {
					problems = append(problems, "a <label> without for")
				}
			case "input", "select", "textarea":
				typ, _ := attr("type")
				if typ == "hidden" || typ == "submit" {
					break
				}
				id, _ := attr("id")
				controls = append(controls, n.Data+"#"+id)
			case "h1", "h2", "h3", "h4", "h5", "h6":
				headings = append(headings, int(n.Data[1]-'0'))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)

	if lang != "en" {
		problems = append(problems, fmt.Sprintf(`<html lang=%q>, want "en"`, lang))
	}
	if !viewport {
		problems = append(problems, "no viewport meta tag")
	}
	for _, c := range controls {
		id := c[strings.Index(c, "#")+1:]
		if id == "" || !labelled[id] {
			problems = append(problems, fmt.Sprintf("control %s has no label", c))
		}
	}
	for _, id := range labelFor {
		switch ids[id] {
		case "input", "select", "textarea":
		default:
			problems = append(problems, fmt.Sprintf("label for %q names no control", id))
		}
	}
	for _, id := range described {
		if _, ok := ids[id]; !ok {
			problems = append(problems, fmt.Sprintf("aria-describedby names a missing id %q", id))
		}
	}
	if len(headings) == 0 || headings[0] != 1 {
		problems = append(problems, fmt.Sprintf("headings %v do not start with one h1", headings))
	}
	for i := 1; i < len(headings); i++ {
		if headings[i] == 1 {
			problems = append(problems, "more than one h1")
		}
		if headings[i] > headings[i-1]+1 {
			problems = append(problems, fmt.Sprintf("heading level jumps from h%d to h%d", headings[i-1], headings[i]))
		}
	}
	return problems
}

// The linter must catch what it claims to, or the test above proves nothing.
func TestLintPageCatchesProblems(t *testing.T) {
	bad := `<!doctype html><html><head></head><body><h2>x</h2><h1>y</h1><h1>z</h1>
<label for="missing">A</label><input id="a" type="text"><input id="a" aria-describedby="nowhere">
<p style="color:red" onclick="x()">p</p><script>alert(1)</script><style>p{}</style></body></html>`
	doc, err := html.Parse(strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(lintPage(doc), "\n")
	for _, want := range []string{
		`<html lang="">`, "no viewport", `id "a" on both`, "control input#a has no label", `label for "missing" names no control`,
		`missing id "nowhere"`, "do not start with one h1", "more than one h1", "style attribute", "inline handler onclick",
		"inline <script>", "inline <style>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lint missed %q; got:\n%s", want, got)
		}
	}
}
