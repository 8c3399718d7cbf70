package feedparse

import (
	"net/url"
	"strings"
)

// isTrackingParam reports whether a query parameter only identifies a
// campaign or a click. Stripping those gives an entry the same link whichever
// newsletter or social post it was shared through.
func isTrackingParam(name string) bool {
	name = strings.ToLower(name)
	if strings.HasPrefix(name, "utm_") {
		return true
	}
	switch name {
	case "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid",
		"yclid", "_hsenc", "_hsmi", "mkt_tok", "igshid", "ref_src":
		return true
	}
	return false
}

// parseBase parses a URL to resolve others against; it returns nil unless
// raw is an absolute http(s) URL.
func parseBase(raw string) *url.URL {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !isWebURL(u) {
		return nil
	}
	return u
}

func isWebURL(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// absoluteWebURL resolves raw against base (which may be nil) and returns it
// without tracking parameters, or "" when the result is not an http(s) URL:
// a javascript: or data: link, or a relative one with nothing to resolve it
// against.
func absoluteWebURL(raw string, base *url.URL) string {
	u := webURL(raw, base)
	if u == nil {
		return ""
	}
	return u.String()
}

// webURL is absoluteWebURL before it is written out: nil where that is "".
func webURL(raw string, base *url.URL) *url.URL {
	u := resolve(raw, base)
	if u == nil || !isWebURL(u) {
		return nil
	}
	stripTrackingParams(u)
	return u
}

func resolve(raw string, base *url.URL) *url.URL {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	return u
}

// stripTrackingParams removes tracking parameters from u's query. It edits
// RawQuery by hand because url.Values would reorder the parameters that are
// kept.
func stripTrackingParams(u *url.URL) {
	u.ForceQuery = false
	if u.RawQuery == "" {
		return
	}
	kept := make([]string, 0, strings.Count(u.RawQuery, "&")+1)
	for param := range strings.SplitSeq(u.RawQuery, "&") {
		if param == "" {
			continue
		}
		name, _, _ := strings.Cut(param, "=")
		if unescaped, err := url.QueryUnescape(name); err == nil {
			name = unescaped
		}
		if !isTrackingParam(name) {
			kept = append(kept, param)
		}
	}
	u.RawQuery = strings.Join(kept, "&")
}
