package console

import (
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/email"
)

// targetForm is whom a send is for, as the send form asks it.
type targetForm struct {
	Kind  string // "all", "topic" or "subscriber"
	Topic string
	Email string
}

func readTargetForm(v url.Values) targetForm {
	return targetForm{Kind: v.Get("target"), Topic: v.Get("topic"), Email: strings.TrimSpace(v.Get("email"))}
}

// parseTarget reads a run's target back into the form, for the targets the
// form can express.
func parseTarget(target string) (targetForm, bool) {
	kind, value, _ := strings.Cut(target, ":")
	switch kind {
	case "all":
		return targetForm{Kind: kind}, value == ""
	case "topic":
		return targetForm{Kind: kind, Topic: value}, value != ""
	case "subscriber":
		return targetForm{Kind: kind, Email: value}, value != ""
	}
	return targetForm{}, false
}

func (f targetForm) values() url.Values {
	v := url.Values{"target": {f.Kind}}
	switch f.Kind {
	case "topic":
		v.Set("topic", f.Topic)
	case "subscriber":
		v.Set("email", f.Email)
	}
	return v
}

// target is the form as a TriggerRequest's target, or the reason it is not
// one yet.
func (c *console) target(f targetForm) (target, problem string) {
	switch f.Kind {
	case "all":
		return "all", ""
	case "topic":
		if !c.knownTopic(f.Topic) {
			return "", "Choose one of the topics."
		}
		return "topic:" + f.Topic, ""
	case "subscriber":
		if problem := checkAddress(f.Email); problem != "" {
			return "", problem
		}
		return "subscriber:" + f.Email, ""
	}
	return "", "Choose whom to send to: everyone, a topic or one subscriber."
}

func checkAddress(email string) string {
	switch {
	case email == "":
		return "Enter an email address."
	case len(email) > 254 || strings.ContainsAny(email, " \t\r\n") || !strings.Contains(email, "@"):
		return "Enter an email address in the form name@example.org."
	}
	return ""
}

type sendView struct {
	frame
	Form    targetForm
	Topics  []option
	Problem string
}

func (c *console) sendView(s session, f targetForm, problem string) sendView {
	v := sendView{frame: c.frame(s, "Send", "send"), Form: f, Topics: c.topicOptions(f.Topic), Problem: problem}
	if problem != "" {
		v.Title = "Error: Send"
	}
	return v
}

func (c *console) sendPage(w http.ResponseWriter, r *http.Request, s session) {
	f := readTargetForm(r.URL.Query())
	if f.Kind == "" {
		f.Kind = "topic"
	}
	c.render(w, r, http.StatusOK, "send.html", c.sendView(s, f, ""))
}

// dryRunView shows whom a send would reach, and asks to send it for real.
type dryRunView struct {
	frame
	Run  admin.Run
	Form targetForm
	// Key makes the confirmation idempotent: a second click or a resent
	// form names the run the first one started.
	Key string
}

// ChangeURL opens the send form again with the same recipients.
func (v dryRunView) ChangeURL() string {
	return prefix + "/send?" + v.Form.values().Encode()
}

// idempotencyKey is what rand.Text makes.
var idempotencyKey = regexp.MustCompile(`^[A-Z2-7]{26}$`)

// send does a dry run of the form's target, or, for a confirmation of one,
// the real send, and then shows its run.
func (c *console) send(w http.ResponseWriter, r *http.Request, s session) {
	form := readTargetForm(r.PostForm)
	target, problem := c.target(form)
	if problem != "" {
		c.render(w, r, http.StatusBadRequest, "send.html", c.sendView(s, form, problem))
		return
	}

	if r.PostForm.Get("dry_run") != "false" {
		run, err := c.admin.Trigger(r.Context(), admin.TriggerRequest{Target: target, DryRun: true, Actor: actor})
		if err != nil {
			c.sendFailed(w, r, s, form, err)
			return
		}
		if run.Status == admin.RunPlanning {
			// Planned shard by shard elsewhere: its page waits for it.
			http.Redirect(w, r, prefix+"/dry-runs/"+url.PathEscape(run.ID)+"?"+form.values().Encode(), http.StatusSeeOther)
			return
		}
		c.renderDryRun(w, r, s, run, form)
		return
	}

	key := r.PostForm.Get("key")
	if !idempotencyKey.MatchString(key) {
		c.render(w, r, http.StatusBadRequest, "send.html", c.sendView(s, form, "This confirmation is incomplete, so nothing was sent. Start again with a dry run."))
		return
	}
	run, err := c.admin.Trigger(r.Context(), admin.TriggerRequest{Target: target, IdempotencyKey: key, Actor: actor})
	if err != nil {
		c.sendFailed(w, r, s, form, err)
		return
	}
	http.Redirect(w, r, runURL(run.ID), http.StatusSeeOther)
}

