package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// feedServer plays the societies' web servers: good feeds in each format
// with ETags, and the faults a real fleet of feeds shows.
type feedServer struct {
	*httptest.Server
	// esrTitle is the title of the ESR item that the second run sees changed.
	esrTitle    atomic.Value
	notModified atomic.Int32
	mu          sync.Mutex
	hits        map[string]int
}

type feedDef struct {
	society, path string
	topics        []string
}

// The registry the tests ingest: four good feeds (one reached through a
// permanent redirect) and seven broken ones.
var testFeeds = []feedDef{
	{"esr", "/old/esr-feed", nil},
	{"rsna", "/rsna/feed", nil},
	{"acr", "/acr/feed.json", nil},
	{"wfumb", "/wfumb/feed", []string{"ultrasound"}},
	{"broken", "/broken/truncated", nil},
	{"broken", "/broken/page", nil},
	{"broken", "/broken/500", nil},
	{"broken", "/broken/slow", nil},
	{"broken", "/broken/big", nil},
	{"broken", "/broken/bomb", nil},
	{"gone", "/broken/gone", nil},
}

func newFeedServer(t testing.TB) *feedServer {
	t.Helper()
	fs := &feedServer{hits: map[string]int{}}
	fs.esrTitle.Store("Joint statement on lung cancer screening")
	mux := http.NewServeMux()
	serve := func(path, file, contentType string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			body := fs.fixture(t, file)
			fs.serveWithETag(w, r, contentType, body)
		})
	}
	serve("/esr/feed", "esr.rss", "application/rss+xml; charset=utf-8")
	serve("/rsna/feed", "rsna.atom", "application/atom+xml")
	serve("/acr/feed.json", "acr.json", "application/feed+json")
	serve("/wfumb/feed", "wfumb-latin1.rss", "application/rss+xml")
	serve("/broken/truncated", "truncated.xml", "application/rss+xml")
	serve("/broken/page", "notafeed.html", "text/html")
	serve("/broken/bomb", "bomb.xml", "application/xml")
	mux.HandleFunc("/old/esr-feed", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/esr/feed", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/broken/500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database down", http.StatusInternalServerError)
	})
	mux.HandleFunc("/broken/gone", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "this feed is gone", http.StatusGone)
	})
	mux.HandleFunc("/broken/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/broken/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>`)
		item := `<item><title>Filler</title><description>` + strings.Repeat("x", 1000) + `</description></item>`
		for range 2000 { // about 2 MB, over the 1 MiB test limit
			fmt.Fprint(w, item)
		}
		fmt.Fprint(w, `</channel></rss>`)
	})
	fs.Server = httptest.NewServer(countHits(fs, mux))
	t.Cleanup(fs.Close)
	return fs
}

func countHits(fs *feedServer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.hits[r.URL.Path]++
		fs.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (fs *feedServer) hitCount(path string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.hits[path]
}

func (fs *feedServer) fixture(t testing.TB, name string) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", "feeds", name))
	if err != nil {
		t.Error(err)
		return nil
	}
	s := strings.ReplaceAll(string(data), "{{BASE}}", fs.URL)
	s = strings.ReplaceAll(s, "{{TITLE}}", fs.esrTitle.Load().(string))
	return []byte(s)
}

func (fs *feedServer) serveWithETag(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		fs.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Write(body)
}

// writeRegistry writes a feed registry file for defs on this server.
func (fs *feedServer) writeRegistry(t testing.TB, defs []feedDef) string {
	t.Helper()
	type entry struct {
		Society string   `json:"society"`
		Name    string   `json:"name"`
		URL     string   `json:"url"`
		Topics  []string `json:"topics,omitempty"`
	}
	var entries []entry
	for _, d := range defs {
		entries = append(entries, entry{Society: d.society, Name: strings.ToUpper(d.society) + " news", URL: fs.URL + d.path, Topics: d.topics})
	}
	data, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "feeds.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
