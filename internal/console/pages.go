package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// How much each listing shows: the newest, enough to scan on one page.
const (
	overviewRuns = 10
	listedItems  = 50
	listedRuns   = 50
	listedAudit  = 200
)

type overviewView struct {
	frame
	Statuses    []count
	Topics      []count
	Frequencies []count
	Summary     admin.Summary
	Feeds       []feedRow
	Failing     int
	Runs        []admin.Run
}

func (c *console) overview(w http.ResponseWriter, r *http.Request, s session) {
	ctx := r.Context()
	sum, err := c.admin.Summary(ctx)
	if err != nil {
		c.fail(w, r, s, "read summary", err)
		return
	}
	list, err := c.admin.Feeds(ctx)
	if err != nil {
		c.fail(w, r, s, "list feeds", err)
		return
	}
	runs, err := c.admin.Runs(ctx, overviewRuns)
	if err != nil {
		c.fail(w, r, s, "list runs", err)
		return
	}

	v := overviewView{frame: c.frame(s, "Overview", "overview"), Summary: sum, Runs: runs}
	same := func(k string) string { return k }
	v.Statuses = inOrder(sum.ByStatus, []string{string(subscribers.StatusConfirmed), string(subscribers.StatusPending), string(subscribers.StatusUnsubscribed)}, same)
	v.Frequencies = inOrder(sum.ByFrequency, []string{string(subscribers.Instant), string(subscribers.Daily), string(subscribers.Weekly)}, same)
	ids := make([]string, len(c.topics))
	for i, t := range c.topics {
		ids[i] = t.ID
	}
	v.Topics = inOrder(sum.ByTopic, ids, c.topicName)

	for _, f := range list {
		row := feedRow{Feed: f, Failing: failing(f)}
		if row.Failing {
			v.Failing++
		}
		v.Feeds = append(v.Feeds, row)
	}
	// The feeds that need attention come first.
	slices.SortStableFunc(v.Feeds, func(a, b feedRow) int {
		if a.Failing != b.Failing {
			if a.Failing {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.Society, b.Society), strings.Compare(a.Name, b.Name))
	})
	c.render(w, r, http.StatusOK, "overview.html", v)
}

type itemsView struct {
	frame
	Topic     string
	Society   string
	Topics    []option
	Societies []option
	Items     []items.Item
	// Next links the page after this one; "" on the last.
	Next    string
	Problem string
}

func (c *console) itemsPage(w http.ResponseWriter, r *http.Request, s session) {
	ctx := r.Context()
	q := r.URL.Query()
	v := itemsView{frame: c.frame(s, "Items", "items"), Topic: q.Get("topic"), Society: q.Get("society")}
	v.Topics = c.topicOptions(v.Topic)
	societies, err := c.admin.SocietyIDs(ctx)
	if err != nil {
		c.fail(w, r, s, "list societies", err)
		return
	}
	for _, soc := range societies {
		v.Societies = append(v.Societies, option{Value: soc, Label: soc, Selected: soc == v.Society})
	}

	status := http.StatusOK
	page, err := c.admin.Items(ctx, v.Topic, v.Society, q.Get("cursor"), listedItems)
	if err == nil {
		v.Items = page.Items
		if page.Next != "" {
			next := url.Values{"cursor": {page.Next}}
			if v.Topic != "" {
				next.Set("topic", v.Topic)
			}
			if v.Society != "" {
				next.Set("society", v.Society)
			}
			v.Next = "/admin/console/items?" + next.Encode()
		}
	}
	if err != nil {
		code, reason, ok := userError(err)
		if !ok {
			c.fail(w, r, s, "list items", err)
			return
		}
		status, v.Problem = code, reason
		v.Title = "Error: Items"
	}
	c.render(w, r, status, "items.html", v)
}

type subscriberView struct {
	frame
	Email   string
	Problem string
	Detail  *admin.SubscriberDetail
}

func (c *console) subscriberPage(w http.ResponseWriter, r *http.Request, s session) {
	v := subscriberView{frame: c.frame(s, "Subscribers", "subscribers"), Email: strings.TrimSpace(r.URL.Query().Get("email"))}
	if v.Email == "" {
		c.render(w, r, http.StatusOK, "subscriber.html", v)
		return
	}
	d, err := c.admin.Subscriber(r.Context(), v.Email)
	if err != nil {
		status, reason, ok := userError(err)
		if !ok {
			c.fail(w, r, s, "look up subscriber", err)
			return
		}
		if status == http.StatusNotFound {
			reason = noSubscriber
		}
		v.Title, v.Problem = "Error: Subscribers", reason
		c.render(w, r, status, "subscriber.html", v)
		return
	}
	v.Title = d.Subscriber.Email + " · Subscribers"
	v.Detail = &d
	c.render(w, r, http.StatusOK, "subscriber.html", v)
}

type runsView struct {
	frame
	Runs []admin.Run
}

func (c *console) runsPage(w http.ResponseWriter, r *http.Request, s session) {
	runs, err := c.admin.Runs(r.Context(), listedRuns)
	if err != nil {
		c.fail(w, r, s, "list runs", err)
		return
	}
	c.render(w, r, http.StatusOK, "runs.html", runsView{frame: c.frame(s, "Runs", "runs"), Runs: runs})
}

type runView struct {
	frame
	Run admin.RunDetail
	// SendURL opens the send form for the same target: after a dry run,
	// the way to send it for real.
	SendURL string
}

func (c *console) runPage(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	run, err := c.admin.Run(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, "read run "+id, err)
		return
	}
	v := runView{frame: c.frame(s, "Run "+run.ID, "runs"), Run: run}
	if run.Status == admin.RunPlanning {
		v.Refresh = planningRefresh // its counts grow as its parts are planned
	}
	if form, ok := parseTarget(run.Target); ok && run.DryRun {
		v.SendURL = prefix + "/send?" + form.values().Encode()
	}
	c.render(w, r, http.StatusOK, "run.html", v)
}

type auditView struct {
	frame
	Entries []admin.AuditEntry
}

func (c *console) auditPage(w http.ResponseWriter, r *http.Request, s session) {
	entries, err := c.admin.Audit(r.Context(), listedAudit)
	if err != nil {
		c.fail(w, r, s, "read audit log", err)
		return
	}
	c.render(w, r, http.StatusOK, "audit.html", auditView{frame: c.frame(s, "Audit log", "audit"), Entries: entries})
}
