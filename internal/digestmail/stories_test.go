package digestmail

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestJobRendererShowsAStoryOnce: items of one story (items.Item.Story)
// are shown once, by the first seen, which names the other items'
// societies, in both parts.
func TestJobRendererShowsAStoryOnce(t *testing.T) {
	until := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	news := func(key, society, story string, age time.Duration) items.Item {
		at := until.Add(-age)
		return items.Item{
			Key: key, Society: society, Story: story, Title: "News " + key, Link: "https://example.org/" + key,
			Published: at, FirstSeen: at, Summary: "What happened in " + key + ".",
			Topics: []items.TopicScore{{ID: "screening", Score: 1}},
		}
	}
	list := []items.Item{
		news("acr-1", "acr", "rsna-1", time.Hour),
		news("rsna-1", "rsna", "", 3*time.Hour),
		news("esr-1", "esr", "rsna-1", 2*time.Hour),
		news("esr-2", "esr", "", 2*time.Hour),
	}
	r := newJobRenderer(t, societyList{list: []feeds.Society{{ID: "rsna", Name: "RSNA"}, {ID: "acr", Name: "ACR"}, {ID: "esr", Name: "ESR"}}})
	sub := subscribers.Subscriber{ID: "sub-1", Email: "ada@example.org", Preferences: subscribers.Preferences{
		Topics: []string{"screening"}, Frequency: subscribers.Daily, TimeZone: "UTC", Format: subscribers.FormatHTML,
	}}
	for _, kind := range []digest.Kind{digest.KindDigest, digest.KindAlert} {
		job := delivery.Job{Kind: kind, Until: until, Format: subscribers.FormatHTML, Topics: sub.Preferences.Topics}
		tmpl, err := r.Compile(context.Background(), job, list)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := tmpl.Fill(context.Background(), sub, until.Add(-24*time.Hour), until)
		if err != nil {
			t.Fatal(err)
		}
		for part, body := range map[string]string{"HTML": msg.HTML, "text": msg.Text} {
			if strings.Contains(body, "News acr-1") || strings.Contains(body, "News esr-1") {
				t.Errorf("%s %s shows a story's later items:\n%s", kind, part, body)
			}
			if strings.Count(body, "News rsna-1") == 0 || !strings.Contains(body, "News esr-2") {
				t.Errorf("%s %s lacks the story's first item or the other news:\n%s", kind, part, body)
			}
			if n := strings.Count(body, "Also from ESR, ACR"); n != 1 {
				t.Errorf("%s %s says %q %d times, want once:\n%s", kind, part, "Also from ESR, ACR", n, body)
			}
		}
		if !strings.Contains(msg.Subject, "+ 1 more") {
			t.Errorf("%s subject %q: want the story counted once (+ 1 more)", kind, msg.Subject)
		}
	}
}
