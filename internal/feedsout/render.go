// Package feedsout renders what Radiogram has published as feeds for
// readers who prefer a feed reader: RSS 2.0, Atom 1.0 and JSON Feed 1.1,
// for everything, a topic or a society, and serves them cheaply to poll
// (strong ETags, conditional GET, public caching).
package feedsout

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/items"
)

// Feed is one listing as a feed: its description and its newest items.
type Feed struct {
	// ID names the listing for ever ("all", "topic/ai", "society/esr"):
	// Atom and JSON Feed identify the feed and its entries by it.
	ID    string
	Title string
	// Description says what the feed carries, for RSS and JSON Feed.
	Description string
	// Home is the web page of the listing; Self is this feed's own address
	// in the format being rendered.
	Home, Self string
	// Items, newest published first.
	Items []items.Item
	// TopicName names a topic id for categories and tags; the id is used
	// when it returns "".
	TopicName func(id string) string
}

// Updated is when the feed last changed: the latest time any of its items
// was stored or updated, or the Unix epoch for an empty feed, so that it
// stays the same between two polls that find nothing new.
func (f Feed) Updated() time.Time {
	var last time.Time
	for _, it := range f.Items {
		for _, t := range []time.Time{it.FirstSeen, it.UpdatedAt, it.Published} {
			if t.After(last) {
				last = t
			}
		}
	}
	if last.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return last.UTC()
}

func (f Feed) topicNames(it items.Item) []string {
	names := make([]string, 0, len(it.Topics))
	for _, t := range it.Topics {
		name := t.ID
		if f.TopicName != nil {
			if n := f.TopicName(t.ID); n != "" {
				name = n
			}
		}
		names = append(names, name)
	}
	return names
}

// entryID is an item's permanent id in Atom and JSON Feed: a tag URI
// (RFC 4151), the same whatever the address the service is served on.
func entryID(it items.Item) string { return "tag:radiogram,2026:item/" + it.Key }

func feedID(f Feed) string { return "tag:radiogram,2026:feed/" + f.ID }

// contentHTML is an item's body as HTML: the stored sanitised content,
// else its summary, then a link to the original on its site.
func contentHTML(it items.Item) string {
	var b strings.Builder
	switch {
	case it.Content != "":
		b.WriteString(it.Content)
	case it.Summary != "":
		b.WriteString("<p>" + html.EscapeString(it.Summary) + "</p>")
	}
	if u, err := url.Parse(it.Link); err == nil && u.Host != "" {
		fmt.Fprintf(&b, `<p><a href="%s">Read on %s →</a></p>`, html.EscapeString(it.Link), html.EscapeString(strings.TrimPrefix(u.Hostname(), "www.")))
	}
	return b.String()
}

// societyName names a society by its id, an acronym (esr → ESR).
func societyName(id string) string { return strings.ToUpper(id) }

// modified is when an item last changed.
func modified(it items.Item) time.Time {
	if it.Updated() {
		return it.UpdatedAt.UTC()
	}
	return it.Published.UTC()
}

// RSS 2.0 (https://www.rssboard.org/rss-specification), with the full
// content in content:encoded and the feed's own address in atom:link, as
// the RSS Advisory Board recommends.
type rssDoc struct {
	XMLName   xml.Name   `xml:"rss"`
	Version   string     `xml:"version,attr"`
	ContentNS string     `xml:"xmlns:content,attr"`
	AtomNS    string     `xml:"xmlns:atom,attr"`
	DCNS      string     `xml:"xmlns:dc,attr"`
	Channel   rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string      `xml:"title"`
	Link          string      `xml:"link"`
	Description   string      `xml:"description"`
	Self          rssAtomLink `xml:"atom:link"`
	LastBuildDate string      `xml:"lastBuildDate"`
	Generator     string      `xml:"generator"`
	TTL           int         `xml:"ttl"`
	Items         []rssItem   `xml:"item"`
}

type rssAtomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type rssItem struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link,omitempty"`
	Description string   `xml:"description"`
	Content     string   `xml:"content:encoded,omitempty"`
	GUID        rssGUID  `xml:"guid"`
	PubDate     string   `xml:"pubDate"`
	Categories  []string `xml:"category"`
	Creator     string   `xml:"dc:creator,omitempty"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

// RSS renders f as RSS 2.0. encoding/xml escapes every text and replaces
// characters XML cannot carry, so the document is well-formed whatever
// the items hold.
func RSS(f Feed) ([]byte, error) {
	doc := rssDoc{
		Version: "2.0", ContentNS: "http://purl.org/rss/1.0/modules/content/", AtomNS: "http://www.w3.org/2005/Atom",
		DCNS: "http://purl.org/dc/elements/1.1/",
		Channel: rssChannel{
			Title: f.Title, Link: f.Home, Description: f.Description,
			Self:          rssAtomLink{Href: f.Self, Rel: "self", Type: "application/rss+xml"},
			LastBuildDate: f.Updated().Format(time.RFC1123Z),
			Generator:     "Radiogram",
			TTL:           int(MaxAge / time.Minute),
		},
	}
	for _, it := range f.Items {
		doc.Channel.Items = append(doc.Channel.Items, rssItem{
			Title: it.Title, Link: it.Link, Description: it.Summary, Content: contentHTML(it),
			GUID:       rssGUID{Value: entryID(it)},
			PubDate:    it.Published.UTC().Format(time.RFC1123Z),
			Categories: f.topicNames(it),
			Creator:    societyName(it.Society),
		})
	}
	return marshalXML(doc)
}

// Atom 1.0 (RFC 4287).
type atomDoc struct {
	XMLName   xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID        string      `xml:"id"`
	Title     atomText    `xml:"title"`
	Subtitle  atomText    `xml:"subtitle"`
	Updated   string      `xml:"updated"`
	Links     []atomLink  `xml:"link"`
	Author    atomPerson  `xml:"author"`
	Generator string      `xml:"generator"`
	Entries   []atomEntry `xml:"entry"`
}

type atomText struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      atomText       `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published"`
	Links      []atomLink     `xml:"link"`
	Author     atomPerson     `xml:"author"`
	Categories []atomCategory `xml:"category"`
	Summary    *atomText      `xml:"summary"`
	Content    *atomText      `xml:"content"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

// Atom renders f as Atom 1.0: each entry's content is the stored HTML
// (type "html", escaped by encoding/xml), its summary the plain text.
func Atom(f Feed) ([]byte, error) {
	doc := atomDoc{
		ID: feedID(f), Title: atomText{Type: "text", Value: f.Title}, Subtitle: atomText{Type: "text", Value: f.Description},
		Updated: f.Updated().Format(time.RFC3339),
		Links: []atomLink{
			{Href: f.Self, Rel: "self", Type: "application/atom+xml"},
			{Href: f.Home, Rel: "alternate", Type: "text/html"},
		},
		Author:    atomPerson{Name: "Radiogram"},
		Generator: "Radiogram",
	}
	for _, it := range f.Items {
		e := atomEntry{
			ID: entryID(it), Title: atomText{Type: "text", Value: it.Title},
			Updated: modified(it).Format(time.RFC3339), Published: it.Published.UTC().Format(time.RFC3339),
			Author: atomPerson{Name: societyName(it.Society)},
		}
		if it.Link != "" {
			e.Links = []atomLink{{Href: it.Link, Rel: "alternate", Type: "text/html"}}
		}
		for _, name := range f.topicNames(it) {
			e.Categories = append(e.Categories, atomCategory{Term: name})
		}
		if it.Summary != "" {
			e.Summary = &atomText{Type: "text", Value: it.Summary}
		}
		if c := contentHTML(it); c != "" {
			e.Content = &atomText{Type: "html", Value: c}
		}
		doc.Entries = append(doc.Entries, e)
	}
	return marshalXML(doc)
}

func marshalXML(doc any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("render feed: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/).
type jsonFeed struct {
	Version     string       `json:"version"`
	Title       string       `json:"title"`
	HomePageURL string       `json:"home_page_url,omitempty"`
	FeedURL     string       `json:"feed_url,omitempty"`
	Description string       `json:"description,omitempty"`
	Items       []jsonItem   `json:"items"`
	Authors     []jsonAuthor `json:"authors,omitempty"`
}

type jsonAuthor struct {
	Name string `json:"name"`
}

type jsonItem struct {
	ID            string       `json:"id"`
	URL           string       `json:"url,omitempty"`
	Title         string       `json:"title"`
	ContentHTML   string       `json:"content_html,omitempty"`
	ContentText   string       `json:"content_text,omitempty"`
	Summary       string       `json:"summary,omitempty"`
	DatePublished string       `json:"date_published"`
	DateModified  string       `json:"date_modified"`
	Authors       []jsonAuthor `json:"authors,omitempty"`
	Tags          []string     `json:"tags,omitempty"`
}

// JSONFeed renders f as JSON Feed 1.1. An item carries content_html when
// it has stored content and content_text (its summary) otherwise: the
// format requires one of the two.
func JSONFeed(f Feed) ([]byte, error) {
	doc := jsonFeed{
		Version: "https://jsonfeed.org/version/1.1", Title: f.Title, HomePageURL: f.Home, FeedURL: f.Self,
		Description: f.Description, Authors: []jsonAuthor{{Name: "Radiogram"}}, Items: []jsonItem{},
	}
	for _, it := range f.Items {
		ji := jsonItem{
			ID: entryID(it), URL: it.Link, Title: it.Title, Summary: it.Summary,
			DatePublished: it.Published.UTC().Format(time.RFC3339), DateModified: modified(it).Format(time.RFC3339),
			Authors: []jsonAuthor{{Name: societyName(it.Society)}}, Tags: f.topicNames(it),
		}
		if c := contentHTML(it); c != "" {
			ji.ContentHTML = c
		} else {
			ji.ContentText = it.Title // JSON Feed requires some content
		}
		doc.Items = append(doc.Items, ji)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render feed: %w", err)
	}
	return append(b, '\n'), nil
}
