// Package httpfeed owns fetching feed documents over HTTP: conditional GETs,
// redirects, decompression and size limits, behind a guard that keeps the
// fetcher off addresses that are not on the public internet.
package httpfeed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// DefaultUserAgent names Radiogram to the societies' servers and says where
// to find out more.
const DefaultUserAgent = "Radiogram/1.0 (+https://github.com/radiogram/radiogram; feed fetcher)"

const (
	defaultTimeout      = 10 * time.Second
	defaultMaxBodyBytes = 5 << 20
	defaultMaxRedirects = 5

	acceptFeeds = "application/rss+xml, application/atom+xml, application/feed+json, " +
		"application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"

	// drainLimit bounds how much of an unwanted body is read so that the
	// connection can go back to the pool; past it, closing is cheaper.
	drainLimit = 64 << 10
)

// Options configure a Fetcher. Zero fields take the documented defaults.
type Options struct {
	Timeout       time.Duration // whole request incl. redirects and body read; default 10s
	MaxBodyBytes  int64         // limit after decompression; default 5 MiB
	MaxRedirects  int           // default 5
	UserAgent     string        // default DefaultUserAgent
	AllowLoopback bool          // only for local runs and tests; never default
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = defaultMaxBodyBytes
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = defaultMaxRedirects
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	return o
}

// Fetcher fetches feeds. It keeps connections alive between fetches and is
// safe for concurrent use; share one.
type Fetcher struct {
	opts      Options
	transport *http.Transport
	client    *http.Client
}

