package httpfeed

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newLoopbackFetcher returns a Fetcher allowed to reach httptest servers.
func newLoopbackFetcher(t *testing.T, opts Options) *Fetcher {
	t.Helper()
	opts.AllowLoopback = true
	f := New(opts)
	t.Cleanup(f.CloseIdleConnections)
	return f
}

func newServer(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

func readFixture(t *testing.T) []byte {
	t.Helper()
	feed, err := os.ReadFile("testdata/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	return feed
}

func compress(t *testing.T, encoding string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch encoding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zlib":
		w = zlib.NewWriter(&buf)
	case "flate":
		fw, err := flate.NewWriter(&buf, flate.DefaultCompression)
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	default:
		t.Fatalf("unknown encoding %q", encoding)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

func TestFetchReturnsBodyAndValidators(t *testing.T) {
	feed := readFixture(t)
	var got http.Header
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 03 Nov 2025 09:00:00 GMT")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(feed)
	})

	resp, err := newLoopbackFetcher(t, Options{}).Fetch(t.Context(), Request{URL: srv.URL + "/feed.xml"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.NotModified {
		t.Errorf("status %d, not modified %v; want 200, false", resp.StatusCode, resp.NotModified)
	}
	if !bytes.Equal(resp.Body, feed) {
		t.Errorf("body = %q, want the fixture", resp.Body)
	}
	if resp.ContentType != "application/rss+xml; charset=utf-8" {
		t.Errorf("content type = %q", resp.ContentType)
	}
	if resp.ETag != `"v1"` || resp.LastModified != "Mon, 03 Nov 2025 09:00:00 GMT" {
		t.Errorf("validators = %q, %q", resp.ETag, resp.LastModified)
	}
	if resp.FinalURL != srv.URL+"/feed.xml" || resp.PermanentURL != "" {
		t.Errorf("final URL %q, permanent URL %q", resp.FinalURL, resp.PermanentURL)
	}
	if resp.MaxAge != 5*time.Minute {
		t.Errorf("max age = %v, want 5m", resp.MaxAge)
	}

	wantHeaders := map[string]string{
		"User-Agent":        DefaultUserAgent,
		"Accept":            acceptFeeds,
		"Accept-Encoding":   "gzip, deflate",
		"If-None-Match":     "",
		"If-Modified-Since": "",
	}
	for name, want := range wantHeaders {
		if v := got.Get(name); v != want {
			t.Errorf("request header %s = %q, want %q", name, v, want)
		}
	}
}

func TestFetchUserAgent(t *testing.T) {
	var got string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.UserAgent()
	})
	const ua = "Radiogram-test/0.1"
	if _, err := newLoopbackFetcher(t, Options{UserAgent: ua}).Fetch(t.Context(), Request{URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if got != ua {
		t.Errorf("User-Agent = %q, want %q", got, ua)
	}
}

func TestFetchConditionalGet(t *testing.T) {
	const lastModified = "Fri, 31 Oct 2025 14:30:00 GMT"
	tests := []struct {
		name            string
		etag            string // what the server sends with 200
		lastModified    string
		repeatValidator bool // whether the 304 carries the validators again
	}{
		{name: "ETag", etag: `"abc"`, repeatValidator: true},
		{name: "Last-Modified", lastModified: lastModified, repeatValidator: true},
		{name: "both", etag: `W/"abc"`, lastModified: lastModified, repeatValidator: true},
		{name: "304 omits validators", etag: `"abc"`, lastModified: lastModified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotETag, gotSince string
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				gotETag, gotSince = r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
				matches := (tt.etag != "" && gotETag == tt.etag) ||
					(tt.lastModified != "" && gotSince == tt.lastModified)
				if !matches || tt.repeatValidator {
					if tt.etag != "" {
						w.Header().Set("ETag", tt.etag)
					}
					if tt.lastModified != "" {
						w.Header().Set("Last-Modified", tt.lastModified)
					}
				}
				if matches {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Write([]byte("<rss/>"))
			})
			f := newLoopbackFetcher(t, Options{})

			first, err := f.Fetch(t.Context(), Request{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if first.NotModified || first.ETag != tt.etag || first.LastModified != tt.lastModified {
				t.Fatalf("first fetch: not modified %v, validators %q %q", first.NotModified, first.ETag, first.LastModified)
			}

			second, err := f.Fetch(t.Context(), Request{URL: srv.URL, ETag: first.ETag, LastModified: first.LastModified})
			if err != nil {
				t.Fatal(err)
			}
			if gotETag != tt.etag || gotSince != tt.lastModified {
				t.Errorf("conditional headers sent: %q, %q; want %q, %q", gotETag, gotSince, tt.etag, tt.lastModified)
			}
			if !second.NotModified || second.StatusCode != http.StatusNotModified || len(second.Body) != 0 {
				t.Errorf("second fetch: status %d, not modified %v, body %q", second.StatusCode, second.NotModified, second.Body)
			}
			if second.ETag != tt.etag || second.LastModified != tt.lastModified {
				t.Errorf("validators after 304 = %q, %q; want %q, %q", second.ETag, second.LastModified, tt.etag, tt.lastModified)
			}
		})
	}
}

func TestFetchDecodesContentEncoding(t *testing.T) {
	feed := readFixture(t)
	gzipFeed := compress(t, "gzip", feed)
	tests := []struct {
		name     string
		encoding string
		body     []byte
		want     []byte
	}{
		{name: "identity", encoding: "", body: feed, want: feed},
		{name: "gzip", encoding: "gzip", body: gzipFeed, want: feed},
		{name: "x-gzip", encoding: "x-gzip", body: gzipFeed, want: feed},
		{name: "deflate, zlib-wrapped", encoding: "deflate", body: compress(t, "zlib", feed), want: feed},
		{name: "deflate, raw", encoding: "deflate", body: compress(t, "flate", feed), want: feed},
		{name: "gzip label on a plain body", encoding: "gzip", body: feed, want: feed},
		{name: "one encoding is undone once", encoding: "gzip", body: compress(t, "gzip", gzipFeed), want: gzipFeed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.encoding != "" {
					w.Header().Set("Content-Encoding", tt.encoding)
				}
				w.Write(tt.body)
			})
			resp, err := newLoopbackFetcher(t, Options{}).Fetch(t.Context(), Request{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resp.Body, tt.want) {
				t.Errorf("body = %.40q…, want %.40q…", resp.Body, tt.want)
			}
		})
	}
}

func TestFetchRejectsUnknownContentEncoding(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		w.Write([]byte{0x0b, 0x02, 0x80})
	})
	_, err := newLoopbackFetcher(t, Options{}).Fetch(t.Context(), Request{URL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), `unsupported Content-Encoding "br"`) {
		t.Errorf("err = %v, want unsupported Content-Encoding", err)
	}
}

