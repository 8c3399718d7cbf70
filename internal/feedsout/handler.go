package feedsout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/radiogram/radiogram/internal/items"
)

// Content types of the three formats, each in UTF-8.
const (
	ContentTypeRSS  = "application/rss+xml; charset=utf-8"
	ContentTypeAtom = "application/atom+xml; charset=utf-8"
	ContentTypeJSON = "application/feed+json; charset=utf-8"
)

// MaxAge is how long a client or cache may keep a feed without asking
// again; after it, a conditional request costs a 304.
const MaxAge = 5 * time.Minute

// Latest is how many items a feed carries: the newest published.
const Latest = 50

// renderVersion changes the ETags when the rendering changes, so that
// readers holding an old document fetch the new one.
const renderVersion = "1"

// Lister is the item store as feeds read it (*dynamo.ItemStore).
type Lister interface {
	Page(ctx context.Context, q items.PageQuery) (items.Page, error)
}

// Handlers serves the feeds. Its fields are set once.
type Handlers struct {
	Items Lister
	// Topic names a topic id of the taxonomy; ok is false for an unknown
	// one.
	Topic func(id string) (name string, ok bool)
	// KnownSociety tells whether any feed is or was of a society. It is
	// asked only when a society's feed has no items, so a feed that has
	// some never costs a read of the feed registry.
	KnownSociety func(id string) bool
	// Product names the service in feed titles ("Radiogram").
	Product string
	// BaseURL is the configured public address; without it, the domain
	// API Gateway reports, or else the request's host (a local run).
	BaseURL string
	// CacheFor keeps each listing's latest items in memory this long: a
	// feed polled by many readers then costs one read of the store per
	// instance per CacheFor, whatever the polls. 0 reads it every time.
	CacheFor time.Duration
	// Now tells the time for the cache; time.Now without it.
	Now func() time.Time
	Log *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedPage
}

type cachedPage struct {
	items []items.Item
	at    time.Time
}

// maxCached bounds the listings kept: past it the cache starts afresh.
const maxCached = 1024

// Register adds the public feed routes to mux: /feeds/all.{xml,atom,json},
// /feeds/topic/{id}.{…} and /feeds/society/{id}.{…}.
func (h *Handlers) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /feeds/{file}", func(w http.ResponseWriter, r *http.Request) {
		name, format, ok := splitFile(r.PathValue("file"))
		if !ok || name != "all" {
			notFound(w, fmt.Sprintf("no feed %q: the feed of everything is /feeds/all.xml (RSS), .atom or .json", r.PathValue("file")))
			return
		}
		h.serve(w, r, "all", format, items.PageQuery{})
	})
	mux.HandleFunc("GET /feeds/topic/{file}", func(w http.ResponseWriter, r *http.Request) {
		id, format, ok := splitFile(r.PathValue("file"))
		if !ok {
			notFound(w, "a topic's feed is /feeds/topic/{id}.xml (RSS), .atom or .json")
			return
		}
		if _, known := h.Topic(id); !known {
			notFound(w, fmt.Sprintf("no topic %q", id))
			return
		}
		h.serve(w, r, "topic/"+id, format, items.PageQuery{Topic: id})
	})
	mux.HandleFunc("GET /feeds/society/{file}", func(w http.ResponseWriter, r *http.Request) {
		id, format, ok := splitFile(r.PathValue("file"))
		if !ok {
			notFound(w, "a society's feed is /feeds/society/{id}.xml (RSS), .atom or .json")
			return
		}
		h.serve(w, r, "society/"+id, format, items.PageQuery{Societies: []string{id}})
	})
}

type format struct {
	contentType string
	render      func(Feed) ([]byte, error)
}

var formats = map[string]format{
	"xml":  {ContentTypeRSS, RSS},
	"atom": {ContentTypeAtom, Atom},
	"json": {ContentTypeJSON, JSONFeed},
}

// ids of topics and societies are slugs; anything else names no feed.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func splitFile(file string) (id, ext string, ok bool) {
	dot := strings.LastIndexByte(file, '.')
	if dot < 0 {
		return "", "", false
	}
	id, ext = file[:dot], file[dot+1:]
	if _, known := formats[ext]; !known || !idPattern.MatchString(id) {
		return "", "", false
	}
	return id, ext, true
}

