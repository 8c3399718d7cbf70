package console

import (
	"cmp"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/topics"
)

// funcs are the helpers the templates format with.
func (c *console) funcs() template.FuncMap {
	return template.FuncMap{
		"when":          formatTime,
		"iso":           isoTime,
		"ago":           c.ago,
		"topicName":     c.topicName,
		"topicReason":   c.topicReason,
		"topicNames":    c.topicNames,
		"itemURL":       itemURL,
		"counts":        c.sortedCounts,
		"target":        c.describeTarget,
		"runURL":        runURL,
		"subscriberURL": subscriberURL,
		"first":         first,
		"navItem":       navItem,
		"add":           func(a, b int) int { return a + b },
		"sub":           func(a, b int) int { return a - b },
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ago says how long before now t was, roughly, as staff scan a table.
func (c *console) ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := c.now().Sub(t)
	switch {
	case d < 0:
		return "in " + roughly(-d)
	case d < time.Minute:
		return "just now"
	default:
		return roughly(d) + " ago"
	}
}

func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "a moment"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(int(d/(24*time.Hour)), "day")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func (c *console) topicName(id string) string {
	for _, t := range c.topics {
		if t.ID == id {
			return t.Name
		}
	}
	return id
}

// count is one line of a table of counts.
type count struct {
	Key   string
	Label string
	N     int
}

// sortedCounts lists a map's counts, largest first.
func (c *console) sortedCounts(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for k, n := range m {
		out = append(out, count{Key: k, Label: k, N: n})
	}
	slices.SortFunc(out, func(a, b count) int {
		return cmp.Or(cmp.Compare(b.N, a.N), strings.Compare(a.Key, b.Key))
	})
	return out
}

// inOrder lists counts for the keys given first, in their order, then any
// other keys of m; labels names each key.
func inOrder(m map[string]int, keys []string, labels func(string) string) []count {
	out := make([]count, 0, len(m))
	for _, k := range keys {
		out = append(out, count{Key: k, Label: labels(k), N: m[k]})
	}
	var rest []string
	for k := range m {
		if !slices.Contains(keys, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, count{Key: k, Label: labels(k), N: m[k]})
	}
	return out
}

// describeTarget words a run's target for staff.
func (c *console) describeTarget(target string) string {
	kind, value, _ := strings.Cut(target, ":")
	switch kind {
	case "all":
		return "Everyone"
	case "topic":
		return "Topic: " + c.topicName(value)
	case "subscriber":
		return "Subscriber: " + value
	case "due":
		return "Scheduled digests (" + value + ")"
	case "instant":
		return "Instant alerts"
	}
	return target
}

func runURL(id string) string {
	return prefix + "/runs/" + url.PathEscape(id)
}

func subscriberURL(email string) string {
	return prefix + "/subscribers?" + url.Values{"email": {email}}.Encode()
}

// navLink is one entry of the console's navigation.
type navLink struct {
	URL     string
	Text    string
	Current bool
}

func navItem(current, section, url, text string) navLink {
	return navLink{URL: url, Text: text, Current: current == section}
}

// first returns at most n of list.
func first(n int, list []string) []string {
	return list[:min(n, len(list))]
}

// option is one choice of a select or a set of radio buttons.
type option struct {
	Value    string
	Label    string
	Selected bool
}

func (c *console) topicOptions(selected string) []option {
	out := make([]option, len(c.topics))
	for i, t := range c.topics {
		out[i] = option{Value: t.ID, Label: t.Name, Selected: t.ID == selected}
	}
	return out
}

func (c *console) knownTopic(id string) bool {
	return slices.ContainsFunc(c.topics, func(t topics.Topic) bool { return t.ID == id })
}

// feedRow is a feed as the overview lists it.
type feedRow struct {
	feeds.Feed
	Failing bool
}

// failing reports whether a feed needs someone to look at it.
func failing(f feeds.Feed) bool {
	return f.LastStatus == feeds.StatusFailed || f.LastStatus == feeds.StatusGone || f.ConsecutiveFailures > 0
}

// StatusLabel words a feed's last fetch.
func (f feedRow) StatusLabel() string {
	switch {
	case !f.Enabled && f.LastStatus == feeds.StatusGone:
		return "gone (disabled)"
	case !f.Enabled:
		return "disabled"
	case f.LastStatus == feeds.StatusNew:
		return "not fetched yet"
	}
	return string(f.LastStatus)
}
