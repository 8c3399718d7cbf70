// Package pagekit owns what every server-rendered page of Radiogram shares:
// parsing a set of pages (layout, partials, pages) and rendering them,
// versioned embedded static files, among them the base stylesheet both sets
// of pages link, and the guard that sets security headers, bounds request
// bodies and turns panics into an error page. Each set of pages keeps its
// own templates, funcs and views.
package pagekit

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
)

// Guard wraps every handler of one set of pages.
type Guard struct {
	// ContentSecurityPolicy is the policy every answer carries.
	ContentSecurityPolicy string
	// CacheControl is set on every answer before the handler runs; a
	// handler may still replace it, as the static files do.
	CacheControl string
	// MaxBodyBytes bounds every request body.
	MaxBodyBytes int64
	// Log records panics, with their stack.
	Log *slog.Logger
	// Problem renders the generic error page after a handler panicked.
	Problem func(w http.ResponseWriter, r *http.Request)
}

// Wrap returns next guarded: security headers set, body bounded, and a
// panic logged and answered with the Problem page instead of a dropped
// connection.
func (g Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", g.ContentSecurityPolicy)
		// The pages' URLs carry tokens and addresses: they must not leak to
		// another site through the Referer header.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", g.CacheControl)
		r.Body = http.MaxBytesReader(w, r.Body, g.MaxBodyBytes)
		defer func() {
			if p := recover(); p != nil {
				// The server's own way to abort a response must reach it.
				if p == http.ErrAbortHandler {
					panic(p)
				}
				g.Log.ErrorContext(r.Context(), "page handler panicked", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				g.Problem(w, r)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// RemoteIP is the address of the connection's peer, without its port: the
// client's address when nothing else tells it.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
