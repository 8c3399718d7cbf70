package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/items"
)

// listedCorrections is how many corrections the corrections page shows.
const listedCorrections = 100

// topicChoice is one checkbox of the topics form.
type topicChoice struct {
	ID, Name string
	Checked  bool
}

type itemPageView struct {
	frame
	Item      items.Item
	Choices   []topicChoice
	MaxTopics int
	// Saved is set after a correction: the page confirms it.
	Saved   bool
	Problem string
}

func (c *console) itemPageView(s session, it items.Item, checked []string) itemPageView {
	v := itemPageView{frame: c.frame(s, it.Title+" · Items", "items"), Item: it, MaxTopics: c.maxTopics}
	for _, t := range c.topics {
		v.Choices = append(v.Choices, topicChoice{ID: t.ID, Name: t.Name, Checked: slices.Contains(checked, t.ID)})
	}
	return v
}

// itemPage shows one item, its topics with what gave each, and the form
// that sets them.
func (c *console) itemPage(w http.ResponseWriter, r *http.Request, s session) {
	it, err := c.admin.Item(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, "read item", err)
		return
	}
	v := c.itemPageView(s, it, it.TopicIDs())
	v.Saved = r.URL.Query().Get("saved") == "1"
	c.render(w, r, http.StatusOK, "item.html", v)
}

// correctTopics sets an item's topics to the form's, then shows the item
// again: saved, or with the reason it was not and the choices as made.
func (c *console) correctTopics(w http.ResponseWriter, r *http.Request, s session) {
	ctx := r.Context()
	id, chosen := r.PathValue("id"), r.PostForm["topic"]
	_, err := c.admin.CorrectTopics(ctx, id, chosen, actor)
	if err == nil {
		http.Redirect(w, r, itemURL(id)+"?saved=1", http.StatusSeeOther)
		return
	}
	status, reason, ok := userError(err)
	if !ok || status == http.StatusNotFound {
		c.fail(w, r, s, "correct topics of item "+id, err)
		return
	}
	it, ierr := c.admin.Item(ctx, id)
	if ierr != nil {
		c.fail(w, r, s, "read item", ierr)
		return
	}
	v := c.itemPageView(s, it, chosen)
	v.Title, v.Problem = "Error: "+v.Title, reason
	c.render(w, r, status, "item.html", v)
}

type correctionsView struct {
	frame
	Corrections []admin.Correction
}

func (c *console) correctionsPage(w http.ResponseWriter, r *http.Request, s session) {
	list, err := c.admin.Corrections(r.Context(), listedCorrections)
	if err != nil {
		c.fail(w, r, s, "list corrections", err)
		return
	}
	c.render(w, r, http.StatusOK, "corrections.html", correctionsView{frame: c.frame(s, "Corrections", "corrections"), Corrections: list})
}

func itemURL(id string) string {
	return prefix + "/items/" + url.PathEscape(id)
}

// topicReason words one of an item's topics and why it has it: "AI —
// matched: deep learning (title)", "Ultrasound — from the feed".
func (c *console) topicReason(t items.TopicScore) string {
	if reason := t.Reason(); reason != "" {
		return c.topicName(t.ID) + " — " + reason
	}
	return c.topicName(t.ID)
}

// topicNames lists topics by name.
func (c *console) topicNames(list []items.TopicScore) string {
	names := make([]string, len(list))
	for i, t := range list {
		names[i] = c.topicName(t.ID)
	}
	return strings.Join(names, ", ")
}
