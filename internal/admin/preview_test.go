package admin

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digestmail"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/letters"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// previewItems answers every item query with list.
type previewItems struct{ list []items.Item }

func (p previewItems) Page(context.Context, items.PageQuery) (items.Page, error) {
	return items.Page{Items: p.list}, nil
}
func (p previewItems) IngestedBetween(context.Context, time.Time, time.Time) ([]items.Item, error) {
	return p.list, nil
}

// oneSubscriber is a subscriber store holding sub alone.
type oneSubscriber struct {
	SubscriberReader
	sub subscribers.Subscriber
}

func (o oneSubscriber) ByEmail(_ context.Context, addr string) (delivery.Candidate, error) {
	if addr != o.sub.Email {
		return delivery.Candidate{}, subscribers.ErrNotFound
	}
	return delivery.Candidate{Subscriber: o.sub, Watermark: testNow.Add(-24 * time.Hour)}, nil
}

type noSocieties struct{}

func (noSocieties) Societies(context.Context) ([]feeds.Society, error) { return nil, nil }

type recordingMail struct{ sent []email.Message }

func (m *recordingMail) Send(_ context.Context, msg email.Message) (string, error) {
	m.sent = append(m.sent, msg)
	return "m1", nil
}

// newPreviewService renders with the real digest renderer, whose links for
// a subscriber carry live tokens.
func newPreviewService(t *testing.T, format subscribers.Format) (*Service, *recordingMail) {
	t.Helper()
	taxonomy, err := topics.Load(infra.Topics)
	if err != nil {
		t.Fatal(err)
	}
	live := func(_ context.Context, sub subscribers.Subscriber) subscribers.Links {
		return subscribers.Links{
			Preferences: "https://radiogram.example/preferences?token=LIVE-" + sub.ID,
			Unsubscribe: "https://radiogram.example/unsubscribe?token=LIVE-" + sub.ID,
			Export:      "https://radiogram.example/me/export?token=LIVE-" + sub.ID,
			Erase:       "https://radiogram.example/me/erase?token=LIVE-" + sub.ID,
		}
	}
	product := letters.Product{Name: "Radiogram", Link: "https://radiogram.example", From: "Radiogram <news@radiogram.example>"}
	renderer := digestmail.NewJobRenderer(digestmail.NewRenderer(product, "unsubscribe@radiogram.example"), taxonomy, noSocieties{}, live)
	seen := testNow.Add(-time.Hour)
	list := []items.Item{{Key: "k1", Society: "esr", Title: "AI in the reading room", Link: "https://example.org/k1",
		Published: seen, FirstSeen: seen, Summary: "What happened.", Topics: []items.TopicScore{{ID: "ai", Score: 1}}}}
	sub := subscribers.Subscriber{ID: "sub-1", Email: "ada@example.org", Status: subscribers.StatusConfirmed,
		Preferences: subscribers.Preferences{Topics: []string{"ai"}, Frequency: subscribers.Daily, Hour: 7, TimeZone: "UTC", Format: format}}
	m := &recordingMail{}
	svc := &Service{
		FeedStore:       &memFeeds{feeds: map[string]feeds.Feed{"esr": {ID: "esr", Society: "esr"}}},
		ItemStore:       previewItems{list},
		SubscriberStore: oneSubscriber{sub: sub},
		RunStore:        &memAudit{},
		Renderer:        renderer,
		Mail:            m,
		KnownTopic:      func(id string) bool { return id == "ai" },
		TestRecipients:  []string{"staff@example.org"},
		PreviewLinks: func(context.Context) subscribers.Links {
			return subscribers.PreviewLinksAt("https://radiogram.example")
		},
		Now: func() time.Time { return testNow },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return svc, m
}

// checkInert fails if msg carries a token-bearing link or lacks the word
// preview in its links.
func checkInert(t *testing.T, what string, msg email.Message) {
	t.Helper()
	parts := map[string]string{"html": msg.HTML, "text": msg.Text}
	for _, h := range msg.Headers {
		parts["header "+h.Name] += h.Value
	}
	for name, s := range parts {
		if strings.Contains(s, "token=") || strings.Contains(s, "LIVE-") || strings.Contains(s, "mailto:") {
			t.Errorf("%s: the %s carries a live link:\n%s", what, name, s)
		}
	}
	if msg.HTML != "" && !strings.Contains(msg.HTML, "/preview-link?what=unsubscribe") {
		t.Errorf("%s: the HTML lacks the inert unsubscribe link:\n%s", what, msg.HTML)
	}
	if !strings.Contains(msg.Text, "/preview-link?what=unsubscribe") || !strings.Contains(msg.Text, "preview") {
		t.Errorf("%s: the text lacks the inert unsubscribe link:\n%s", what, msg.Text)
	}
	var unsub string
	for _, h := range msg.Headers {
		if h.Name == "List-Unsubscribe" {
			unsub += h.Value
		}
	}
	if unsub != "<https://radiogram.example/preview-link?what=unsubscribe>" {
		t.Errorf("%s: List-Unsubscribe %q, want the inert link alone", what, unsub)
	}
}

func TestPreviewCarriesInertLinks(t *testing.T) {
	for _, format := range []subscribers.Format{subscribers.FormatHTML, subscribers.FormatText} {
		svc, _ := newPreviewService(t, format)
		msg, err := svc.Preview(context.Background(), PreviewRequest{Subscriber: "ada@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		if format == subscribers.FormatHTML && msg.HTML == "" {
			t.Fatal("an HTML subscriber's preview has no HTML")
		}
		checkInert(t, "preview ("+string(format)+")", msg)
	}
	svc, _ := newPreviewService(t, subscribers.FormatHTML)
	msg, err := svc.Preview(context.Background(), PreviewRequest{Topic: "ai"})
	if err != nil {
		t.Fatal(err)
	}
	checkInert(t, "topic preview", msg)
}

func TestTestSendCarriesInertLinks(t *testing.T) {
	svc, m := newPreviewService(t, subscribers.FormatHTML)
	if err := svc.TestSend(context.Background(), PreviewRequest{Subscriber: "ada@example.org"}, "staff@example.org", "admin"); err != nil {
		t.Fatal(err)
	}
	if len(m.sent) != 1 || m.sent[0].To != "staff@example.org" {
		t.Fatalf("sent %+v", m.sent)
	}
	checkInert(t, "test send", m.sent[0])
}

// A preview without PreviewLinks, or with no public address known, still
// carries inert links, never live ones.
func TestPreviewLinksFallback(t *testing.T) {
	svc, _ := newPreviewService(t, subscribers.FormatText)
	svc.PreviewLinks = func(context.Context) subscribers.Links { return subscribers.PreviewLinksAt("") }
	msg, err := svc.Preview(context.Background(), PreviewRequest{Subscriber: "ada@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Text, "https://preview.invalid/preview-link?what=unsubscribe") || strings.Contains(msg.Text, "token=") {
		t.Errorf("fallback preview:\n%s", msg.Text)
	}
}

// TestPreviewFollowsKeywordsAndMute: a subscriber's preview picks what
// their mail would: an item only a keyword chose, under "Your keywords"
// and naming it, and not an item of their topic that a mute word matches.
func TestPreviewFollowsKeywordsAndMute(t *testing.T) {
	svc, _ := newPreviewService(t, subscribers.FormatText)
	seen := testNow.Add(-time.Hour)
	news := func(key, title, topic string) items.Item {
		return items.Item{Key: key, Society: "esr", Title: title, Link: "https://example.org/" + key,
			Published: seen, FirstSeen: seen, Topics: []items.TopicScore{{ID: topic, Score: 1}}}
	}
	svc.ItemStore = previewItems{[]items.Item{
		news("k1", "AI in the reading room", "ai"),
		news("k2", "AI triage during COVID-19", "ai"),
		news("k3", "Lung cancer screening starts", "oncology"),
		news("k4", "Cardiac CT volumes", "cardiac"),
	}}
	svc.SubscriberStore = oneSubscriber{sub: subscribers.Subscriber{ID: "sub-1", Email: "ada@example.org", Status: subscribers.StatusConfirmed,
		Preferences: subscribers.Preferences{Topics: []string{"ai"}, Frequency: subscribers.Daily, Hour: 7, TimeZone: "UTC", Format: subscribers.FormatText,
			Keywords: []string{"lung cancer screened"}, Mute: []string{"covid"}}}}
	msg, err := svc.Preview(context.Background(), PreviewRequest{Subscriber: "ada@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Your keywords", "Lung cancer screening starts", "You follow: lung cancer screened.", "AI in the reading room"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("the preview lacks %q:\n%s", want, msg.Text)
		}
	}
	for _, unwanted := range []string{"COVID-19", "Cardiac CT"} {
		if strings.Contains(msg.Text, unwanted) {
			t.Errorf("the preview has %q:\n%s", unwanted, msg.Text)
		}
	}
}
