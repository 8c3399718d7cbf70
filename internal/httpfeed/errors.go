package httpfeed

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

var (
	// ErrTooLarge: the body, decompressed, or its announced Content-Length
	// exceeds Options.MaxBodyBytes.
	ErrTooLarge = errors.New("feed body too large")
	// ErrTooManyRedirects: the chain is longer than Options.MaxRedirects.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrRedirectLoop: a redirect leads to a URL already seen in the chain.
	ErrRedirectLoop = errors.New("redirect loop")
	// ErrBlockedAddress: the host resolves to an address that is not on the
	// public internet.
	ErrBlockedAddress = errors.New("address is not public")
	// ErrUnsupportedScheme: the URL, or a redirect target, is not http(s).
	ErrUnsupportedScheme = errors.New("unsupported URL scheme")
)

// StatusError is a final response status other than 2xx or 304.
type StatusError struct {
	StatusCode int
	// RetryAfter is the server's Retry-After; zero when absent or past.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("HTTP status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}