func (h *Handlers) serve(w http.ResponseWriter, r *http.Request, scope, ext string, q items.PageQuery) {
	ctx := r.Context()
	latest, err := h.latest(ctx, scope, q)
	if err != nil {
		h.log().ErrorContext(ctx, "read the items of a feed", "feed", scope, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	if len(latest) == 0 && len(q.Societies) == 1 && (h.KnownSociety == nil || !h.KnownSociety(q.Societies[0])) {
		notFound(w, fmt.Sprintf("no society %q", q.Societies[0]))
		return
	}
	base := h.baseURL(r)
	f := Feed{ID: scope, Self: base + r.URL.Path, Items: latest, TopicName: h.topicName}
	switch {
	case q.Topic != "":
		name, _ := h.Topic(q.Topic)
		f.Title = h.product() + " · " + name
		f.Description = "The latest radiology society news on " + name + ", from " + h.product() + "."
		f.Home = base + "/news/topic/" + q.Topic
	case len(q.Societies) == 1:
		// The society's name is in the feed registry, which is not read
		// for a feed with items: its id (an acronym: ESR, RSNA) names it.
		name := strings.ToUpper(q.Societies[0])
		f.Title = h.product() + " · " + name
		f.Description = "The latest news from " + name + ", from " + h.product() + "."
		f.Home = base + "/news/society/" + q.Societies[0]
	default:
		f.Title = h.product() + " · all news"
		f.Description = "The latest news of radiology societies, from " + h.product() + "."
		f.Home = base + "/news"
	}

	tag := etag(ext, f)
	updated := f.Updated()
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(MaxAge.Seconds())))
	w.Header().Set("Last-Modified", updated.Format(http.TimeFormat))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if notModified(r, tag, updated) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	out, err := formats[ext].render(f)
	if err != nil {
		h.log().ErrorContext(ctx, "render a feed", "feed", scope, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", formats[ext].contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// latest reads a listing's newest items, or takes them from the cache.
// An empty listing is not kept: it may be an unknown society's.
func (h *Handlers) latest(ctx context.Context, scope string, q items.PageQuery) ([]items.Item, error) {
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	if h.CacheFor > 0 {
		h.mu.Lock()
		c, ok := h.cache[scope]
		h.mu.Unlock()
		if ok && now.Sub(c.at) < h.CacheFor {
			return c.items, nil
		}
	}
	q.Limit = Latest
	page, err := h.Items.Page(ctx, q)
	if err != nil || h.CacheFor <= 0 || len(page.Items) == 0 {
		return page.Items, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cache == nil || len(h.cache) >= maxCached {
		h.cache = map[string]cachedPage{}
	}
	h.cache[scope] = cachedPage{items: page.Items, at: now}
	return page.Items, nil
}

// etag is a strong validator of one rendering: the format, the feed's
// addresses and title, and each item's id and the times it was published,
// stored and updated. An item's content changes only with its updated
// time, so equal tags are equal documents.
func etag(ext string, f Feed) string {
	hash := sha256.New()
	fmt.Fprintf(hash, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\n", renderVersion, ext, f.ID, f.Title, f.Self, f.Home)
	for _, it := range f.Items {
		fmt.Fprintf(hash, "%s\x00%d\x00%d\x00%d\n", it.Key, it.Published.UnixNano(), it.FirstSeen.UnixNano(), it.UpdatedAt.UnixNano())
	}
	return `"` + hex.EncodeToString(hash.Sum(nil)[:16]) + `"`
}

// notModified applies RFC 9110's conditional GET: If-None-Match when
// present (weak comparison, as it prescribes for it), else
// If-Modified-Since.
func notModified(r *http.Request, tag string, updated time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for candidate := range strings.SplitSeq(inm, ",") {
			candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
			if candidate == "*" || candidate == tag {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		since, err := http.ParseTime(ims)
		return err == nil && !updated.Truncate(time.Second).After(since)
	}
	return false
}

func (h *Handlers) topicName(id string) string {
	name, _ := h.Topic(id)
	return name
}

func (h *Handlers) baseURL(r *http.Request) string {
	switch {
	case h.BaseURL != "":
		return strings.TrimSuffix(h.BaseURL, "/")
	case r.URL.IsAbs() && r.URL.Host != "":
		return "https://" + r.URL.Host
	default:
		return "http://" + r.Host
	}
}

func (h *Handlers) product() string {
	if h.Product != "" {
		return h.Product
	}
	return "Radiogram"
}

func (h *Handlers) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

func notFound(w http.ResponseWriter, reason string) {
	writeError(w, http.StatusNotFound, reason)
}

// writeError answers as the API's other routes do: {"error": reason}.
func writeError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": reason})
}
