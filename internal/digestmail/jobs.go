package digestmail

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/keywords"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// SocietyLister lists the societies whose names items are shown with
// (*feeds.Catalog).
type SocietyLister interface {
	Societies(ctx context.Context) ([]feeds.Society, error)
}

// ArchiveLinker gives the link to the archive of what a subscriber's
// mail for (since, until] leaves out. The archive is not built yet: the
// app links to its public address for now.
type ArchiveLinker interface {
	ArchiveURL(ctx context.Context, sub subscribers.Subscriber, since, until time.Time) string
}

// JobRenderer renders delivery jobs (a delivery.Renderer): sections grouped
// by the recipients' topics, and each recipient's period, reason and signed
// links filled in. It is safe for concurrent use.
type JobRenderer struct {
	mail       *Renderer
	taxonomy   *topics.Taxonomy
	topicOrder []string          // display order of every topic id
	topicNames map[string]string // by id, for badges and the why line
	societies  SocietyLister
	links      func(context.Context, subscribers.Subscriber) subscribers.Links
	archive    ArchiveLinker // nil: mails link to no archive and must show every item
}

var _ delivery.Renderer = (*JobRenderer)(nil)

// NewJobRenderer returns a JobRenderer writing with mail, ordering and
// naming topics as taxonomy does, naming societies as societies lists them,
// and giving each recipient the links returns.
func NewJobRenderer(mail *Renderer, taxonomy *topics.Taxonomy, societies SocietyLister, links func(context.Context, subscribers.Subscriber) subscribers.Links) *JobRenderer {
	r := &JobRenderer{
		mail:       mail,
		taxonomy:   taxonomy,
		topicNames: map[string]string{},
		societies:  societies,
		links:      links,
	}
	for _, t := range taxonomy.Topics() {
		r.topicOrder = append(r.topicOrder, t.ID)
		r.topicNames[t.ID] = t.Name
	}
	return r
}

// WithArchive makes r link mails with more items than they show to a.
func (r *JobRenderer) WithArchive(a ArchiveLinker) *JobRenderer {
	r.archive = a
	return r
}

// Compile renders a job once; what differs per recipient is filled in by
// the template, which reuses what Compile looked up.
func (r *JobRenderer) Compile(ctx context.Context, job delivery.Job, list []items.Item) (delivery.Template, error) {
	societies := r.societyNames(ctx)
	content := Content{Kind: job.Kind, Format: job.Format, SocietyNames: societies, TopicNames: r.topicNames,
		Chosen: job.Topics, FollowedSocieties: job.Societies, Keywords: job.Keywords}
	// A story is shown once, by its first item, naming the societies of
	// the others: grouped among the job's items only, which the
	// recipients' societies and topics chose.
	list, also := digest.CollapseStories(list)
	for key, others := range also {
		if content.AlsoFrom == nil {
			content.AlsoFrom = map[string][]string{}
		}
		for _, o := range others {
			content.AlsoFrom[key] = append(content.AlsoFrom[key], o.Society)
		}
	}
	if followed := followedOnly(job, list); len(followed) > 0 {
		content.Sections = append(content.Sections, FollowedSection(followed))
	}
	for _, sec := range digest.GroupByTopic(job.Topics, r.topicOrder, list) {
		topic, _ := r.taxonomy.Lookup(sec.Topic)
		content.Sections = append(content.Sections, Section{Topic: topic, Items: sec.Items})
	}
	tmpl, err := r.mail.Compile(content)
	if err != nil {
		return nil, err
	}
	return &jobTemplate{renderer: r, tmpl: tmpl, societies: societies}, nil
}

// followedOnly returns the items of list that none of the job's topics
// chose but one of its keywords did, newest first: GroupByTopic leaves them
// out, and they come first, under FollowedSectionName.
func followedOnly(job delivery.Job, list []items.Item) []items.Item {
	if len(job.Keywords) == 0 {
		return nil
	}
	follow := keywords.Compile(job.Keywords)
	var out []items.Item
	for _, it := range list {
		chosen := slices.ContainsFunc(it.Topics, func(t items.TopicScore) bool { return slices.Contains(job.Topics, t.ID) })
		if !chosen {
			if _, ok := keywords.First(follow, keywords.Tokenize(it.Title, it.Summary)); ok {
				out = append(out, it)
			}
		}
	}
	slices.SortFunc(out, func(a, b items.Item) int {
		return cmp.Or(b.Published.Compare(a.Published), strings.Compare(a.Key, b.Key))
	})
	return out
}

