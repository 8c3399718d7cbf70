package console

import (
	"strings"
	"testing"
	"time"
)

func TestOverviewShowsTheSendingPause(t *testing.T) {
	h := newHarness(t)
	cookie := h.signIn()
	if body := h.get("/admin/console", cookie).Body.String(); strings.Contains(body, `id="sending-paused"`) {
		t.Error("a sending pause shown while sending is not paused")
	}
	until := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	h.fake.mu.Lock()
	h.fake.paused = &until
	h.fake.mu.Unlock()
	body := h.get("/admin/console", cookie).Body.String()
	for _, want := range []string{`id="sending-paused"`, "Sending is paused until", `datetime="2026-12-01T09:30:00Z"`, "1 Dec 2026 09:30 UTC", "daily sending quota is used up"} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview lacks %q while sending is paused", want)
		}
	}
}
