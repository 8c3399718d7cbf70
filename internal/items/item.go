// Package items owns the normalised news item: what Radiogram keeps of one
// entry of a society's feed, however that feed was formatted.
package items

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Length caps on what an item stores. Together they keep an item far below
// DynamoDB's 400 KB item limit (at most about 75 KB of text, with four-byte
// runes), so that no entry, however hostile its feed, fails to store for
// its size. The parser applies them; each is documented where it is cut.
const (
	// MaxTitleRunes caps the title, cut at a word boundary with an ellipsis.
	MaxTitleRunes = 1000
	// MaxSummaryRunes caps the plain-text summary, cut at a word boundary
	// with an ellipsis (so at most one rune more).
	MaxSummaryRunes = 300
	// MaxContentBytes caps the sanitised HTML content: it is cut after the
	// last text that fits, with every open element closed.
	MaxContentBytes = 64 << 10
	// MaxLinkBytes caps the link. A longer link is dropped, not cut: a
	// shortened address would lead somewhere else.
	MaxLinkBytes = 2048
	// MaxGUIDBytes caps the stored GUID; a longer one is stored as its
	// SHA-256 (the storage key is a hash of the GUID either way).
	MaxGUIDBytes = 1024
)

// ErrRejected is wrapped by an item store's error when the store refused
// the item itself (too large, invalid attribute), not because it was
// unavailable: storing it again would fail again.
var ErrRejected = errors.New("item rejected by the store")

// MaxTopics is the most topics an admin may give one item: as many as the
// default taxonomy's rules give (max_topics, 3) and a feed's own topic.
const MaxTopics = 4

// TopicScore is how strongly an item belongs to one topic of the taxonomy.
type TopicScore struct {
	ID    string  `json:"id" dynamodbav:"id"`
	Score float64 `json:"score" dynamodbav:"score"`
	// Source says what gave the item this topic, so readers and admins can
	// see why it is there: one of the Source constants ("" in items stored
	// before sources were kept).
	Source string `json:"source,omitempty" dynamodbav:"source,omitempty"`
	// Matched lists the taxonomy terms that decided a SourceRules topic,
	// strongest first.
	Matched []Match `json:"matched,omitempty" dynamodbav:"matched,omitempty"`
}

// Where a topic came from.
const (
	SourceRules    = "rules"    // the taxonomy's rules matched the item's text
	SourceFeed     = "feed"     // the feed's registry entry gives it to its items
	SourceFallback = "fallback" // nothing else fitted
	SourceAdmin    = "admin"    // an admin set the item's topics
)

// Match is one taxonomy term found in an item, and the field it was found
// in: "title", "summary" or "category".
type Match struct {
	Term  string `json:"term" dynamodbav:"term"`
	Field string `json:"field" dynamodbav:"field"`
}

// Item is one normalised feed entry.
//
// The parser fills GUID, Title, Link, Published, Content, Summary,
// ContentHash and RawHash; ingest adds the society, feed, storage key, topics and the
// first-seen and updated times.
type Item struct {
	// Key is the storage key: stable for the same entry of the same society.
	Key     string `json:"id"`
	Society string `json:"society"`
	FeedID  string `json:"feed_id"`
	// GUID is the feed's own identity of the entry: its guid/id, else its
	// link, else a hash of its content.
	GUID  string `json:"guid"`
	Title string `json:"title"`
	// Link is absolute, with tracking parameters removed.
	Link string `json:"link"`
	// Published falls back to the entry's updated time, then to FirstSeen.
	Published time.Time `json:"published"`
	FirstSeen time.Time `json:"first_seen"`
	// UpdatedAt is zero until a later fetch sees the title or content change.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Content is sanitised HTML, safe to embed in a page or an email.
	Content string `json:"content,omitempty"`
	// Summary is plain text of at most MaxSummaryRunes characters, cut at a
	// word boundary.
	Summary string `json:"summary"`
	// ContentHash is a hash of the normalised title, link and content.
	ContentHash string `json:"content_hash"`
	// RawHash is a hash of the entry as its feed wrote it: ingest skips an
	// entry whose raw hash is the one stored, without normalising it.
	RawHash string       `json:"raw_hash,omitempty"`
	Topics  []TopicScore `json:"topics"`
	// Story is the key of the earliest item of another feed that tells the
	// same story (internal/stories), set when the item is first stored; ""
	// when no other feed's recent item does.
	Story string `json:"story,omitempty"`
}

// StoryKey names the story the item belongs to: its Story, or its own key
// when it is the first (or only) item to tell it.
func (it Item) StoryKey() string {
	if it.Story != "" {
		return it.Story
	}
	return it.Key
}

// Hashes are what an item store holds to tell a changed entry from the
// stored one: RawHash ("" for an item stored before raw hashes) and
// ContentHash.
type Hashes struct {
	Raw     string
	Content string
}

// Updated reports whether the item changed after it was first stored.
func (it Item) Updated() bool { return !it.UpdatedAt.IsZero() }

// TopicIDs lists the item's topic ids in score order.
func (it Item) TopicIDs() []string {
	ids := make([]string, len(it.Topics))
	for i, t := range it.Topics {
		ids[i] = t.ID
	}
	return ids
}

// KeyFor derives the storage key of an entry: the same GUID from the same
// society is the same item, even when two of the society's feeds carry it.
func KeyFor(society, guid string) string {
	sum := sha256.Sum256([]byte(society + "\x00" + guid))
	return society + "-" + hex.EncodeToString(sum[:12])
}

// Query selects items for a listing, newest published first.
type Query struct {
	Societies []string // the societies to read; each is one index partition
	Topic     string   // "" for any
	Since     time.Time
	Limit     int
}

// ErrBadCursor is wrapped by a store's error when a listing's cursor is not
// one the store handed out for that same listing.
var ErrBadCursor = errors.New("invalid cursor")

// PageQuery selects one page of a listing, newest published first: every
// item, a topic's, a society's, or both. A store answers it without reading
// anything but the items' indexes.
type PageQuery struct {
	Topic string // "" for any
	// Societies narrows the listing; none means every society. One
	// society reads only its own index partition.
	Societies []string
	Since     time.Time // zero for any time
	// Cursor is the Next of the previous page, "" for the first.
	Cursor string
	Limit  int
}

// Page is one page of a listing. Next is an opaque cursor for the page
// after it, "" when the listing has no more items.
type Page struct {
	Items []Item
	Next  string
}
