package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/items"
)

// What the feed registry, ingest and item actions use of their
// collaborators.
type (
	// FeedRegistry is the feed store: the feeds with their health, the
	// societies they belong to, and registering or deleting one.
	FeedRegistry interface {
		ListFeeds(ctx context.Context) ([]feeds.Feed, error)
		Societies(ctx context.Context) ([]string, error)
		// Create reports feeds.ErrExists for an id already registered.
		Create(ctx context.Context, f feeds.Feed) error
		// Delete reports feeds.ErrNotFound for an unknown id.
		Delete(ctx context.Context, id string) error
	}
	// IngestRuns starts ingest runs and tells how they went
	// (*ingestruns.Service).
	IngestRuns interface {
		// Start queues a run, or returns the one running and false.
		Start(ctx context.Context, startedBy string) (ingestruns.Run, bool, error)
		// Get reports ingestruns.ErrNotFound for an unknown id.
		Get(ctx context.Context, id string) (ingestruns.Run, error)
	}
)

// Feeds lists the feeds with their health.
func (s *Service) Feeds(ctx context.Context) ([]feeds.Feed, error) { return s.FeedStore.ListFeeds(ctx) }

// NewFeed is a feed an admin registers.
type NewFeed struct {
	Society string `json:"society"`
	Name    string `json:"name"`
	URL     string `json:"url"`
	// Enabled defaults to true.
	Enabled *bool    `json:"enabled"`
	Topics  []string `json:"topics"`
}

// CreateFeed registers a feed and returns it with its id. What is wrong
// with the feed is reported as an error matching ErrBadRequest or
// ErrUnknownTopic, a feed registered already as one matching ErrConflict.
func (s *Service) CreateFeed(ctx context.Context, in NewFeed, actor string) (feeds.Feed, error) {
	f := feeds.Feed{
		Society: strings.TrimSpace(in.Society), Name: strings.TrimSpace(in.Name), URL: strings.TrimSpace(in.URL),
		Enabled: in.Enabled == nil || *in.Enabled, Topics: in.Topics,
	}
	if err := f.Validate(); err != nil {
		return feeds.Feed{}, because(ErrBadRequest, err, err.Error())
	}
	for _, t := range f.Topics {
		if !s.KnownTopic(t) {
			return feeds.Feed{}, fmt.Errorf("%w %q", ErrUnknownTopic, t)
		}
	}
	f.ID = feeds.IDFor(f.Society, f.URL)
	if err := s.FeedStore.Create(ctx, f); err != nil {
		if errors.Is(err, feeds.ErrExists) {
			return feeds.Feed{}, because(ErrConflict, err, fmt.Sprintf("feed %s is already registered", f.ID))
		}
		return feeds.Feed{}, err
	}
	s.Log.InfoContext(ctx, "feed registered", "feed", f.ID, "url", f.URL)
	s.audit(ctx, actor, "feed.create", f.ID+" "+f.URL)
	return f, nil
}

// DeleteFeed stops reading a feed; an unknown id is reported as an error
// matching ErrNotFound.
func (s *Service) DeleteFeed(ctx context.Context, id, actor string) error {
	if err := s.FeedStore.Delete(ctx, id); err != nil {
		if errors.Is(err, feeds.ErrNotFound) {
			return because(ErrNotFound, err, fmt.Sprintf("no feed %q", id))
		}
		return err
	}
	s.Log.InfoContext(ctx, "feed deleted", "feed", id)
	s.audit(ctx, actor, "feed.delete", id)
	return nil
}

// StartIngest asks for an ingest of every enabled feed and returns the run
// at once, while it waits for the ingest function. While a run goes, it
// returns that run instead: never a second one. Only a run it started is
// audited.
func (s *Service) StartIngest(ctx context.Context, actor string) (ingestruns.Run, error) {
	run, started, err := s.Ingest.Start(ctx, actor)
	if err != nil {
		return ingestruns.Run{}, err
	}
	if started {
		s.audit(ctx, actor, "ingest.start", run.ID)
	}
	return run, nil
}

