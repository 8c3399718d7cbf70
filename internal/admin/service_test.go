package admin

import (
	"context"
	"errors"
	"testing"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// adaAndPat holds ada, confirmed, and pat, pending.
type adaAndPat struct{ SubscriberReader }

func (adaAndPat) ByEmail(_ context.Context, addr string) (delivery.Candidate, error) {
	switch addr {
	case "ada@example.org":
		return delivery.Candidate{Subscriber: subscribers.Subscriber{ID: "sub-ada", Email: addr, Status: subscribers.StatusConfirmed}}, nil
	case "pat@example.org":
		return delivery.Candidate{Subscriber: subscribers.Subscriber{ID: "sub-pat", Email: addr, Status: subscribers.StatusPending}}, nil
	}
	return delivery.Candidate{}, subscribers.ErrNotFound
}

func TestParseTarget(t *testing.T) {
	s := &Service{KnownTopic: func(id string) bool { return id == "ai" }, SubscriberStore: adaAndPat{}}
	tests := []struct {
		raw     string
		want    delivery.Target
		wantErr error
	}{
		{"all", delivery.Target{Kind: delivery.TargetAll}, nil},
		{" all ", delivery.Target{Kind: delivery.TargetAll}, nil},
		{"topic:ai", delivery.Target{Kind: delivery.TargetTopic, Topic: "ai"}, nil},
		// A subscriber is named by id from here on: no run record or audit
		// entry holds the address.
		{"subscriber:Ada@Example.org", delivery.Target{Kind: delivery.TargetSubscriber, SubscriberID: "sub-ada"}, nil},
		{"subscriber:pat@example.org", delivery.Target{}, ErrNotFound},
		{"subscriber:nobody@example.org", delivery.Target{}, ErrNotFound},
		{"topic:astrology", delivery.Target{}, ErrUnknownTopic},
		{"topic:", delivery.Target{}, ErrInvalidTarget},
		{"subscriber:", delivery.Target{}, ErrInvalidTarget},
		{"subscriber:not-an-address", delivery.Target{}, ErrInvalidTarget},
		{"all:now", delivery.Target{}, ErrInvalidTarget},
		{"everyone", delivery.Target{}, ErrInvalidTarget},
		{"due:2026-11-22T07", delivery.Target{}, ErrInvalidTarget}, // the schedule's, not an admin's
		{"instant", delivery.Target{}, ErrInvalidTarget},
		{"", delivery.Target{}, ErrInvalidTarget},
	}
	for _, tt := range tests {
		got, err := s.parseTarget(context.Background(), tt.raw)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v, %v", tt.raw, got, err, tt.want, tt.wantErr)
		}
	}
}

type refusingMail struct{ sent int }

func (m *refusingMail) Send(context.Context, email.Message) (string, error) {
	m.sent++
	return "id", nil
}

func TestTestSendOnlyToConfiguredRecipients(t *testing.T) {
	m := &refusingMail{}
	s := &Service{Mail: m, TestRecipients: []string{"staff@example.org"}}
	for _, to := range []string{"someone@elsewhere.org", "", "staff@example.org.evil.test", "Staff <staff@example.org>, eve@evil.test"} {
		if err := s.TestSend(context.Background(), PreviewRequest{Topic: "ai"}, to, "admin"); !errors.Is(err, ErrBadRequest) {
			t.Errorf("TestSend to %q: %v, want ErrBadRequest", to, err)
		}
	}
	if m.sent != 0 {
		t.Errorf("%d previews went out to unconfigured addresses", m.sent)
	}
}
