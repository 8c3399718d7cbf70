package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"

	"github.com/radiogram/radiogram/internal/pagekit"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pages are the parsed templates by file name; each is the base layout, the
// shared partials and one page.
type pages map[string]*template.Template

var pageNames = []string{"signup.html", "preferences.html", "action.html", "message.html"}

func parsePages() (pages, error) {
	out := make(pages, len(pageNames))
	for _, name := range pageNames {
		t, err := template.ParseFS(templateFiles, "templates/layout.html", "templates/partials.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func mustParsePages() pages {
	p, err := parsePages()
	if err != nil {
		panic(err)
	}
	return p
}

// render executes a page into memory first, so that a template failure
// still yields a clean error instead of half a page.
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, page string, view any) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout.html", view); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", page, "err", err)
		http.Error(w, "Something went wrong on our side. Please try again later.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderMessage renders the message page, titled with its heading.
func (s *site) renderMessage(w http.ResponseWriter, r *http.Request, status int, v messageView) {
	v.frame = s.frame(v.Heading)
	s.render(w, r, status, "message.html", v)
}

// loadAssets reads the embedded static files, served under /static/. It
// panics if they cannot be read, which the package's tests rule out.
func loadAssets() *pagekit.Assets {
	assets, err := pagekit.LoadAssets("/static/", staticFiles, "static")
	if err != nil {
		panic(err)
	}
	return assets
}

// errorBody is the API's error shape, with the form field at fault when
// there is one.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