// IngestRun returns one ingest run; an unknown id is reported as an error
// matching ErrNotFound.
func (s *Service) IngestRun(ctx context.Context, id string) (ingestruns.Run, error) {
	run, err := s.Ingest.Get(ctx, id)
	if errors.Is(err, ingestruns.ErrNotFound) {
		return ingestruns.Run{}, because(ErrNotFound, err, fmt.Sprintf("no ingest run %q", id))
	}
	return run, err
}

// How many items a listing shows.
const (
	DefaultItemLimit = 50
	MaxItemLimit     = 200
)

// ItemQuery selects stored items, each field as the admin gave it;
// ListItems checks them in the order they are listed here.
type ItemQuery struct {
	// Topic is a topic id; empty means every topic.
	Topic string
	// Since is a date (2026-11-01) or an RFC 3339 time; empty means any
	// time.
	Since string
	// Limit is a whole number from 1 to MaxItemLimit; empty means
	// DefaultItemLimit.
	Limit string
	// Societies are society ids; none means every society.
	Societies []string
	// Cursor is the Next of the previous page; empty for the first.
	Cursor string
}

// ListItems lists one page of stored items, newest first. What is wrong
// with the query is reported as an error matching ErrUnknownTopic or
// ErrBadRequest (a cursor not handed out for this listing included). It
// reads only the items' indexes: a society is checked against the catalog
// only when its first page is empty.
func (s *Service) ListItems(ctx context.Context, in ItemQuery) (items.Page, error) {
	q := items.PageQuery{Topic: strings.TrimSpace(in.Topic), Limit: DefaultItemLimit, Cursor: strings.TrimSpace(in.Cursor)}
	if q.Topic != "" && !s.KnownTopic(q.Topic) {
		return items.Page{}, fmt.Errorf("%w %q", ErrUnknownTopic, q.Topic)
	}
	if since := strings.TrimSpace(in.Since); since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			t, err = time.Parse(time.DateOnly, since)
		}
		if err != nil {
			return items.Page{}, because(ErrBadRequest, nil, fmt.Sprintf("since %q must be a date (2026-11-01) or an RFC 3339 time", since))
		}
		q.Since = t
	}
	if limit := strings.TrimSpace(in.Limit); limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > MaxItemLimit {
			return items.Page{}, because(ErrBadRequest, nil, fmt.Sprintf("limit %q must be a whole number from 1 to %d", limit, MaxItemLimit))
		}
		q.Limit = n
	}
	q.Societies = in.Societies
	return s.itemPage(ctx, q)
}

// itemPage reads one page of q. An empty first page for a society no feed
// ever had is reported as ErrBadRequest: a typo should not look like a
// quiet society.
func (s *Service) itemPage(ctx context.Context, q items.PageQuery) (items.Page, error) {
	page, err := s.ItemStore.Page(ctx, q)
	if errors.Is(err, items.ErrBadCursor) {
		return items.Page{}, because(ErrBadRequest, err, "cursor: "+strings.TrimPrefix(err.Error(), items.ErrBadCursor.Error()+": "))
	}
	if err != nil {
		return items.Page{}, err
	}
	if len(page.Items) > 0 || q.Cursor != "" || len(q.Societies) == 0 {
		return page, nil
	}
	for _, soc := range q.Societies {
		known, err := s.knownSociety(ctx, soc)
		if err != nil {
			return items.Page{}, err
		}
		if !known {
			return items.Page{}, because(ErrBadRequest, nil, fmt.Sprintf("unknown society %q", soc))
		}
	}
	return page, nil
}

func (s *Service) knownSociety(ctx context.Context, id string) (bool, error) {
	known, err := s.SocietyIDs(ctx)
	if err != nil {
		return false, err
	}
	return slices.Contains(known, id), nil
}

// SocietyIDs lists the ids of the societies that have or had feeds, from
// the catalog when there is one: the console's filter must not cost a
// scan of the feed registry on every page.
func (s *Service) SocietyIDs(ctx context.Context) ([]string, error) {
	if s.Catalog == nil {
		return s.FeedStore.Societies(ctx)
	}
	list, err := s.Catalog.Societies(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(list))
	for i, soc := range list {
		ids[i] = soc.ID
	}
	slices.Sort(ids)
	return ids, nil
}