// New returns a Fetcher with its own transport.
func New(opts Options) *Fetcher {
	opts = opts.withDefaults()
	dialer := &net.Dialer{
		Timeout:   opts.Timeout,
		KeepAlive: 30 * time.Second,
		// Checked after DNS resolution, on the very address being dialed, so
		// neither a hostile DNS answer nor a redirect can reach inside.
		Control: dialGuard(opts.AllowLoopback),
	}
	transport := &http.Transport{
		// Never a proxy: it would dial on our behalf, out of the guard's sight.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    min(opts.Timeout, 10*time.Second),
		ResponseHeaderTimeout:  opts.Timeout,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		MaxResponseHeaderBytes: 64 << 10,
		// We decompress ourselves so that MaxBodyBytes counts decompressed
		// bytes, and so that a body is never decompressed twice.
		DisableCompression: true,
	}
	return &Fetcher{
		opts:      opts,
		transport: transport,
		client: &http.Client{
			Transport: transport,
			// Redirects are followed by Fetch, which must tell permanent from
			// temporary ones.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// CloseIdleConnections closes the kept-alive connections that are idle.
func (f *Fetcher) CloseIdleConnections() { f.transport.CloseIdleConnections() }

// Request names a feed and the validators stored from its last fetch.
type Request struct {
	URL          string
	ETag         string
	LastModified string
}

// Response is a fetched feed document, or the news that it did not change.
type Response struct {
	StatusCode  int
	NotModified bool   // 304: Body is empty
	Body        []byte // decompressed
	ContentType string
	// ETag and LastModified are the validators to send next time; a 304
	// that omits them keeps the request's.
	ETag         string
	LastModified string
	FinalURL     string // the URL the body came from
	// PermanentURL replaces the request URL when set: it is where the
	// leading, unbroken run of 301/308 redirects led. A temporary redirect
	// ends the run. Empty when the first hop was not a permanent redirect.
	PermanentURL string
	// MaxAge is Cache-Control max-age; zero when absent or when the response
	// says no-store or no-cache.
	MaxAge time.Duration
}

// Fetch GETs the feed, following redirects, within Options.Timeout.
//
// A final status other than 2xx or 304 is a *StatusError. Other failures
// wrap ErrTooLarge, ErrTooManyRedirects, ErrRedirectLoop, ErrBlockedAddress,
// ErrUnsupportedScheme, or a timeout (context.DeadlineExceeded or a net.Error
// whose Timeout is true).
func (f *Fetcher) Fetch(ctx context.Context, req Request) (*Response, error) {
	resp, err := f.fetch(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", req.URL, err)
	}
	return resp, nil
}

func (f *Fetcher) fetch(ctx context.Context, req Request) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()

	target, err := parseFeedURL(req.URL)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{target.String(): true}
	permanentURL := ""
	permanentRun := true
	for redirects := 0; ; redirects++ {
		httpResp, err := f.get(ctx, target, req)
		if err != nil {
			return nil, err
		}
		location := httpResp.Header.Get("Location")
		if !isRedirect(httpResp.StatusCode) || location == "" {
			return f.readResponse(httpResp, req, target.String(), permanentURL)
		}
		discard(httpResp.Body)

		next, err := target.Parse(location)
		if err != nil {
			return nil, fmt.Errorf("redirect from %s: bad Location %q: %w", target, location, err)
		}
		next.Fragment, next.RawFragment = "", ""
		if err := checkScheme(next); err != nil {
			return nil, fmt.Errorf("redirect from %s: %w", target, err)
		}
		nextURL := next.String()
		if seen[nextURL] {
			return nil, fmt.Errorf("redirect from %s back to %s: %w", target, nextURL, ErrRedirectLoop)
		}
		if redirects == f.opts.MaxRedirects {
			return nil, fmt.Errorf("redirect from %s after %d redirects: %w", target, redirects, ErrTooManyRedirects)
		}
		if permanentRun && isPermanentRedirect(httpResp.StatusCode) {
			permanentURL = nextURL
		} else {
			permanentRun = false
		}
		seen[nextURL] = true
		target = next
	}
}

func (f *Fetcher) get(ctx context.Context, target *url.URL, req Request) (*http.Response, error) {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, err
	}
	httpReq.Header.Set("User-Agent", f.opts.UserAgent)
	httpReq.Header.Set("Accept", acceptFeeds)
	httpReq.Header.Set("Accept-Encoding", acceptEncodings)
	// Sent on every hop: the validators belong to the feed, not to one URL
	// of it, and a moved feed is usually the same document.
	if req.ETag != "" {
		httpReq.Header.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		httpReq.Header.Set("If-Modified-Since", req.LastModified)
	}
	return f.client.Do(httpReq)
}

func (f *Fetcher) readResponse(httpResp *http.Response, req Request, finalURL, permanentURL string) (*Response, error) {
	code := httpResp.StatusCode
	if code != http.StatusNotModified && (code < 200 || code > 299) {
		discard(httpResp.Body)
		return nil, &StatusError{
			StatusCode: code,
			RetryAfter: ParseRetryAfter(httpResp.Header.Get("Retry-After"), time.Now()),
		}
	}

	resp := &Response{
		StatusCode:   code,
		ContentType:  httpResp.Header.Get("Content-Type"),
		ETag:         httpResp.Header.Get("ETag"),
		LastModified: httpResp.Header.Get("Last-Modified"),
		FinalURL:     finalURL,
		PermanentURL: permanentURL,
		MaxAge:       parseMaxAge(httpResp.Header.Values("Cache-Control")),
	}
	if code == http.StatusNotModified {
		discard(httpResp.Body)
		resp.NotModified = true
		if resp.ETag == "" {
			resp.ETag = req.ETag
		}
		if resp.LastModified == "" {
			resp.LastModified = req.LastModified
		}
		return resp, nil
	}

	body, err := readBody(httpResp, f.opts.MaxBodyBytes)
	if err != nil {
		// Not drained: what is left may be huge, or may never come.
		_ = httpResp.Body.Close()
		return nil, err
	}
	discard(httpResp.Body)
	resp.Body = body
	return resp, nil
}

func parseFeedURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if err := checkScheme(u); err != nil {
		return nil, err
	}
	if u.Host == "" {
		return nil, errors.New("no host in URL")
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

func checkScheme(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: %w", u.Redacted(), ErrUnsupportedScheme)
	}
	return nil
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

func isPermanentRedirect(code int) bool {
	return code == http.StatusMovedPermanently || code == http.StatusPermanentRedirect
}

// discard reads a little of a body nobody wants, so that a short one leaves
// its connection reusable, and closes it.
func discard(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, drainLimit)
	_ = body.Close()
}