func TestFetchBodyLimit(t *testing.T) {
	const limit = 64 << 10
	// 8 MiB of zeros compress to a few KiB, well under the limit.
	bomb := compress(t, "gzip", make([]byte, 8<<20))
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr error
	}{
		{
			name: "body at the limit",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write(bytes.Repeat([]byte("a"), limit))
			},
		},
		{
			name: "gzip bomb",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				w.Header().Set("Content-Length", fmt.Sprint(len(bomb)))
				w.Write(bomb)
			},
			wantErr: ErrTooLarge,
		},
		{
			name: "Content-Length over the limit, body never sent",
			handler: func(w http.ResponseWriter, r *http.Request) {
				// The body never comes: reading it would end in a timeout,
				// not in ErrTooLarge.
				w.Header().Set("Content-Length", fmt.Sprint(limit+1))
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
			wantErr: ErrTooLarge,
		},
		{
			name: "chunked body over the limit",
			handler: func(w http.ResponseWriter, r *http.Request) {
				chunk := bytes.Repeat([]byte("b"), 1<<10)
				for range limit/len(chunk) + 1 {
					if _, err := w.Write(chunk); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			},
			wantErr: ErrTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.handler)
			f := newLoopbackFetcher(t, Options{MaxBodyBytes: limit, Timeout: 5 * time.Second})
			resp, err := f.Fetch(t.Context(), Request{URL: srv.URL})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.Body) != limit {
					t.Errorf("body has %d bytes, want %d", len(resp.Body), limit)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// hop is how a redirect test server answers one path: a redirect when
// status is 3xx, else 200 with the path as body.
type hop struct {
	status   int
	location string
}

func TestFetchRedirects(t *testing.T) {
	tests := []struct {
		name          string
		routes        map[string]hop
		wantFinal     string // path
		wantPermanent string // path; "" for none
		wantErr       error
	}{
		{
			name:          "301 then 200",
			routes:        map[string]hop{"/a": {301, "/b"}},
			wantFinal:     "/b",
			wantPermanent: "/b",
		},
		{
			name:          "308 then 200",
			routes:        map[string]hop{"/a": {308, "/b"}},
			wantFinal:     "/b",
			wantPermanent: "/b",
		},
		{
			name:      "302 then 200",
			routes:    map[string]hop{"/a": {302, "/b"}},
			wantFinal: "/b",
		},
		{
			name:      "307 then 200",
			routes:    map[string]hop{"/a": {307, "/b"}},
			wantFinal: "/b",
		},
		{
			name:      "303 then 200",
			routes:    map[string]hop{"/a": {303, "/b"}},
			wantFinal: "/b",
		},
		{
			name:          "301, 302, 200: the 301 target",
			routes:        map[string]hop{"/a": {301, "/b"}, "/b": {302, "/c"}},
			wantFinal:     "/c",
			wantPermanent: "/b",
		},
		{
			name:          "301, 308, 200: the last permanent target",
			routes:        map[string]hop{"/a": {301, "/b"}, "/b": {308, "/c"}},
			wantFinal:     "/c",
			wantPermanent: "/c",
		},
		{
			name:          "301, 302, 301, 200: the run stops at the 302",
			routes:        map[string]hop{"/a": {301, "/b"}, "/b": {302, "/c"}, "/c": {301, "/d"}},
			wantFinal:     "/d",
			wantPermanent: "/b",
		},
		{
			name:      "302, 301, 200: no permanent URL",
			routes:    map[string]hop{"/a": {302, "/b"}, "/b": {301, "/c"}},
			wantFinal: "/c",
		},
		{
			name:          "relative Location",
			routes:        map[string]hop{"/a": {301, "./news/feed?x=1#top"}},
			wantFinal:     "/news/feed?x=1",
			wantPermanent: "/news/feed?x=1",
		},
		{
			name: "5 redirects are allowed",
			routes: map[string]hop{
				"/a": {302, "/r1"}, "/r1": {302, "/r2"}, "/r2": {302, "/r3"}, "/r3": {302, "/r4"}, "/r4": {302, "/r5"},
			},
			wantFinal: "/r5",
		},
		{
			name: "6 redirects are too many",
			routes: map[string]hop{
				"/a": {302, "/r1"}, "/r1": {302, "/r2"}, "/r2": {302, "/r3"}, "/r3": {302, "/r4"}, "/r4": {302, "/r5"},
				"/r5": {302, "/r6"},
			},
			wantErr: ErrTooManyRedirects,
		},
		{
			name:    "loop",
			routes:  map[string]hop{"/a": {302, "/b"}, "/b": {301, "/a"}},
			wantErr: ErrRedirectLoop,
		},
		{
			name:    "redirect to itself",
			routes:  map[string]hop{"/a": {301, "/a"}},
			wantErr: ErrRedirectLoop,
		},
		{
			name:    "redirect to ftp",
			routes:  map[string]hop{"/a": {301, "ftp://127.0.0.1/feed.xml"}},
			wantErr: ErrUnsupportedScheme,
		},
		{
			name:    "redirect to file",
			routes:  map[string]hop{"/a": {302, "file:///etc/passwd"}},
			wantErr: ErrUnsupportedScheme,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if h, ok := tt.routes[r.URL.Path]; ok {
					// Not http.Redirect: it would resolve relative locations itself.
					w.Header().Set("Location", h.location)
					w.WriteHeader(h.status)
					return
				}
				fmt.Fprint(w, r.URL.RequestURI())
			})
			resp, err := newLoopbackFetcher(t, Options{}).Fetch(t.Context(), Request{URL: srv.URL + "/a"})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Body) != tt.wantFinal || resp.FinalURL != srv.URL+tt.wantFinal {
				t.Errorf("body %q from %q, want it from %s", resp.Body, resp.FinalURL, tt.wantFinal)
			}
			wantPermanent := ""
			if tt.wantPermanent != "" {
				wantPermanent = srv.URL + tt.wantPermanent
			}
			if resp.PermanentURL != wantPermanent {
				t.Errorf("permanent URL = %q, want %q", resp.PermanentURL, wantPermanent)
			}
		})
	}
}

