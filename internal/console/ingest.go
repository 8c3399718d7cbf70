package console

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/ingestruns"
)

// startIngest asks for an ingest of every enabled feed and shows its run:
// the ingest function carries it out after the answer. While a run goes,
// the page shows that one; no second run starts.
func (c *console) startIngest(w http.ResponseWriter, r *http.Request, s session) {
	run, err := c.admin.StartIngest(r.Context(), actor)
	if err != nil {
		c.fail(w, r, s, "start an ingest", err)
		return
	}
	http.Redirect(w, r, ingestURL(run.ID), http.StatusSeeOther)
}

type ingestView struct {
	frame
	Run ingestruns.Run
	// Feeds are the run's feed results, the failed ones first.
	Feeds []ingest.FeedResult
}

// Running says the page still changes: it asks to be reloaded.
func (v ingestView) Running() bool { return v.Run.Status == ingestruns.StatusRunning }

func (c *console) ingestPage(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	run, err := c.admin.IngestRun(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, "read ingest run "+id, err)
		return
	}
	v := ingestView{frame: c.frame(s, "Ingest "+run.ID, "overview"), Run: run, Feeds: slices.Clone(run.Summary.Feeds)}
	slices.SortStableFunc(v.Feeds, func(a, b ingest.FeedResult) int {
		switch {
		case (a.Error != "") == (b.Error != ""):
			return 0
		case a.Error != "":
			return -1
		}
		return 1
	})
	c.render(w, r, http.StatusOK, "ingest.html", v)
}

func ingestURL(id string) string {
	return prefix + "/ingest/" + url.PathEscape(id)
}
