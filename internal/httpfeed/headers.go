package httpfeed

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxDeltaSeconds is what RFC 9111 §1.2.2 says to assume for a delta-seconds
// value too large to represent; it also keeps time.Duration from overflowing.
const maxDeltaSeconds = 1 << 31

// ParseRetryAfter reads a Retry-After value, delta-seconds or an HTTP-date,
// as a wait from now. It is zero when v is empty, malformed or in the past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if d, ok := parseDeltaSeconds(v); ok {
		return d
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// parseMaxAge reads max-age from Cache-Control header values. A response
// that must not be cached, or must be revalidated every time, has none.
func parseMaxAge(cacheControl []string) time.Duration {
	var maxAge time.Duration
	found := false
	for _, value := range cacheControl {
		for directive := range strings.SplitSeq(value, ",") {
			name, arg, _ := strings.Cut(directive, "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				// The first one counts; RFC 9111 calls duplicates invalid.
				if d, ok := parseDeltaSeconds(strings.Trim(strings.TrimSpace(arg), `"`)); ok && !found {
					maxAge, found = d, true
				}
			}
		}
	}
	return maxAge
}

// parseDeltaSeconds reads a non-negative whole number of seconds.
func parseDeltaSeconds(s string) (time.Duration, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxDeltaSeconds { // only out of range is possible here
		n = maxDeltaSeconds
	}
	return time.Duration(n) * time.Second, true
}
