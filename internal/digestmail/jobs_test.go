package digestmail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

func TestJoinWords(t *testing.T) {
	tests := []struct {
		words []string
		want  string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a and b"},
		{[]string{"a", "b", "c"}, "a, b and c"},
		{[]string{"a", "b", "c", "d"}, "a, b, c and d"},
	}
	for _, tt := range tests {
		if got := joinWords(tt.words); got != tt.want {
			t.Errorf("joinWords(%q) = %q, want %q", tt.words, got, tt.want)
		}
	}
}

func TestWhyLine(t *testing.T) {
	topicNames := map[string]string{"ai": "AI", "screening": "Screening", "safety": "Safety"}
	societyNames := map[string]string{"esr": "European Society of Radiology", "rsna": "RSNA"}
	tests := []struct {
		name string
		p    subscribers.Preferences
		want string
	}{
		{"daily, all societies", subscribers.Preferences{Frequency: subscribers.Daily, Topics: []string{"ai"}},
			"You get this daily digest because you subscribed to AI from all societies."},
		{"no frequency reads as daily", subscribers.Preferences{Topics: []string{"ai", "screening"}},
			"You get this daily digest because you subscribed to AI and Screening from all societies."},
		{"weekly, named societies", subscribers.Preferences{Frequency: subscribers.Weekly, Topics: []string{"ai", "screening", "safety"}, Societies: []string{"esr", "rsna"}},
			"You get this weekly digest because you subscribed to AI, Screening and Safety from European Society of Radiology and RSNA."},
		{"instant, unknown society upper-cased", subscribers.Preferences{Frequency: subscribers.Instant, Topics: []string{"safety"}, Societies: []string{"esr", "rsna", "aosr"}},
			"You get these alerts because you subscribed to Safety from European Society of Radiology, RSNA and AOSR."},
		{"unknown topic left out", subscribers.Preferences{Frequency: subscribers.Daily, Topics: []string{"astrology", "ai"}},
			"You get this daily digest because you subscribed to AI from all societies."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := whyLine(tt.p, topicNames, societyNames); got != tt.want {
				t.Errorf("whyLine:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// societyList is a SocietyLister answering list, and err alongside.
type societyList struct {
	list []feeds.Society
	err  error
}

func (s societyList) Societies(context.Context) ([]feeds.Society, error) { return s.list, s.err }

func newJobRenderer(t *testing.T, societies SocietyLister) *JobRenderer {
	t.Helper()
	taxonomy, err := topics.Load(infra.Topics)
	if err != nil {
		t.Fatal(err)
	}
	links := func(_ context.Context, sub subscribers.Subscriber) subscribers.Links {
		return subscribers.Links{
			Preferences: "https://radiogram.example/preferences?token=" + sub.ID,
			Unsubscribe: "https://radiogram.example/unsubscribe?token=" + sub.ID,
		}
	}
	return NewJobRenderer(NewRenderer(testProduct, ""), taxonomy, societies, links)
}

func TestJobRenderer(t *testing.T) {
	until := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	news := func(key, society, topic string, age time.Duration) items.Item {
		at := until.Add(-age)
		return items.Item{
			Key: key, Society: society, Title: "News " + key, Link: "https://example.org/" + key,
			Published: at, FirstSeen: at, Summary: "What happened in " + key + ".",
			Topics: []items.TopicScore{{ID: topic, Score: 1}},
		}
	}
	list := []items.Item{
		news("a1", "esr", "ai", time.Hour),
		news("s1", "rsna", "screening", 2*time.Hour),
		news("c1", "acr", "cancer", 3*time.Hour), // of a topic nobody chose
	}
	sub := subscribers.Subscriber{
		ID: "sub-1", Email: "ada@example.org",
		Preferences: subscribers.Preferences{
			Topics: []string{"screening", "ai"}, Societies: []string{"esr", "rsna"},
			Frequency: subscribers.Daily, TimeZone: "Europe/Vienna", Format: subscribers.FormatText,
		},
	}
	job := delivery.Job{Kind: digest.KindDigest, Until: until, Format: subscribers.FormatText, Topics: sub.Preferences.Topics, Societies: sub.Preferences.Societies}

	tests := []struct {
		name      string
		societies societyList
		want      []string
	}{
		{"named societies", societyList{list: []feeds.Society{{ID: "esr", Name: "European Society of Radiology"}, {ID: "rsna", Name: "Radiological Society of North America"}}},
			[]string{"because you subscribed to Screening & early detection and AI & informatics from European Society of Radiology and Radiological Society of North America.", "Radiological Society of North America"}},
		{"societies unread", societyList{err: errors.New("table unavailable")},
			[]string{"because you subscribed to Screening & early detection and AI & informatics from ESR and RSNA."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newJobRenderer(t, tt.societies)
			tmpl, err := r.Compile(context.Background(), job, list)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := tmpl.Fill(context.Background(), sub, until.Add(-24*time.Hour), until)
			if err != nil {
				t.Fatal(err)
			}
			if msg.To != sub.Email || msg.HTML != "" {
				t.Errorf("to %q, html %d bytes; want a text mail to %s", msg.To, len(msg.HTML), sub.Email)
			}
			text := strings.Join(strings.Fields(msg.Text), " ")
			for _, want := range append(tt.want, "https://radiogram.example/unsubscribe?token=sub-1") {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, msg.Text)
				}
			}
			// Sections follow the taxonomy's order (screening before ai),
			// and items of topics the recipients did not choose are left out.
			screening, ai := strings.Index(text, "News s1"), strings.Index(text, "News a1")
			if screening < 0 || ai < 0 || screening > ai {
				t.Errorf("sections out of order or missing (screening at %d, ai at %d):\n%s", screening, ai, msg.Text)
			}
			if strings.Contains(text, "News c1") {
				t.Errorf("an item of an unchosen topic was rendered:\n%s", msg.Text)
			}
			if n := strings.Count(text, "From a society you follow."); n != 2 {
				t.Errorf("%d items say they come from a followed society, want 2:\n%s", n, msg.Text)
			}
		})
	}
}

// TestJobRendererKeywords: a job's keywords bring an item of no chosen
// topic under "Your keywords", first, and name the keyword on every item
// it matches; without keywords such an item is left out, as before.
func TestJobRendererKeywords(t *testing.T) {
	until := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	news := func(key, title, topic string, age time.Duration) items.Item {
		at := until.Add(-age)
		return items.Item{Key: key, Society: "esr", Title: title, Link: "https://example.org/" + key,
			Published: at, FirstSeen: at, Topics: []items.TopicScore{{ID: topic, Score: 0.8}}}
	}
	list := []items.Item{
		news("a1", "AI reads chest films", "ai", time.Hour),
		news("c1", "Lung cancer screened cohorts", "oncology", 2*time.Hour),
		news("c2", "Lung cancer screening in Europe", "oncology", 3*time.Hour),
		news("x1", "Cardiac CT volumes", "cardiac", 4*time.Hour),
	}
	list[0].Summary = "Lung cancer screening with AI."
	sub := subscribers.Subscriber{ID: "sub-1", Email: "ada@example.org",
		Preferences: subscribers.Preferences{Topics: []string{"ai"}, Frequency: subscribers.Daily, TimeZone: "UTC", Format: subscribers.FormatText}}
	job := delivery.Job{Kind: digest.KindDigest, Until: until, Format: subscribers.FormatText, Topics: []string{"ai"}, Keywords: []string{"lung cancer screening"}}
	r := newJobRenderer(t, societyList{})
	render := func(job delivery.Job) string {
		t.Helper()
		tmpl, err := r.Compile(context.Background(), job, list)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := tmpl.Fill(context.Background(), sub, until.Add(-24*time.Hour), until)
		if err != nil {
			t.Fatal(err)
		}
		return msg.Text
	}
	text := render(job)
	order := []string{"Your keywords\n=====", "Lung cancer screened cohorts", "Lung cancer screening in Europe", "AI & informatics\n=====", "AI reads chest films"}
	at := -1
	for _, want := range order {
		i := strings.Index(text, want)
		if i < at {
			t.Fatalf("%q missing or out of order:\n%s", want, text)
		}
		at = i
	}
	if n := strings.Count(text, "You follow: lung cancer screening."); n != 3 {
		t.Errorf("%d items name the keyword, want 3:\n%s", n, text)
	}
	if strings.Contains(text, "Cardiac CT") {
		t.Errorf("an item neither a topic nor a keyword chose was rendered:\n%s", text)
	}
	job.Keywords = nil
	if text := render(job); strings.Contains(text, "Your keywords") || strings.Contains(text, "Lung cancer screened") || strings.Contains(text, "You follow") {
		t.Errorf("without keywords:\n%s", text)
	}
}
