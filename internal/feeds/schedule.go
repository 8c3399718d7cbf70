package feeds

import (
	"math"
	"time"
)

// Policy bounds how often a feed is fetched.
type Policy struct {
	// BaseBackoff is the wait after the first failure; it doubles with each
	// consecutive failure up to MaxBackoff.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// MaxDelay caps what a feed may ask for through <ttl>, max-age or
	// Retry-After, so a typo in a feed cannot silence it for months.
	MaxDelay time.Duration
}

// DefaultPolicy suits a schedule that runs every 30 minutes.
var DefaultPolicy = Policy{BaseBackoff: 30 * time.Minute, MaxBackoff: 24 * time.Hour, MaxDelay: 24 * time.Hour}

// Due reports whether a scheduled run should fetch the feed now.
func (f Feed) Due(now time.Time) bool {
	return f.Enabled && !f.NextFetchAt.After(now)
}

// Outcome is what one fetch of a feed found.
type Outcome struct {
	Status Status
	Err    error
	// Wait is the longest of the feed's own hints: <ttl>, Cache-Control
	// max-age, Retry-After.
	Wait            time.Duration
	ETag            string
	LastModified    string
	PermanentURL    string
	ClearValidators bool // a failed parse must not be answered with 304 next time
}

// Record applies a fetch outcome to the feed's state.
func (p Policy) Record(f *Feed, o Outcome, now time.Time) {
	f.LastFetchAt = now
	f.LastStatus = o.Status
	wait := min(o.Wait, p.MaxDelay)
	switch o.Status {
	case StatusOK, StatusUnchanged:
		f.LastSuccessAt = now
		f.LastError = ""
		f.ConsecutiveFailures = 0
		if o.ETag != "" || o.LastModified != "" {
			f.ETag, f.LastModified = o.ETag, o.LastModified
		}
		if o.PermanentURL != "" {
			f.URL = o.PermanentURL
		}
	case StatusGone:
		f.Enabled = false
		f.LastError = errorText(o.Err)
		f.ConsecutiveFailures++
	default:
		f.LastError = errorText(o.Err)
		f.ConsecutiveFailures++
		wait = max(wait, p.backoff(f.ConsecutiveFailures))
		if o.ClearValidators {
			f.ETag, f.LastModified = "", ""
		}
	}
	f.NextFetchAt = now.Add(wait)
}

func (p Policy) backoff(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	wait := float64(p.BaseBackoff) * math.Pow(2, float64(failures-1))
	if wait >= float64(p.MaxBackoff) {
		return p.MaxBackoff
	}
	return time.Duration(wait)
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return msg
}
