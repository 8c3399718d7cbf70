package admin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// countingSubscribers counts how often the subscribers were tallied.
type countingSubscribers struct {
	SubscriberReader
	counts int
}

func (c *countingSubscribers) Count(context.Context) (Summary, error) {
	c.counts++
	return Summary{ByStatus: map[string]int{"confirmed": 3}}, nil
}

type fixedPause struct{ until time.Time }

func (p *fixedPause) SendingPausedUntil(context.Context) (time.Time, error) { return p.until, nil }

// TestSummaryShowsTheSendingPause: the summary names the end of a sending
// pause while it lasts, read every time even though the counts are
// cached, and says nothing of one past.
func TestSummaryShowsTheSendingPause(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	subs, pause := &countingSubscribers{}, &fixedPause{}
	svc := &Service{SubscriberStore: subs, Pause: pause, Now: func() time.Time { return now }}

	steps := []struct {
		name  string
		until time.Time
		want  string // the JSON field, or "" for none
	}{
		{"never paused", time.Time{}, ""},
		{"paused", now.Add(90 * time.Minute), `"sending_paused_until":"2026-11-30T13:30:00Z"`},
		{"pause over", now.Add(-time.Second), ""},
	}
	for _, st := range steps {
		pause.until = st.until
		sum, err := svc.Summary(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(sum)
		if got := strings.Contains(string(b), "sending_paused_until"); got != (st.want != "") || st.want != "" && !strings.Contains(string(b), st.want) {
			t.Errorf("%s: summary %s, want %q", st.name, b, st.want)
		}
	}
	if subs.counts != 1 {
		t.Errorf("subscribers tallied %d times, want once (cached a minute)", subs.counts)
	}
}
