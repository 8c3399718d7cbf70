package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// storyServer serves two societies' feeds from 127.0.0.1: the ESR's joint
// statement, and the RSNA's retelling of it (another headline, another
// lead, its own GUID and link), which appears with later news once
// published is set.
func storyServer(t *testing.T) (*feedServer, *atomic.Bool) {
	t.Helper()
	fs := &feedServer{hits: map[string]int{}}
	fs.esrTitle.Store("")
	var published atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/story/esr/feed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(fs.fixture(t, "story-esr.rss"))
	})
	mux.HandleFunc("/story/rsna/feed", func(w http.ResponseWriter, r *http.Request) {
		later := ""
		if published.Load() {
			later = string(fs.fixture(t, "story-rsna-later.xml"))
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write([]byte(strings.Replace(string(fs.fixture(t, "story-rsna.rss")), "{{LATER}}", later, 1)))
	})
	fs.Server = httptest.NewServer(mux)
	t.Cleanup(fs.Close)
	return fs, &published
}

// TestStoryOnce: two societies' feeds publish the same story in different
// words, a day apart. Ingest groups the second with the first; an alert
// subscriber, who had the story in an earlier alert, is not sent it again;
// a digest of both days shows it once, naming both societies.
func TestStoryOnce(t *testing.T) {
	t.Parallel()
	fs, published := storyServer(t)
	a := newTestApp(t, fs.writeRegistry(t, []feedDef{{"esr", "/story/esr/feed", nil}, {"rsna", "/story/rsna/feed", nil}}))
	srv := newTestAPI(t, a)
	ctx := context.Background()
	every := []string{"ai", "screening", "guidelines", "policy", "safety", "ultrasound", "workforce", "events", "education", "research"}
	addConfirmed(t, a, "alerts@hospital.test", subscribers.Preferences{Topics: every, Frequency: subscribers.Instant})
	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Day one: the ESR's statement.
	if _, err := a.Ingest.Run(ctx, ingest.TriggerSchedule); err != nil {
		t.Fatal(err)
	}
	drain(t, a, sender)
	box := mailbox(t, a, "alerts@hospital.test")
	if len(box) != 1 || !strings.Contains(box[0].Text, "ESR and ERS joint statement on lung cancer screening") {
		t.Fatalf("first alert: %d mails; want one with the ESR's statement", len(box))
	}

	// Day two: the RSNA retells it, with other news.
	published.Store(true)
	if _, err := a.Ingest.Run(ctx, ingest.TriggerManual); err != nil {
		t.Fatal(err)
	}
	stored, err := a.Items.GetMany(ctx, []string{items.KeyFor("esr", "esr-2026-401"), items.KeyFor("rsna", "https://rsna.example/news/european-lung-screening-call"), items.KeyFor("rsna", "https://rsna.example/news/paediatric-dose")})
	if err != nil || len(stored) != 3 {
		t.Fatalf("stored items: %d, %v", len(stored), err)
	}
	byKey := map[string]items.Item{}
	for _, it := range stored {
		byKey[it.Key] = it
	}
	esr, retold := byKey[items.KeyFor("esr", "esr-2026-401")], byKey[items.KeyFor("rsna", "https://rsna.example/news/european-lung-screening-call")]
	if esr.Story != "" || retold.Story != esr.Key {
		t.Fatalf("stories: the ESR's %q, the RSNA's %q; want the RSNA's to name the ESR's item %s", esr.Story, retold.Story, esr.Key)
	}
	if other := byKey[items.KeyFor("rsna", "https://rsna.example/news/paediatric-dose")]; other.Story != "" {
		t.Errorf("unrelated news has story %q", other.Story)
	}
	// The admin listing shows the grouping.
	status, page := adminCall(t, http.MethodGet, srv.URL+"/admin/items?society=rsna", "")
	listed, _ := page["items"].([]any)
	found := false
	for _, raw := range listed {
		if v, _ := raw.(map[string]any); v["id"] == retold.Key {
			found = v["story"] == esr.Key
		}
	}
	if status != http.StatusOK || !found {
		t.Errorf("GET /admin/items?society=rsna: %d %v; want the RSNA's item with \"story\": %q", status, page, esr.Key)
	}
	drain(t, a, sender)
	box = mailbox(t, a, "alerts@hospital.test")
	if len(box) != 2 {
		t.Fatalf("%d alerts after day two, want 2", len(box))
	}
	second := box[1].Text
	if !strings.Contains(second, "New radiation dose reference levels for paediatric CT") ||
		strings.Contains(second, "Radiology and respiratory societies back organised lung screening") || strings.Contains(second, "joint statement") {
		t.Errorf("second alert: want the new news without the story sent the day before:\n%s", second)
	}

	// A digest of both days shows the story once, by the ESR's item,
	// naming the RSNA under it, in both parts.
	digestSub := addConfirmed(t, a, "digest@hospital.test", subscribers.Preferences{Topics: every, Frequency: subscribers.Daily, Hour: 7, TimeZone: "UTC"})
	if _, err := a.Planner().Start(ctx, delivery.Request{RunID: "admin-story", Target: delivery.Target{Kind: delivery.TargetSubscriber, SubscriberID: digestSub.ID},
		Until: time.Now().UTC(), StartedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	drain(t, a, sender)
	box = mailbox(t, a, "digest@hospital.test")
	if len(box) != 1 {
		t.Fatalf("%d digests, want 1", len(box))
	}
	for part, body := range map[string]string{"text": box[0].Text, "HTML": box[0].HTML} {
		flat := strings.Join(strings.Fields(body), " ")
		if n := strings.Count(flat, "ESR and ERS joint statement on lung cancer screening"); n == 0 {
			t.Errorf("digest %s lacks the story", part)
		}
		if strings.Contains(flat, "Radiology and respiratory societies back organised lung screening") {
			t.Errorf("digest %s shows the story twice", part)
		}
		if !strings.Contains(flat, "ESR news") || strings.Count(flat, "Also from RSNA news") != 1 {
			t.Errorf("digest %s does not name both societies once (ESR news, Also from RSNA news):\n%s", part, body)
		}
		if !strings.Contains(flat, "New radiation dose reference levels for paediatric CT") {
			t.Errorf("digest %s lacks the other news", part)
		}
	}
}
