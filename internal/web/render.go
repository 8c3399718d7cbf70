package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"time"
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

// asset is one embedded static file and the version its URLs carry.
type asset struct {
	content []byte
	version string
}

// assets are the static files by name. Their URLs carry a content hash, so
// a deploy that changes a file changes its URL and browsers may cache each
// version for good.
type assets map[string]asset

func loadAssets() assets {
	out := assets{}
	entries, err := fs.ReadDir(staticFiles, "static")
	if err != nil {
		panic(fmt.Sprintf("read embedded static files: %v", err))
	}
	for _, e := range entries {
		content, err := staticFiles.ReadFile(path.Join("static", e.Name()))
		if err != nil {
			panic(fmt.Sprintf("read embedded %s: %v", e.Name(), err))
		}
		sum := sha256.Sum256(content)
		out[e.Name()] = asset{content: content, version: hex.EncodeToString(sum[:6])}
	}
	return out
}

// URL is the versioned address of a static file, for templates.
func (a assets) URL(name string) (string, error) {
	f, ok := a[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + f.version, nil
}

func (s *site) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	f, ok := s.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == f.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	w.Header().Set("ETag", `"`+f.version+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.content))
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