func TestFetchSendsValidatorsOnEveryHop(t *testing.T) {
	var mu sync.Mutex
	sent := map[string]string{}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent[r.URL.Path] = r.Header.Get("If-None-Match") + " | " + r.Header.Get("If-Modified-Since")
		mu.Unlock()
		switch r.URL.Path {
		case "/a":
			http.Redirect(w, r, "/b", http.StatusMovedPermanently)
		case "/b":
			http.Redirect(w, r, "/c", http.StatusFound)
		default:
			w.WriteHeader(http.StatusNotModified)
		}
	})
	req := Request{URL: srv.URL + "/a", ETag: `"e1"`, LastModified: "Mon, 03 Nov 2025 09:00:00 GMT"}
	resp, err := newLoopbackFetcher(t, Options{}).Fetch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.NotModified || resp.PermanentURL != srv.URL+"/b" || resp.FinalURL != srv.URL+"/c" {
		t.Errorf("not modified %v, permanent %q, final %q", resp.NotModified, resp.PermanentURL, resp.FinalURL)
	}
	want := req.ETag + " | " + req.LastModified
	for _, path := range []string{"/a", "/b", "/c"} {
		if sent[path] != want {
			t.Errorf("%s got validators %q, want %q", path, sent[path], want)
		}
	}
}

