package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/items"
)

func (s *Server) listFeeds(w http.ResponseWriter, r *http.Request) {
	list, err := s.Feeds.ListFeeds(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if list == nil {
		list = []feeds.Feed{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"feeds": list})
}

type newFeed struct {
	Society string   `json:"society"`
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Enabled *bool    `json:"enabled"`
	Topics  []string `json:"topics"`
}

func (s *Server) createFeed(w http.ResponseWriter, r *http.Request) {
	var in newFeed
	if !decodeJSON(w, r, &in) {
		return
	}
	f := feeds.Feed{
		Society: strings.TrimSpace(in.Society), Name: strings.TrimSpace(in.Name), URL: strings.TrimSpace(in.URL),
		Enabled: in.Enabled == nil || *in.Enabled, Topics: in.Topics,
	}
	if err := f.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, t := range f.Topics {
		if !s.KnownTopic(t) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown topic %q", t))
			return
		}
	}
	f.ID = feeds.IDFor(f.Society, f.URL)
	if err := s.Feeds.Create(r.Context(), f); err != nil {
		if errors.Is(err, feeds.ErrExists) {
			writeError(w, http.StatusConflict, fmt.Sprintf("feed %s is already registered", f.ID))
			return
		}
		s.internalError(w, r, err)
		return
	}
	s.Log.InfoContext(r.Context(), "feed registered", "feed", f.ID, "url", f.URL)
	s.audit(r, "feed.create", f.ID+" "+f.URL)
	w.Header().Set("Location", "/admin/feeds/"+f.ID)
	writeJSON(w, http.StatusCreated, f)
}

func (s *Server) deleteFeed(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.Feeds.Delete(r.Context(), id); err != nil {
		if errors.Is(err, feeds.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no feed %q", id))
			return
		}
		s.internalError(w, r, err)
		return
	}
	s.Log.InfoContext(r.Context(), "feed deleted", "feed", id)
	s.audit(r, "feed.delete", id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) runIngest(w http.ResponseWriter, r *http.Request) {
	sum, err := s.Ingest.Run(r.Context(), ingest.TriggerManual)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.audit(r, "ingest.run", fmt.Sprintf("%d feeds ok, %d failed, %d new items", sum.FeedsOK, sum.FeedsFailed, sum.ItemsNew))
	writeJSON(w, http.StatusOK, sum)
}

const (
	defaultItemLimit = 50
	maxItemLimit     = 200
)

// itemView is an item as the admin API shows it.
type itemView struct {
	ID        string             `json:"id"`
	Society   string             `json:"society"`
	FeedID    string             `json:"feed_id"`
	Title     string             `json:"title"`
	Link      string             `json:"link"`
	Published time.Time          `json:"published"`
	FirstSeen time.Time          `json:"first_seen"`
	Updated   bool               `json:"updated"`
	UpdatedAt *time.Time         `json:"updated_at,omitempty"`
	Summary   string             `json:"summary"`
	Topics    []string           `json:"topics"`
	Scores    []items.TopicScore `json:"topic_scores"`
}

func viewItem(it items.Item) itemView {
	v := itemView{
		ID: it.Key, Society: it.Society, FeedID: it.FeedID, Title: it.Title, Link: it.Link,
		Published: it.Published, FirstSeen: it.FirstSeen, Updated: it.Updated(),
		Summary: it.Summary, Topics: it.TopicIDs(), Scores: it.Topics,
	}
	if it.Updated() {
		v.UpdatedAt = &it.UpdatedAt
	}
	return v
}

func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	q, societies, reason := s.parseItemQuery(r)
	if reason != "" {
		writeError(w, http.StatusBadRequest, reason)
		return
	}
	known, err := s.Feeds.Societies(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if len(societies) == 0 {
		societies = known
	}
	for _, soc := range societies {
		if !slices.Contains(known, soc) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown society %q", soc))
			return
		}
	}
	q.Societies = societies
	found, err := s.Items.List(r.Context(), q)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	views := make([]itemView, len(found))
	for i, it := range found {
		views[i] = viewItem(it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": views})
}

// parseItemQuery reads topic, society (comma-separated or repeated), since
// (RFC 3339 or a date) and limit, or returns the reason they are wrong.
func (s *Server) parseItemQuery(r *http.Request) (items.Query, []string, string) {
	v := r.URL.Query()
	q := items.Query{Topic: strings.TrimSpace(v.Get("topic")), Limit: defaultItemLimit}
	if q.Topic != "" && !s.KnownTopic(q.Topic) {
		return q, nil, fmt.Sprintf("unknown topic %q", q.Topic)
	}
	var societies []string
	for _, raw := range v["society"] {
		for soc := range strings.SplitSeq(raw, ",") {
			if soc = strings.TrimSpace(soc); soc != "" && !slices.Contains(societies, soc) {
				societies = append(societies, soc)
			}
		}
	}
	if since := strings.TrimSpace(v.Get("since")); since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			t, err = time.Parse(time.DateOnly, since)
		}
		if err != nil {
			return q, nil, fmt.Sprintf("since %q must be a date (2026-11-01) or an RFC 3339 time", since)
		}
		q.Since = t
	}
	if limit := strings.TrimSpace(v.Get("limit")); limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > maxItemLimit {
			return q, nil, fmt.Sprintf("limit %q must be a whole number from 1 to %d", limit, maxItemLimit)
		}
		q.Limit = n
	}
	return q, societies, ""
}
