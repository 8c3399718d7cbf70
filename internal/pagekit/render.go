package pagekit

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
)

// Templates are the parsed pages of one set by file name; each is the set's
// base layout, its shared partials and one page.
type Templates map[string]*template.Template

// The files every set of pages has next to its pages: the base layout,
// which Render executes, and the partials the pages share.
const (
	layoutFile   = "layout.html"
	partialsFile = "partials.html"
)

// ParseTemplates parses each page in dir of fsys together with dir's
// layout.html and partials.html, all of them with funcs (which may be nil).
func ParseTemplates(fsys fs.FS, dir string, funcs template.FuncMap, pages ...string) (Templates, error) {
	out := make(Templates, len(pages))
	for _, name := range pages {
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, path.Join(dir, layoutFile), path.Join(dir, partialsFile), path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// MustParseTemplates is ParseTemplates for embedded templates, which the
// package's tests prove parse: it panics on an error.
func MustParseTemplates(fsys fs.FS, dir string, funcs template.FuncMap, pages ...string) Templates {
	t, err := ParseTemplates(fsys, dir, funcs, pages...)
	if err != nil {
		panic(err)
	}
	return t
}

// Renderer writes the pages of one set.
type Renderer struct {
	Templates Templates
	// Log records pages that failed to render.
	Log *slog.Logger
	// LogMessage is the message of that log line.
	LogMessage string
	// FailureText is the plain-text answer, with status 500, when a page
	// fails to render.
	FailureText string
}

// Render executes page's layout with view into memory first, so that a
// template failure still yields a clean error instead of half a page; then
// it writes the page as HTML with status.
func (r *Renderer) Render(w http.ResponseWriter, req *http.Request, status int, page string, view any) {
	var buf bytes.Buffer
	if err := r.Templates[page].ExecuteTemplate(&buf, layoutFile, view); err != nil {
		r.Log.ErrorContext(req.Context(), r.LogMessage, "page", page, "err", err)
		http.Error(w, r.FailureText, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