// planningRefresh is how often a page of a run still being planned looks again.
const planningRefresh = 2

// dryRunPage shows a dry run planned elsewhere: its progress while its
// shards are planned, then whom the send would reach.
func (c *console) dryRunPage(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	run, err := c.admin.Run(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, "read dry run "+id, err)
		return
	}
	form, ok := parseTarget(run.Target)
	if !run.DryRun || !ok {
		http.Redirect(w, r, runURL(run.ID), http.StatusSeeOther)
		return
	}
	c.renderDryRun(w, r, s, run.Run, form)
}

func (c *console) renderDryRun(w http.ResponseWriter, r *http.Request, s session, run admin.Run, form targetForm) {
	v := dryRunView{frame: c.frame(s, "Dry run · Send", "send"), Run: run, Form: form, Key: rand.Text()}
	if run.Status == admin.RunPlanning {
		v.Refresh = planningRefresh
	}
	c.render(w, r, http.StatusOK, "dryrun.html", v)
}

// sendFailed shows the form again for the user's mistakes.
func (c *console) sendFailed(w http.ResponseWriter, r *http.Request, s session, form targetForm, err error) {
	status, reason, ok := userError(err)
	if !ok {
		c.fail(w, r, s, "trigger a send to "+form.Kind, err)
		return
	}
	if status == http.StatusNotFound && form.Kind == "subscriber" {
		reason = noSubscriber
	}
	c.render(w, r, status, "send.html", c.sendView(s, form, reason))
}

// noSubscriber is the reason shown for an address nobody subscribed with.
const noSubscriber = "No subscriber has that address: nobody signed up with it, or their data was erased."

// previewForm names what to preview, as the preview page's address does.
type previewForm struct {
	Subscriber string
	Topic      string
}

func readPreviewForm(v url.Values) previewForm {
	return previewForm{Subscriber: strings.TrimSpace(v.Get("subscriber")), Topic: v.Get("topic")}
}

func (f previewForm) empty() bool { return f.Subscriber == "" && f.Topic == "" }

func (f previewForm) request() admin.PreviewRequest {
	return admin.PreviewRequest{Subscriber: f.Subscriber, Topic: f.Topic}
}

func (f previewForm) values() url.Values {
	if f.Subscriber != "" {
		return url.Values{"subscriber": {f.Subscriber}}
	}
	return url.Values{"topic": {f.Topic}}
}

func (f previewForm) check() string {
	if f.Subscriber != "" && f.Topic != "" {
		return "Preview a subscriber's mail or a topic's sample, not both."
	}
	return ""
}

type previewView struct {
	frame
	Form    previewForm
	Topics  []option
	Problem string // why the chosen preview cannot be shown

	Message *email.Message
	Tab     string // "html" or "text"
	HTMLURL string
	TextURL string
	RawURL  string

	To          string
	SendProblem string
	SentTo      string
}

func (c *console) previewView(s session, f previewForm) previewView {
	return previewView{frame: c.frame(s, "Preview", "preview"), Form: f, Topics: c.topicOptions(f.Topic)}
}

func (c *console) previewPage(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	f := readPreviewForm(q)
	v := c.previewView(s, f)
	if f.empty() {
		c.render(w, r, http.StatusOK, "preview.html", v)
		return
	}
	c.showPreview(w, r, s, v, q.Get("view"), http.StatusOK)
}