// societyNames maps society ids to names; on a read failure, from what the
// lister still answered.
func (r *JobRenderer) societyNames(ctx context.Context) map[string]string {
	societies, _ := r.societies.Societies(ctx)
	names := make(map[string]string, len(societies))
	for _, s := range societies {
		names[s.ID] = s.Name
	}
	return names
}

// jobTemplate is one compiled job, filled in per recipient.
type jobTemplate struct {
	renderer  *JobRenderer
	tmpl      *Template
	societies map[string]string // names by id, read once per job
}

func (t *jobTemplate) Fill(ctx context.Context, sub subscribers.Subscriber, since, until time.Time) (email.Message, error) {
	return t.FillWithLinks(ctx, sub, since, until, t.renderer.links(ctx, sub))
}

// FillWithLinks is Fill with the given links in place of the recipient's
// own: an admin preview fills in inert ones.
func (t *jobTemplate) FillWithLinks(ctx context.Context, sub subscribers.Subscriber, since, until time.Time, links subscribers.Links) (email.Message, error) {
	loc, err := subscribers.LoadLocation(sub.Preferences.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	rc := Recipient{
		Email:   sub.Email,
		Heading: Heading(t.tmpl.view.kind, sub.Preferences.Frequency, since, until, loc),
		Why:     whyLine(sub.Preferences, t.renderer.topicNames, t.societies),
		Links:   links,
	}
	if t.tmpl.view.needsArchive() {
		if t.renderer.archive != nil {
			rc.Archive = t.renderer.archive.ArchiveURL(ctx, sub, since, until)
		} else if site := t.renderer.mail.product.Link; site != "" {
			rc.Archive = strings.TrimSuffix(site, "/") + "/news"
		}
	}
	return t.tmpl.Fill(rc)
}

// Heading says what a mail is and when, in the subscriber's zone loc:
// "Daily digest · 29–30 Nov", "Weekly digest · 23–30 Nov", "Alert · 30 Nov".
func Heading(kind digest.Kind, f subscribers.Frequency, since, until time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	what := "Daily digest"
	switch {
	case kind == digest.KindAlert:
		return "Alert · " + until.In(loc).Format("2 Jan")
	case f == subscribers.Weekly:
		what = "Weekly digest"
	}
	return what + " · " + shortPeriod(since.In(loc), until.In(loc))
}

// shortPeriod is "29–30 Nov", "28 Nov – 4 Dec", "28 Dec 2026 – 3 Jan 2027"
// or, within one day, "30 Nov".
func shortPeriod(start, end time.Time) string {
	switch {
	case start.IsZero() || !start.Before(end):
		return end.Format("2 Jan")
	case start.Year() != end.Year():
		return start.Format("2 Jan 2006") + " – " + end.Format("2 Jan 2006")
	case start.Month() != end.Month():
		return start.Format("2 Jan") + " – " + end.Format("2 Jan")
	case start.Day() != end.Day():
		return start.Format("2") + "–" + end.Format("2 Jan")
	}
	return end.Format("2 Jan")
}

// whyLine tells a recipient with preferences p, in one sentence, why this mail
// reached them. Topics missing from topicNames are left out; societies
// missing from societyNames are shown by their upper-cased id.
func whyLine(p subscribers.Preferences, topicNames, societyNames map[string]string) string {
	var what string
	switch p.Frequency {
	case subscribers.Instant:
		what = "these alerts"
	case subscribers.Weekly:
		what = "this weekly digest"
	default:
		what = "this daily digest"
	}
	names := make([]string, 0, len(p.Topics))
	for _, id := range p.Topics {
		if name := topicNames[id]; name != "" {
			names = append(names, name)
		}
	}
	from := "all societies"
	if len(p.Societies) > 0 {
		list := make([]string, len(p.Societies))
		for i, id := range p.Societies {
			list[i] = cmp.Or(societyNames[id], strings.ToUpper(id))
		}
		from = joinWords(list)
	}
	return fmt.Sprintf("You get %s because you subscribed to %s from %s.", what, joinWords(names), from)
}

// joinWords joins "a", "a and b", "a, b and c".
func joinWords(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
