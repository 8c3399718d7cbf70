package pagekit

import (
	"bytes"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// testPages is a set of pages as web and console have them: a layout that
// calls the page's blocks, partials every page may use, and the pages.
var testPages = fstest.MapFS{
	"templates/layout.html":   {Data: []byte(`<title>{{.Title}}</title>{{template "main" .}}`)},
	"templates/partials.html": {Data: []byte(`{{define "shout"}}<b>{{shout .}}</b>{{end}}`)},
	"templates/hello.html":    {Data: []byte(`{{define "main"}}<h1>Hello {{.Name}}</h1>{{template "shout" .Name}}{{end}}`)},
	"templates/bye.html":      {Data: []byte(`{{define "main"}}<p>Bye {{.Name}}</p>{{end}}`)},
	"templates/failing.html":  {Data: []byte(`{{define "main"}}<p>Half a page</p>{{fail}}{{end}}`)},
	"templates/broken.html":   {Data: []byte(`{{define "main"}}{{if}}{{end}}`)},
}

var testFuncs = template.FuncMap{
	"shout": strings.ToUpper,
	"fail":  func() (string, error) { return "", errors.New("the catalog is empty") },
}

type testView struct{ Title, Name string }

func testRenderer(t *testing.T, logs *bytes.Buffer) *Renderer {
	t.Helper()
	pages, err := ParseTemplates(testPages, "templates", testFuncs, "hello.html", "bye.html", "failing.html")
	if err != nil {
		t.Fatal(err)
	}
	return &Renderer{
		Templates:   pages,
		Log:         slog.New(slog.NewTextHandler(logs, nil)),
		LogMessage:  "render test page",
		FailureText: "Something went wrong.",
	}
}

func TestParseTemplates(t *testing.T) {
	pages, err := ParseTemplates(testPages, "templates", testFuncs, "hello.html", "bye.html")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 {
		t.Errorf("%d pages, want 2", len(pages))
	}
	for _, name := range []string{"hello.html", "bye.html"} {
		p := pages[name]
		if p == nil || p.Lookup("layout.html") == nil || p.Lookup("shout") == nil || p.Lookup("main") == nil {
			t.Errorf("page %s lacks the layout, the partials or its main block", name)
		}
	}
	// Each page has its own blocks: the last page parsed does not replace
	// another's.
	var buf bytes.Buffer
	if err := pages["hello.html"].ExecuteTemplate(&buf, "main", testView{Name: "Ada"}); err != nil || !strings.Contains(buf.String(), "Hello Ada") {
		t.Errorf("hello.html's main block rendered %q (%v)", buf.String(), err)
	}
}

func TestParseTemplatesNamesThePageAtFault(t *testing.T) {
	for _, tt := range []struct {
		page, want string
	}{
		{"broken.html", "parse page broken.html: "},
		{"missing.html", "parse page missing.html: "},
	} {
		_, err := ParseTemplates(testPages, "templates", testFuncs, "hello.html", tt.page)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("parsing %s: error %v, want one starting %q", tt.page, err, tt.want)
		}
	}
	// A page that calls a function the set does not have fails too.
	if _, err := ParseTemplates(testPages, "templates", nil, "hello.html"); err == nil || !strings.Contains(err.Error(), "shout") {
		t.Errorf("parsing without the funcs: error %v, want one naming shout", err)
	}
}

func TestMustParseTemplatesPanics(t *testing.T) {
	defer func() {
		if p := recover(); p == nil {
			t.Error("no panic for a page that does not parse")
		}
	}()
	MustParseTemplates(testPages, "templates", testFuncs, "broken.html")
}

func TestRender(t *testing.T) {
	var logs bytes.Buffer
	r := testRenderer(t, &logs)
	rec := httptest.NewRecorder()
	r.Render(rec, httptest.NewRequest("GET", "/", nil), http.StatusBadRequest, "hello.html", testView{Title: "Greeting", Name: "<Ada>"})
	if rec.Code != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if want := "<title>Greeting</title><h1>Hello &lt;Ada&gt;</h1><b>&lt;ADA&gt;</b>"; rec.Body.String() != want {
		t.Errorf("body = %q, want %q", rec.Body, want)
	}
	if logs.Len() != 0 {
		t.Errorf("unexpected log:\n%s", logs.String())
	}
}

// A page that fails half-way is answered with the plain failure text alone,
// and the failure is logged with the page.
func TestRenderFailure(t *testing.T) {
	var logs bytes.Buffer
	r := testRenderer(t, &logs)
	rec := httptest.NewRecorder()
	r.Render(rec, httptest.NewRequest("GET", "/", nil), http.StatusOK, "failing.html", testView{Title: "Failing"})
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if rec.Body.String() != "Something went wrong.\n" {
		t.Errorf("body = %q, want the failure text alone", rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, want := range []string{"level=ERROR", `msg="render test page"`, "page=failing.html", "the catalog is empty"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}
