// Package feedparse owns turning feed documents (RSS 0.9x/1.0 RDF/2.0,
// Atom, JSON Feed) into normalised items.
package feedparse

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"github.com/mmcdole/gofeed"
	jsonfeed "github.com/mmcdole/gofeed/json"
	"github.com/mmcdole/gofeed/rss"

	"github.com/radiogram/radiogram/internal/items"
)

// ErrNotAFeed is wrapped by Parse's error when the body is not a feed at all:
// empty, an HTML page, or JSON that is not a JSON Feed.
var ErrNotAFeed = errors.New("not a feed")

const (
	summaryLength    = items.MaxSummaryRunes
	titleFromSummary = 80
	untitled         = "(untitled)"
	// futureTolerance absorbs clock skew and time-zone mistakes; a date
	// further ahead is wrong and would pin the item to the top of every list.
	futureTolerance = 24 * time.Hour
)

// Parser turns fetched feed bodies into Documents. Build it once with
// NewParser; Parse is safe for concurrent use.
type Parser struct {
	feeds  *gofeed.Parser
	policy *bluemonday.Policy
}

// NewParser builds a Parser and its HTML sanitising policy.
func NewParser() *Parser {
	feeds := gofeed.NewParser()
	// The original feed carries what the universal one drops: RSS <ttl>, and
	// whether JSON Feed content was content_html or content_text.
	feeds.KeepOriginalFeed = true
	// gofeed looks for an entry's image by parsing its HTML when the entry
	// names none: a second HTML parse of every entry, a fifth of gofeed's
	// time on a feed of articles. Radiogram uses no entry image.
	feeds.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	return &Parser{feeds: feeds, policy: newContentPolicy()}
}

// Document is a parsed feed with every entry normalised.
type Document struct {
	Title string        // feed title, plain text
	Link  string        // feed's home link, absolute; "" if it has none
	TTL   time.Duration // RSS <ttl> (minutes) if present, else 0
	Items []items.Item
}

// Feed is a parsed feed whose entries are not normalised yet: ingest reads
// each entry's identity and raw hash, and pays for sanitising only the
// entries that are new or changed.
type Feed struct {
	Title   string        // feed title, plain text
	Link    string        // feed's home link, absolute; "" if it has none
	TTL     time.Duration // RSS <ttl> (minutes) if present, else 0
	Entries []Entry
}

// Entry is one entry of a Feed as parsed. Its GUID, Published and RawHash
// are known at once; Item normalises it (sanitising its HTML, extracting
// its text), which costs far more than parsing it.
type Entry struct {
	// GUID is the GUID its item carries.
	GUID string
	// Published is its item's published time.
	Published time.Time
	// RawHash is a hash of everything its item is made of, as the feed
	// wrote it (see rawHash): equal raw hashes mean equal items.
	RawHash string
	raw     *rawEntry // nil for an entry made by NormalisedEntry
	item    items.Item
}

// rawEntry is what Entry.Item needs to normalise an entry.
type rawEntry struct {
	parser     *Parser
	entry      *gofeed.Item
	rawContent string   // the entry's fullest HTML (richestContent)
	link       string   // absolute, not yet capped; "" if none
	linkBase   *url.URL // what the entry's links are relative to
}

// NormalisedEntry is an entry whose item is already normalised, for a
// source other than a feed body (tests use it for fakes). RawHash is the
// item's RawHash.
func NormalisedEntry(it items.Item) Entry {
	return Entry{GUID: it.GUID, Published: it.Published, RawHash: it.RawHash, item: it}
}

// Item is the entry normalised: every field capped as the items package
// documents, so that any entry can be stored. It sanitises the entry's
// HTML each time it is called.
func (e Entry) Item() items.Item {
	if e.raw == nil {
		return e.item
	}
	return e.raw.parser.normalise(e.raw, e.GUID, e.Published, e.RawHash)
}

// Parse parses body fetched from feedURL and normalises every entry; see
// Scan, which it calls.
func (p *Parser) Parse(body []byte, contentType, feedURL string, now time.Time) (*Document, error) {
	feed, err := p.Scan(body, contentType, feedURL, now)
	if err != nil {
		return nil, err
	}
	doc := &Document{Title: feed.Title, Link: feed.Link, TTL: feed.TTL, Items: make([]items.Item, len(feed.Entries))}
	for i, e := range feed.Entries {
		doc.Items[i] = e.Item()
	}
	return doc, nil
}