func TestFetchStatusErrors(t *testing.T) {
	inTwoMinutes := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		// The HTTP-date form is measured from the fetch's own clock, a
		// moment after the date was written, and has whole seconds only.
		wantRetryMin, wantRetryMax time.Duration
	}{
		{name: "404", status: 404},
		{name: "410", status: 410},
		{name: "500", status: 500},
		{name: "429 with seconds", status: 429, retryAfter: "120", wantRetryMin: 2 * time.Minute, wantRetryMax: 2 * time.Minute},
		{name: "429 with a date", status: 429, retryAfter: inTwoMinutes, wantRetryMin: 118 * time.Second, wantRetryMax: 2 * time.Minute},
		{name: "503 with seconds", status: 503, retryAfter: "3600", wantRetryMin: time.Hour, wantRetryMax: time.Hour},
		{name: "503 with a date", status: 503, retryAfter: inTwoMinutes, wantRetryMin: 118 * time.Second, wantRetryMax: 2 * time.Minute},
		{name: "503 with garbage", status: 503, retryAfter: "soon"},
		{name: "redirect without Location", status: 301},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, "error page")
			})
			resp, err := newLoopbackFetcher(t, Options{}).Fetch(t.Context(), Request{URL: srv.URL})
			var statusErr *StatusError
			if !errors.As(err, &statusErr) {
				t.Fatalf("Fetch = %v, %v; want a *StatusError", resp, err)
			}
			if statusErr.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", statusErr.StatusCode, tt.status)
			}
			if r := statusErr.RetryAfter; r < tt.wantRetryMin || r > tt.wantRetryMax {
				t.Errorf("retry after = %v, want between %v and %v", r, tt.wantRetryMin, tt.wantRetryMax)
			}
			if wantPrefix := "fetch " + srv.URL + ": "; !strings.HasPrefix(err.Error(), wantPrefix) {
				t.Errorf("error %q does not start with %q", err, wantPrefix)
			}
		})
	}
}

