package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/items"
)

func (s *Server) listFeeds(w http.ResponseWriter, r *http.Request) {
	list, err := s.Admin.Feeds(r.Context())
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	if list == nil {
		list = []feeds.Feed{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"feeds": list})
}

func (s *Server) createFeed(w http.ResponseWriter, r *http.Request) {
	var in admin.NewFeed
	if !decodeJSON(w, r, &in) {
		return
	}
	f, err := s.Admin.CreateFeed(r.Context(), in, apiActor)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	w.Header().Set("Location", "/admin/feeds/"+f.ID)
	writeJSON(w, http.StatusCreated, f)
}

func (s *Server) deleteFeed(w http.ResponseWriter, r *http.Request) {
	if err := s.Admin.DeleteFeed(r.Context(), r.PathValue("id"), apiActor); err != nil {
		s.adminError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// startIngest answers at once: the ingest function runs the ingest. While
// one runs, the answer names it, and no second run starts.
func (s *Server) startIngest(w http.ResponseWriter, r *http.Request) {
	run, err := s.Admin.StartIngest(r.Context(), apiActor)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	w.Header().Set("Location", "/admin/ingest/"+run.ID)
	writeJSON(w, http.StatusAccepted, map[string]string{"run_id": run.ID, "status": string(run.Status)})
}

func (s *Server) getIngestRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.Admin.IngestRun(r.Context(), r.PathValue("id"))
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	if run.Summary.Feeds == nil {
		run.Summary.Feeds = []ingest.FeedResult{}
	}
	writeJSON(w, http.StatusOK, run)
}

// itemView is an item as the admin API shows it.
type itemView struct {
	ID        string      `json:"id"`
	Society   string      `json:"society"`
	FeedID    string      `json:"feed_id"`
	Title     string      `json:"title"`
	Link      string      `json:"link"`
	Published time.Time   `json:"published"`
	FirstSeen time.Time   `json:"first_seen"`
	Updated   bool        `json:"updated"`
	UpdatedAt *time.Time  `json:"updated_at,omitempty"`
	Summary   string      `json:"summary"`
	Topics    []string    `json:"topics"`
	Scores    []topicView `json:"topic_scores"`
	// Story is the id of the first item of another feed telling the same
	// story, when there is one.
	Story string `json:"story,omitempty"`
}

// topicView is one of an item's topics with what gave it: its source, the
// terms that matched, and the two worded ("matched: deep learning (title)").
type topicView struct {
	items.TopicScore
	Reason string `json:"reason,omitempty"`
}

func viewItem(it items.Item) itemView {
	v := itemView{
		ID: it.Key, Society: it.Society, FeedID: it.FeedID, Title: it.Title, Link: it.Link,
		Published: it.Published, FirstSeen: it.FirstSeen, Updated: it.Updated(),
		Summary: it.Summary, Topics: it.TopicIDs(), Scores: make([]topicView, len(it.Topics)), Story: it.Story,
	}
	for i, t := range it.Topics {
		v.Scores[i] = topicView{TopicScore: t, Reason: t.Reason()}
	}
	if it.Updated() {
		v.UpdatedAt = &it.UpdatedAt
	}
	return v
}

// listItems answers ?topic=&society=&since=&limit=&cursor= with a page
// and the cursor of the next ("" after the last); society may be
// comma-separated or repeated.
func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := admin.ItemQuery{Topic: v.Get("topic"), Since: v.Get("since"), Limit: v.Get("limit"), Cursor: v.Get("cursor")}
	for _, raw := range v["society"] {
		for soc := range strings.SplitSeq(raw, ",") {
			if soc = strings.TrimSpace(soc); soc != "" && !slices.Contains(q.Societies, soc) {
				q.Societies = append(q.Societies, soc)
			}
		}
	}
	page, err := s.Admin.ListItems(r.Context(), q)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	views := make([]itemView, len(page.Items))
	for i, it := range page.Items {
		views[i] = viewItem(it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": views, "next": page.Next})
}

// setItemTopics answers PUT /admin/items/{id}/topics, body {"topics":
// [...]}, with the item as it now is.
func (s *Server) setItemTopics(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Topics []string `json:"topics"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	it, err := s.Admin.CorrectTopics(r.Context(), r.PathValue("id"), in.Topics, apiActor)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewItem(it))
}

// listCorrections answers ?limit= with the latest corrections of items'
// topics, newest first.
func (s *Server) listCorrections(w http.ResponseWriter, r *http.Request) {
	limit, ok := parseLimit(w, r, 50, 500)
	if !ok {
		return
	}
	list, err := s.Admin.Corrections(r.Context(), limit)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	if list == nil {
		list = []admin.Correction{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"corrections": list})
}
