// Package feeds owns the feed registry: which society feeds Radiogram reads,
// their fetch state and health, when each one is next due, and the catalog
// of the topics and societies a subscriber can choose from.
package feeds

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/topics"
)

// Status is the outcome of a feed's last fetch.
type Status string

const (
	StatusNew       Status = ""          // never fetched
	StatusOK        Status = "ok"        // fetched and parsed
	StatusUnchanged Status = "unchanged" // 304 Not Modified
	StatusFailed    Status = "failed"
	StatusGone      Status = "gone" // 410: disabled until an admin re-enables it
)

// Feed is one society feed and what Radiogram knows of its health.
type Feed struct {
	ID      string   `json:"id"`
	Society string   `json:"society"`
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Enabled bool     `json:"enabled"`
	Topics  []string `json:"topics,omitempty"` // defaults for items the tagger cannot place
	// AlwaysTopics are given to every item of the feed besides the tagger's
	// (a federation for one modality). Only the registry sets them, and
	// ingest reads them from the registry (Registry.AlwaysTopics), so a
	// change to the file reaches a feed already in the table.
	AlwaysTopics []string `json:"always_topics,omitempty"`

	ETag                string    `json:"etag,omitempty"`
	LastModified        string    `json:"last_modified,omitempty"`
	LastFetchAt         time.Time `json:"last_fetch_at,omitzero"`
	LastSuccessAt       time.Time `json:"last_success_at,omitzero"`
	LastStatus          Status    `json:"last_status"`
	LastError           string    `json:"last_error,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	NextFetchAt         time.Time `json:"next_fetch_at,omitzero"`
	ItemCount           int       `json:"item_count"`
}

// IDFor derives a feed's id from its society and the URL it was registered
// with, so that seeding the same registry twice cannot create twins. The id
// stays when a permanent redirect later moves the feed's URL.
func IDFor(society, rawURL string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(rawURL)))
	return society + "-" + hex.EncodeToString(sum[:4])
}

var societyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// Validate reports what is wrong with a feed an admin or a registry file
// describes, in words fit for an API answer.
func (f Feed) Validate() error {
	if !societyPattern.MatchString(f.Society) {
		return fmt.Errorf("society %q must be a lower-case id of letters, digits and dashes (at most 40)", f.Society)
	}
	if strings.TrimSpace(f.Name) == "" {
		return errors.New("name is required")
	}
	if len(f.Name) > 200 {
		return errors.New("name must be at most 200 characters")
	}
	return ValidateURL(f.URL)
}

// ValidateURL accepts absolute http and https URLs with a host and nothing
// that would smuggle credentials.
func ValidateURL(raw string) error {
	if raw == "" {
		return errors.New("url is required")
	}
	if len(raw) > 2048 {
		return errors.New("url must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q is not a valid URL", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q must use http or https", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("url %q has no host", raw)
	}
	if u.User != nil {
		return fmt.Errorf("url %q must not carry credentials", raw)
	}
	return nil
}

// registryEntry is one line of a registry file; Enabled defaults to true.
type registryEntry struct {
	Society string   `json:"society"`
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Enabled *bool    `json:"enabled"`
	Topics  []string `json:"topics"`
	// AlwaysTopics: see Feed.
	AlwaysTopics []string `json:"always_topics"`
}

// Registry is the set of feeds a deployment starts from.
type Registry struct {
	Feeds []Feed
	// Version changes whenever the file's content does, so a store can tell
	// whether it has already seeded this registry.
	Version string
}

// AlwaysTopics are the always_topics of the registry's feed with this id
// (none for a feed the registry does not list, such as one an admin added).
func (r Registry) AlwaysTopics(feedID string) []string {
	for _, f := range r.Feeds {
		if f.ID == feedID {
			return f.AlwaysTopics
		}
	}
	return nil
}

// TopicsBySociety is, per society, what ingest gives the tagger for its
// feeds' items: their always_topics and default topics (of all the
// society's feeds, in file order). The tagger's quality test and trainer
// read the corpus, whose items name their society, not their feed.
func (r Registry) TopicsBySociety() map[string]topics.FeedTopics {
	by := map[string]topics.FeedTopics{}
	for _, f := range r.Feeds {
		ft := by[f.Society]
		ft.Always = appendMissing(ft.Always, f.AlwaysTopics)
		ft.Defaults = appendMissing(ft.Defaults, f.Topics)
		by[f.Society] = ft
	}
	return by
}

func appendMissing(list, ids []string) []string {
	for _, id := range ids {
		if !slices.Contains(list, id) {
			list = append(list, id)
		}
	}
	return list
}

// ParseRegistry reads a registry file:
// [{"society":"esr","name":"European Society of Radiology","url":"https://..."}].
// knownTopic validates topics and always_topics; nil accepts any.
func ParseRegistry(data []byte, knownTopic func(string) bool) (Registry, error) {
	var entries []registryEntry
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return Registry{}, fmt.Errorf("parse feed registry: %w", err)
	}
	seen := make(map[string]bool, len(entries))
	reg := Registry{Feeds: make([]Feed, 0, len(entries))}
	for i, e := range entries {
		f := Feed{Society: e.Society, Name: strings.TrimSpace(e.Name), URL: strings.TrimSpace(e.URL), Enabled: e.Enabled == nil || *e.Enabled, Topics: e.Topics, AlwaysTopics: e.AlwaysTopics}
		if err := f.Validate(); err != nil {
			return Registry{}, fmt.Errorf("feed registry entry %d: %w", i+1, err)
		}
		for _, t := range f.Topics {
			if knownTopic != nil && !knownTopic(t) {
				return Registry{}, fmt.Errorf("feed registry entry %d: unknown topic %q", i+1, t)
			}
		}
		for _, t := range f.AlwaysTopics {
			if knownTopic != nil && !knownTopic(t) {
				return Registry{}, fmt.Errorf("feed registry entry %d: unknown topic %q in always_topics", i+1, t)
			}
		}
		f.ID = IDFor(f.Society, f.URL)
		if seen[f.ID] {
			return Registry{}, fmt.Errorf("feed registry entry %d: %s is listed twice", i+1, f.URL)
		}
		seen[f.ID] = true
		reg.Feeds = append(reg.Feeds, f)
	}
	sum := sha256.Sum256(data)
	reg.Version = hex.EncodeToString(sum[:8])
	return reg, nil
}

// Errors a feed store reports in terms the API can answer with.
var (
	ErrExists   = errors.New("feed already registered")
	ErrNotFound = errors.New("feed not found")
)