func TestFetchTimeout(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{
			name: "no response headers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
		},
		{
			name: "body stalls",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "<rss>")
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
		},
		{
			name: "redirect, then no response headers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/" {
					http.Redirect(w, r, "/slow", http.StatusFound)
					return
				}
				<-r.Context().Done()
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.handler)
			f := newLoopbackFetcher(t, Options{Timeout: 200 * time.Millisecond})
			_, err := f.Fetch(t.Context(), Request{URL: srv.URL + "/"})
			if !isTimeout(err) {
				t.Errorf("err = %v, want a timeout", err)
			}
		})
	}
}

func TestFetchRefusesLoopbackByDefault(t *testing.T) {
	var connections, requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			connections.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	f := New(Options{})
	t.Cleanup(f.CloseIdleConnections)
	for _, url := range []string{srv.URL, "http://localhost:" + port + "/feed"} {
		_, err := f.Fetch(t.Context(), Request{URL: url})
		if !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("Fetch(%s) = %v, want ErrBlockedAddress", url, err)
		}
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("server accepted %d connections, want none", n)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("server handled %d requests, want none", n)
	}
}

func TestFetchRejectsBadURLs(t *testing.T) {
	tests := []struct {
		url     string
		wantErr error // nil: any error
	}{
		{url: "ftp://127.0.0.1/feed.xml", wantErr: ErrUnsupportedScheme},
		{url: "file:///etc/passwd", wantErr: ErrUnsupportedScheme},
		{url: "feed.xml", wantErr: ErrUnsupportedScheme},
		{url: "http:///feed.xml"},
		{url: "http://[::1/feed.xml"},
	}
	f := newLoopbackFetcher(t, Options{})
	for _, tt := range tests {
		_, err := f.Fetch(t.Context(), Request{URL: tt.url})
		if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
			t.Errorf("Fetch(%q) = %v, want %v", tt.url, err, tt.wantErr)
			continue
		}
		if wantPrefix := "fetch " + tt.url + ": "; !strings.HasPrefix(err.Error(), wantPrefix) {
			t.Errorf("error %q does not start with %q", err, wantPrefix)
		}
	}
}

func TestFetchReusesConnections(t *testing.T) {
	feed := readFixture(t)
	gzipFeed := compress(t, "gzip", feed)
	var connections atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzipFeed)
		case "/moved":
			http.Redirect(w, r, "/plain", http.StatusMovedPermanently)
		case "/gone":
			http.Error(w, "gone", http.StatusGone)
		default:
			w.Write(feed)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			connections.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	f := newLoopbackFetcher(t, Options{})
	for _, path := range []string{"/plain", "/gzip", "/moved", "/gone", "/plain"} {
		var statusErr *StatusError
		if _, err := f.Fetch(t.Context(), Request{URL: srv.URL + path}); err != nil && !errors.As(err, &statusErr) {
			t.Fatal(err)
		}
	}
	if n := connections.Load(); n != 1 {
		t.Errorf("sequential fetches opened %d connections, want 1", n)
	}
}

func TestFetchIsSafeForConcurrentUse(t *testing.T) {
	feed := readFixture(t)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusPermanentRedirect)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		gz.Write(feed)
		gz.Close()
	})
	f := newLoopbackFetcher(t, Options{})

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			path := "/new"
			if i%2 == 0 {
				path = "/old"
			}
			resp, err := f.Fetch(t.Context(), Request{URL: srv.URL + path})
			switch {
			case err != nil:
				errs <- err
			case !bytes.Equal(resp.Body, feed):
				errs <- fmt.Errorf("%s: body differs from the fixture", path)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTransportNeverUsesAProxy(t *testing.T) {
	// A proxy would make the connection on our behalf, so the dial-time
	// guard would only ever see the proxy's address.
	t.Setenv("HTTP_PROXY", "http://proxy.invalid:3128")
	t.Setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
	f := New(Options{})
	if f.transport.Proxy != nil {
		t.Error("transport has a Proxy function")
	}
	if !f.transport.DisableCompression {
		t.Error("transport decompresses on its own: the body limit would count compressed bytes")
	}
}
