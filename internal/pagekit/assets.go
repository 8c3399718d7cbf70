package pagekit

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// sharedFiles are the static files every set of pages serves next to its
// own, under its own prefix.
//
//go:embed static
var sharedFiles embed.FS

// asset is one static file and the version its URLs carry.
type asset struct {
	content []byte
	version string
}

// Assets are the static files of one set of pages by name. Their URLs carry
// a content hash, so a deploy that changes a file changes its URL and
// browsers may cache each version for good.
type Assets struct {
	prefix string
	files  map[string]asset
}

// LoadAssets reads the shared files and the files in dir of own, to be
// served at prefix followed by the file's name ("/static/style.css" for the
// prefix "/static/"). Subdirectories and hidden files are left out; a name
// in own that a shared file already has is an error.
func LoadAssets(prefix string, own fs.FS, dir string) (*Assets, error) {
	a := &Assets{prefix: prefix, files: map[string]asset{}}
	if err := a.add(sharedFiles, "static"); err != nil {
		return nil, fmt.Errorf("shared static files: %w", err)
	}
	if err := a.add(own, dir); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Assets) add(fsys fs.FS, dir string) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return fmt.Errorf("read static files: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if _, taken := a.files[name]; taken {
			return fmt.Errorf("static file %s is also a shared one", name)
		}
		content, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return fmt.Errorf("read static file %s: %w", name, err)
		}
		sum := sha256.Sum256(content)
		a.files[name] = asset{content: content, version: hex.EncodeToString(sum[:6])}
	}
	return nil
}

// URL is the versioned address of a static file, for templates.
func (a *Assets) URL(name string) (string, error) {
	f, ok := a.files[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return a.prefix + name + "?v=" + f.version, nil
}

// Handler serves the files at the addresses URL gives, for the route of the
// prefix's files; any other name goes to notFound.
func (a *Assets) Handler(notFound http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, underPrefix := strings.CutPrefix(r.URL.Path, a.prefix)
		f, ok := a.files[name]
		if !underPrefix || !ok {
			notFound(w, r)
			return
		}
		// An address without the current version gets other content after
		// the next deploy, so only the versioned one is cached for good.
		if r.URL.Query().Get("v") == f.version {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		w.Header().Set("ETag", `"`+f.version+`"`)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.content))
	}
}
