package console

import (
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestSubscriberPageShowsPhrases: an admin looking up a subscriber sees
// the keywords they follow and the words they mute.
func TestSubscriberPageShowsPhrases(t *testing.T) {
	h := newHarness(t)
	h.fake.members = append(h.fake.members, member{detail: admin.SubscriberDetail{
		Subscriber: subscribers.Subscriber{ID: "s-kim", Email: "kim@example.org", Status: subscribers.StatusConfirmed,
			Preferences: subscribers.Preferences{Topics: []string{"ai"}, Frequency: subscribers.Instant, Format: subscribers.FormatHTML,
				Keywords: []string{"lung cancer screening", "MRI"}, Mute: []string{"COVID"}}},
	}})
	cookie := h.signIn()
	body := h.get("/admin/console/subscribers?email=kim@example.org", cookie).Body.String()
	for _, want := range []string{"<dt>Keywords</dt><dd>lung cancer screening, MRI</dd>", "<dt>Mute words</dt><dd>COVID</dd>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the subscriber page lacks %s", want)
		}
	}
	if other := h.get("/admin/console/subscribers?email=ada@example.org", cookie).Body.String(); !strings.Contains(other, "<dt>Keywords</dt><dd>none</dd>") {
		t.Error("a subscriber without keywords does not say none")
	}
}