// showPreview renders the mail v's form names, in the tab asked for.
func (c *console) showPreview(w http.ResponseWriter, r *http.Request, s session, v previewView, tab string, status int) {
	if problem := v.Form.check(); problem != "" {
		v.Title, v.Problem = "Error: Preview", problem
		c.render(w, r, http.StatusBadRequest, "preview.html", v)
		return
	}
	m, err := c.admin.Preview(r.Context(), v.Form.request())
	if err != nil {
		code, reason, ok := userError(err)
		if !ok {
			c.fail(w, r, s, "preview", err)
			return
		}
		if errors.Is(err, admin.ErrNotFound) && v.Form.Subscriber != "" {
			reason = noSubscriber
		}
		v.Title, v.Problem = "Error: Preview", reason
		c.render(w, r, code, "preview.html", v)
		return
	}
	v.Message = &m
	v.Title = m.Subject + " · Preview"
	if v.SendProblem != "" {
		v.Title = "Error: " + v.Title
	}
	v.Tab = "html"
	if tab == "text" || m.HTML == "" {
		v.Tab = "text"
	}
	page := func(view string) string {
		q := v.Form.values()
		q.Set("view", view)
		return prefix + "/preview?" + q.Encode()
	}
	v.HTMLURL, v.TextURL = page("html"), page("text")
	v.RawURL = prefix + "/preview/raw?" + v.Form.values().Encode()
	c.render(w, r, status, "preview.html", v)
}

// rawPreviewPolicy lets the mail's HTML style itself and show remote
// images, and nothing else: no script, no form, no plugin, and as a
// sandboxed document it has no origin, so it cannot read the console.
const rawPreviewPolicy = "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'"

// previewRaw answers the mail's own HTML, for the preview page's frame.
func (c *console) previewRaw(w http.ResponseWriter, r *http.Request, s session) {
	h := w.Header()
	h.Set("Content-Security-Policy", rawPreviewPolicy)
	h.Set("X-Frame-Options", "SAMEORIGIN") // only the console may frame it
	h.Set("Content-Type", "text/html; charset=utf-8")

	f := readPreviewForm(r.URL.Query())
	if f.empty() || f.check() != "" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, "<!doctype html><p>Name one subscriber or one topic to preview.</p>")
		return
	}
	m, err := c.admin.Preview(r.Context(), f.request())
	if err != nil {
		status, reason, ok := userError(err)
		if !ok {
			c.log.ErrorContext(r.Context(), "console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			status, reason = http.StatusInternalServerError, "Something went wrong on our side."
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!doctype html><p>%s</p>", html.EscapeString(reason))
		return
	}
	if m.HTML == "" {
		fmt.Fprintf(w, "<!doctype html><pre>%s</pre>", html.EscapeString(m.Text))
		return
	}
	fmt.Fprint(w, m.HTML)
}

// testSend mails the previewed message to an address of the admin's
// choosing, and shows the preview again.
func (c *console) testSend(w http.ResponseWriter, r *http.Request, s session) {
	f := readPreviewForm(r.PostForm)
	v := c.previewView(s, f)
	v.To = strings.TrimSpace(r.PostForm.Get("to"))
	problem := f.check()
	if f.empty() {
		problem = "Choose a subscriber or a topic to preview first."
	}
	if problem != "" {
		v.Title, v.Problem = "Error: Preview", problem
		c.render(w, r, http.StatusBadRequest, "preview.html", v)
		return
	}
	status := http.StatusOK
	if problem := checkAddress(v.To); problem != "" {
		status, v.SendProblem = http.StatusBadRequest, problem
	} else if err := c.admin.TestSend(r.Context(), f.request(), v.To, actor); err != nil {
		code, reason, ok := userError(err)
		if !ok {
			c.fail(w, r, s, "test send", err)
			return
		}
		if errors.Is(err, admin.ErrNotFound) && f.Subscriber != "" {
			reason = noSubscriber
		}
		status, v.SendProblem = code, reason
	} else {
		v.SentTo, v.To = v.To, ""
	}
	c.showPreview(w, r, s, v, r.PostForm.Get("view"), status)
}
