package web

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// ItemReader is the item store as the archive reads it (*dynamo.ItemStore).
type ItemReader interface {
	Page(ctx context.Context, q items.PageQuery) (items.Page, error)
	GetMany(ctx context.Context, keys []string) ([]items.Item, error)
	IngestedBetween(ctx context.Context, since, until time.Time) ([]items.Item, error)
}

// ArchiveLinks verifies the signed archive links of mails
// (*subscribers.Service implements it).
type ArchiveLinks interface {
	ArchivePeriod(ctx context.Context, token string) (sub subscribers.Subscriber, since, until time.Time, err error)
}

// archivePageSize is how many items one archive page shows.
const archivePageSize = 20

// archiveCSP lets the archive's pages run nothing at all: they need no
// script, and a page that can run none cannot be made to.
const archiveCSP = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// archiveCache lets browsers and caches keep a public archive page
// briefly: it is the same for everyone and changes only with an ingest.
const archiveCache = "public, max-age=60"

// ids of topics, societies and items are slugs; anything else names none.
var (
	slugPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	itemKeyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,199}$`)
)

// archiveItem is one item as the archive shows it.
type archiveItem struct {
	ID       string
	Title    string
	Link     string // the original, on the society's site
	Page     string // the item's page in the archive
	Society  link
	Date     string
	DateTime string // for <time datetime>
	Summary  string
	Topics   []link
	AlsoFrom string // "Also from RSNA, ACR": the other societies telling its story, on a reader's page
}

// feedLink is one format of the feed a page has.
type feedLink struct {
	URL   string
	Type  string
	Label string
}

type archiveView struct {
	frame
	Heading string
	Lead    string
	Items   []archiveItem
	Older   string // the next page, "" on the last
	Empty   string // what to say when there are no items
}

type itemView struct {
	frame
	Item archiveItem
}

// archive holds what the archive's handlers read.
type archive struct {
	*site
	items    ItemReader
	periods  ArchiveLinks
	pageSize int
}

// routes are the archive's routes, each guarded by the caller.
func (a *archive) routes() []struct {
	pattern string
	handle  http.HandlerFunc
	public  bool
} {
	return []struct {
		pattern string
		handle  http.HandlerFunc
		public  bool
	}{
		{"GET /news", a.latest, true},
		{"GET /news/topic/{id}", a.topic, true},
		{"GET /news/society/{id}", a.society, true},
		{"GET /news/item/{id}", a.item, true},
		{"GET " + subscribers.ArchivePathPrefix + "{token}", a.forReader, false},
	}
}

func (a *archive) latest(w http.ResponseWriter, r *http.Request) {
	cat := a.readCatalog(r)
	a.listing(w, r, cat, items.PageQuery{}, archiveView{
		Heading: "Latest news",
		Lead:    "Everything Radiogram has gathered from radiology societies, newest first.",
		Empty:   "No news has been gathered yet.",
	}, "/feeds/all", "all news")
}

func (a *archive) topic(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	cat := a.readCatalog(r)
	name, ok := topicName(cat, id)
	if !slugPattern.MatchString(id) || !ok {
		a.notFound(w, r, "There is no topic “"+id+"”.")
		return
	}
	a.listing(w, r, cat, items.PageQuery{Topic: id}, archiveView{
		Heading: name,
		Lead:    "News on " + name + ", newest first.",
		Empty:   "No news on this topic yet.",
	}, "/feeds/topic/"+id, name)
}

func (a *archive) society(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	cat, err := a.catalog(r.Context())
	if err != nil && cat.Societies == nil {
		a.fail(w, r, err, expiredOtherAdvice)
		return
	}
	i := slices.IndexFunc(cat.Societies, func(s Society) bool { return s.ID == id })
	if !slugPattern.MatchString(id) || i < 0 {
		a.notFound(w, r, "There is no society “"+id+"” among those Radiogram follows.")
		return
	}
	name := cat.Societies[i].Name
	a.listing(w, r, cat, items.PageQuery{Societies: []string{id}}, archiveView{
		Heading: name,
		Lead:    "News from " + name + ", newest first.",
		Empty:   "No news from this society yet.",
	}, "/feeds/society/"+id, name)
}

// listing renders one page of q's items, with the feed at feedBase.
func (a *archive) listing(w http.ResponseWriter, r *http.Request, cat Catalog, q items.PageQuery, v archiveView, feedBase, feedName string) {
	q.Cursor, q.Limit = r.URL.Query().Get("cursor"), a.pageSize
	page, err := a.items.Page(r.Context(), q)
	if errors.Is(err, items.ErrBadCursor) {
		a.badCursor(w, r)
		return
	}
	if err != nil {
		a.fail(w, r, err, expiredOtherAdvice)
		return
	}
	v.frame = a.archiveFrame(v.Heading, feedBase, feedName)
	v.Items = a.view(cat, page.Items)
	if page.Next != "" {
		v.Older = r.URL.Path + "?cursor=" + page.Next // base64url: nothing to escape
	}
	a.render(w, r, http.StatusOK, "news.html", v)
}

func (a *archive) item(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !itemKeyPattern.MatchString(id) {
		a.notFound(w, r, "There is no item “"+id+"” in the archive.")
		return
	}
	found, err := a.items.GetMany(r.Context(), []string{id})
	if err != nil {
		a.fail(w, r, err, expiredOtherAdvice)
		return
	}
	if len(found) == 0 {
		a.notFound(w, r, "There is no item “"+id+"” in the archive: it may have been removed.")
		return
	}
	it := a.view(a.readCatalog(r), found)[0]
	a.render(w, r, http.StatusOK, "item.html", itemView{frame: a.archiveFrame(it.Title, "", ""), Item: it})
}

// forReader lists the items of a signed link's period that match the
// reader's current topics and societies, as the digest chose them: by
// the time they were first seen. The cursor is the last item shown.
func (a *archive) forReader(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store") // the page is one reader's
	if a.periods == nil {
		a.notFound(w, r, "Personal archive links are not available.")
		return
	}
	sub, since, until, err := a.periods.ArchivePeriod(r.Context(), r.PathValue("token"))
	if err != nil {
		a.renderArchiveProblem(w, r, a.problemFor(r, err, "Archive links in emails work for 90 days. The whole archive is still open to everyone."))
		return
	}
	all, err := a.items.IngestedBetween(r.Context(), since, until)
	if err != nil {
		a.fail(w, r, err, expiredOtherAdvice)
		return
	}
	// A story shows once, as in the reader's mail, whose overflow this
	// page is: collapsed among the picked items only, so a member from a
	// society the reader does not follow is neither shown nor named. The
	// cursor is a kept item's key, so paging walks the collapsed list.
	// The public listings page the store directly and show every member.
	picked, also := digest.CollapseStories(digest.Select(sub.Preferences, all, since, until))
	start := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		i := slices.IndexFunc(picked, func(it items.Item) bool { return it.Key == c })
		if i < 0 {
			a.badCursor(w, r)
			return
		}
		start = i + 1
	}
	end := min(start+a.pageSize, len(picked))
	v := archiveView{
		frame:   a.archiveFrame("Your news", "", ""),
		Heading: "Your news, " + period(since, until, readerZone(sub)),
		Lead:    "The items of this period on your topics and from your societies, as your preferences stand now, newest first.",
		Empty:   "No items of this period match your topics and societies now.",
	}
	cat := a.readCatalog(r)
	v.Items = a.view(cat, picked[start:end])
	for i, it := range picked[start:end] {
		v.Items[i].AlsoFrom = alsoFrom(cat, it, also[it.Key])
	}
	if len(sub.Preferences.Keywords)+len(sub.Preferences.Mute) > 0 {
		v.Lead = "The items of this period on your topics or keywords and from your societies, less those your mute words match, as your preferences stand now, newest first."
		v.Empty = "No items of this period match your topics, keywords and societies now."
	}
	if end < len(picked) {
		v.Older = r.URL.Path + "?cursor=" + picked[end-1].Key
	}
	a.render(w, r, http.StatusOK, "news.html", v)
}

// readerZone is the reader's time zone, in which their mail named the
// period.
func readerZone(sub subscribers.Subscriber) *time.Location {
	loc, err := subscribers.LoadLocation(sub.Preferences.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// period names (since, until] in loc as a reader would: "29–30 Nov 2026".
func period(since, until time.Time, loc *time.Location) string {
	from, to := since.In(loc), until.In(loc)
	switch {
	case from.Year() != to.Year():
		return from.Format("2 Jan 2006") + " – " + to.Format("2 Jan 2006")
	case from.Month() != to.Month():
		return from.Format("2 Jan") + " – " + to.Format("2 Jan 2006")
	case from.Day() != to.Day():
		return from.Format("2") + "–" + to.Format("2 Jan 2006")
	}
	return to.Format("2 Jan 2006")
}

// readCatalog returns the catalog for names; when it cannot be read the
// pages still show, with ids for names.
func (a *archive) readCatalog(r *http.Request) Catalog {
	cat, err := a.catalog(r.Context())
	if err != nil {
		a.log.WarnContext(r.Context(), "archive: read the catalog", "err", err)
	}
	return cat
}

func topicName(cat Catalog, id string) (string, bool) {
	for _, t := range cat.Topics {
		if t.ID == id {
			return t.Name, true
		}
	}
	return id, false
}

// societyName is a society's display name in cat, or its id in capitals
// when the catalog does not name it.
func societyName(cat Catalog, id string) string {
	if j := slices.IndexFunc(cat.Societies, func(s Society) bool { return s.ID == id }); j >= 0 {
		return cat.Societies[j].Name
	}
	return strings.ToUpper(id)
}

// alsoFrom names the other societies telling its story among the reader's
// items (digest.AlsoFrom), by their display names.
func alsoFrom(cat Catalog, it items.Item, members []items.Item) string {
	societies := make([]string, len(members))
	for i, m := range members {
		societies[i] = m.Society
	}
	return digest.AlsoFrom(it.Society, societies, func(id string) string { return societyName(cat, id) })
}

func (a *archive) view(cat Catalog, list []items.Item) []archiveItem {
	out := make([]archiveItem, len(list))
	for i, it := range list {
		name := societyName(cat, it.Society)
		v := archiveItem{
			ID:       it.Key,
			Title:    it.Title,
			Link:     it.Link,
			Page:     "/news/item/" + it.Key,
			Society:  link{URL: "/news/society/" + it.Society, Text: name},
			Date:     it.Published.UTC().Format("2 Jan 2006"),
			DateTime: it.Published.UTC().Format(time.RFC3339),
			Summary:  it.Summary,
		}
		if v.Title == "" {
			v.Title = "(untitled)"
		}
		for _, t := range it.Topics {
			tn, ok := topicName(cat, t.ID)
			if ok {
				v.Topics = append(v.Topics, link{URL: "/news/topic/" + t.ID, Text: tn})
			}
		}
		out[i] = v
	}
	return out
}

// archiveFrame is the layout's part of an archive page: no script, and
// the page's feed when it has one.
func (a *archive) archiveFrame(title, feedBase, feedName string) frame {
	f := a.frame(title)
	f.NoScript = true
	if feedBase != "" {
		f.Feeds = []feedLink{
			{URL: feedBase + ".xml", Type: "application/rss+xml", Label: "RSS"},
			{URL: feedBase + ".atom", Type: "application/atom+xml", Label: "Atom"},
			{URL: feedBase + ".json", Type: "application/feed+json", Label: "JSON Feed"},
		}
		f.FeedName = feedName
	}
	return f
}

func (a *archive) notFound(w http.ResponseWriter, r *http.Request, reason string) {
	a.renderArchiveProblem(w, r, problem{status: http.StatusNotFound, heading: "Not found",
		paragraphs: []string{reason}, links: []link{{URL: "/news", Text: "See the latest news"}}})
}

func (a *archive) badCursor(w http.ResponseWriter, r *http.Request) {
	a.renderArchiveProblem(w, r, problem{status: http.StatusBadRequest, heading: "This page link is not valid",
		paragraphs: []string{"The “cursor” in the address is not one this listing handed out: it may be incomplete, or from another listing."},
		links:      []link{{URL: r.URL.Path, Text: "Go to the first page of this listing"}}})
}

func (a *archive) fail(w http.ResponseWriter, r *http.Request, err error, advice string) {
	a.renderArchiveProblem(w, r, a.problemFor(r, err, advice))
}

// renderArchiveProblem renders an error page without the script, as the
// archive's other pages.
func (a *archive) renderArchiveProblem(w http.ResponseWriter, r *http.Request, p problem) {
	w.Header().Set("Cache-Control", "no-store")
	v := messageView{Heading: p.heading, Paragraphs: p.paragraphs, Links: p.links}
	v.frame = a.archiveFrame(p.heading, "", "")
	a.render(w, r, p.status, "message.html", v)
}