// Scan parses body fetched from feedURL, leaving each entry to be
// normalised by Entry.Item; contentType is the HTTP Content-Type header
// (may be ""). now is used as the fallback published time (first seen).
//
// A body that is not a feed gives an error wrapping ErrNotAFeed. A
// malformed or truncated document gives an error rather than the entries
// read before the fault, so that a half-written feed never looks complete.
func (p *Parser) Scan(body []byte, contentType, feedURL string, now time.Time) (*Feed, error) {
	body, err := toUTF8(body, contentType)
	if err != nil {
		return nil, fmt.Errorf("parse feed %s: %w", feedURL, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("parse feed %s: empty body: %w", feedURL, ErrNotAFeed)
	}
	body = normaliseJSONFeed(body)
	feed, err := p.parseFeed(body)
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		return nil, fmt.Errorf("parse feed %s: %w", feedURL, ErrNotAFeed)
	}
	if err != nil {
		return nil, fmt.Errorf("parse feed %s: %w", feedURL, err)
	}

	var ttl time.Duration
	var jsonItems []*jsonfeed.Item
	switch original := feed.OriginalFeed().(type) {
	case *rss.Feed:
		ttl = parseTTL(original.TTL)
	case *jsonfeed.Feed:
		if !looksLikeJSONFeed(original) {
			return nil, fmt.Errorf("parse feed %s: JSON without a JSON Feed version or items: %w", feedURL, ErrNotAFeed)
		}
		jsonItems = original.Items
	}

	feedBase := parseBase(feedURL)
	out := &Feed{
		Title:   truncateWords(plainText(feed.Title), items.MaxTitleRunes),
		Link:    absoluteWebURL(feed.Link, feedBase),
		TTL:     ttl,
		Entries: make([]Entry, 0, len(feed.Items)),
	}
	// Entry links that are still relative (gofeed has applied any xml:base)
	// are relative to the site, which the feed's home link names best.
	linkBase := feedBase
	if home := parseBase(out.Link); home != nil {
		linkBase = home
	}
	now = now.UTC()
	var buf []byte // rawHash's, reused from entry to entry
	for i, entry := range feed.Items {
		if entry == nil {
			continue
		}
		var jsonItem *jsonfeed.Item
		if i < len(jsonItems) {
			jsonItem = jsonItems[i]
		}
		var e Entry
		e, buf = p.scanEntry(entry, jsonItem, linkBase, now, buf)
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}

// parseFeed runs gofeed, turning a panic inside it into an error: gofeed
// v1.4.2 dereferences a JSON Feed's null items, and a hostile body must not
// take the whole process down.
func (p *Parser) parseFeed(body []byte) (feed *gofeed.Feed, err error) {
	defer func() {
		if r := recover(); r != nil {
			feed, err = nil, fmt.Errorf("gofeed panicked: %v", r)
		}
	}()
	return p.feeds.Parse(bytes.NewReader(body))
}

// looksLikeJSONFeed tells a JSON Feed from any other JSON object, which
// gofeed accepts as an empty feed. The version is required by the spec;
// items are accepted without it, as some publishers forget it.
func looksLikeJSONFeed(feed *jsonfeed.Feed) bool {
	return strings.Contains(feed.Version, "jsonfeed.org/version/") || len(feed.Items) > 0
}

func parseTTL(raw string) time.Duration {
	minutes, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || minutes <= 0 {
		return 0
	}
	return time.Duration(minutes) * time.Minute
}

// scanEntry reads what an entry's identity and raw hash need: the cheap
// part of normalising it. jsonItem is the entry's JSON Feed original, or
// nil for the XML formats. buf is scratch space for rawHash.
func (p *Parser) scanEntry(entry *gofeed.Item, jsonItem *jsonfeed.Item, linkBase *url.URL, now time.Time, buf []byte) (Entry, []byte) {
	fillFromMedia(entry)
	raw := &rawEntry{parser: p, entry: entry, rawContent: richestContent(entry, jsonItem), linkBase: linkBase}
	guid := strings.TrimSpace(entry.GUID)
	raw.link = entryLink(entry, linkBase)
	if raw.link == "" {
		// A GUID that is a web address is, in practice, the permalink.
		raw.link = absoluteWebURL(guid, nil)
	}
	switch {
	case guid != "":
	case raw.link != "":
		guid = raw.link
	default:
		guid = sha256Hex(entry.Title + raw.rawContent)
	}
	// Capped only now: an over-long link may still serve as the identity.
	guid = capGUID(guid)
	var hash string
	hash, buf = rawHash(buf, guid, raw)
	return Entry{GUID: guid, Published: publishedTime(entry, now), RawHash: hash, raw: raw}, buf
}

// RawHashVersion starts every raw hash. It names the rules that turn a raw
// entry into an item: change it when a change to normalising (the
// sanitising policy, the summary's length, ...) should reach the items
// already stored. Ingest then compares such items by their normalised
// ContentHash once, rather than counting every one as updated.
const RawHashVersion = "raw1:"

// rawHash hashes everything normalise reads of an entry, as the feed wrote
// it: its GUID, link and base URL, title, description and fullest content.
// Dates are left out: a feed that re-dates its entries on every build must
// not make them look changed, and a changed date alone never was an update.
// Each field is written with its length, so that no two entries share the
// same input. buf is reused scratch space, returned grown.
func rawHash(buf []byte, guid string, raw *rawEntry) (string, []byte) {
	buf = buf[:0]
	field := func(s string) {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	base := ""
	if raw.linkBase != nil {
		base = raw.linkBase.String()
	}
	field(guid)
	field(raw.link)
	field(base)
	field(raw.entry.Title)
	field(raw.entry.Description)
	// The content is most often the description itself: hashed once.
	if raw.rawContent == raw.entry.Description {
		field("")
	} else {
		field(raw.rawContent)
	}
	sum := sha256.Sum256(buf)
	return RawHashVersion + hex.EncodeToString(sum[:16]), buf
}

// normalise turns a scanned entry into an Item: its HTML sanitised, its
// title and summary made plain text. Every field is capped as the items
// package documents, so that any entry can be stored.
func (p *Parser) normalise(raw *rawEntry, guid string, published time.Time, rawHash string) items.Item {
	entry, link := raw.entry, raw.link
	contentBase := raw.linkBase
	if itemURL := parseBase(link); itemURL != nil {
		contentBase = itemURL
	}
	content := p.sanitize(raw.rawContent, contentBase)

	summarySource := entry.Description
	if strings.TrimSpace(summarySource) == "" {
		summarySource = content
	}
	summaryText := plainText(summarySource)

	title := truncateWords(plainText(entry.Title), items.MaxTitleRunes)
	if title == "" {
		title = truncateWords(summaryText, titleFromSummary)
	}
	if title == "" {
		title = untitled
	}
	link = capLink(link)

	return items.Item{
		GUID:        guid,
		Title:       title,
		Link:        link,
		Published:   published,
		Content:     content,
		Summary:     truncateWords(summaryText, summaryLength),
		ContentHash: sha256Hex(title + "\n" + link + "\n" + content),
		RawHash:     rawHash,
	}
}

// entryLink is the entry's first link made absolute, or "".
func entryLink(entry *gofeed.Item, base *url.URL) string {
	if entry.Link != "" {
		return absoluteWebURL(entry.Link, base)
	}
	for _, l := range entry.Links {
		if link := absoluteWebURL(l, base); link != "" {
			return link
		}
	}
	return ""
}

// richestContent is the entry's fullest HTML: its content (RSS
// content:encoded, Atom content, JSON Feed content_html) when it has one,
// else its summary or description. JSON Feed content_text is plain text
// and is escaped into paragraphs.
func richestContent(entry *gofeed.Item, jsonItem *jsonfeed.Item) string {
	if jsonItem != nil && jsonItem.ContentHTML == "" && strings.TrimSpace(jsonItem.ContentText) != "" {
		return textToHTML(jsonItem.ContentText)
	}
	if strings.TrimSpace(entry.Content) != "" {
		return entry.Content
	}
	return entry.Description
}

// textToHTML escapes plain text into paragraphs, one per blank-line
// separated block, keeping single line breaks.
func textToHTML(text string) string {
	var out strings.Builder
	text = strings.ReplaceAll(text, "\r\n", "\n")
	for block := range strings.SplitSeq(text, "\n\n") {
		block = strings.TrimSpace(block)
		if block == "" {
			continue
		}
		out.WriteString("<p>")
		out.WriteString(strings.ReplaceAll(html.EscapeString(block), "\n", "<br>"))
		out.WriteString("</p>")
	}
	return out.String()
}

// publishedTime is the entry's published time, else its updated time, else
// now; always UTC, and never more than futureTolerance ahead of now.
func publishedTime(entry *gofeed.Item, now time.Time) time.Time {
	published := now
	switch {
	case entry.PublishedParsed != nil:
		published = *entry.PublishedParsed
	case entry.UpdatedParsed != nil:
		published = *entry.UpdatedParsed
	}
	if published.After(now.Add(futureTolerance)) {
		published = now
	}
	return published.UTC()
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
