package httpapi

import (
	"context"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// janeOnly is a subscriber store holding one confirmed subscriber,
// jane@example.org: the admin service resolves a subscriber target's
// address to the id through it.
type janeOnly struct{ admin.SubscriberReader }

func (janeOnly) ByEmail(_ context.Context, addr string) (delivery.Candidate, error) {
	if addr != "jane@example.org" {
		return delivery.Candidate{}, subscribers.ErrNotFound
	}
	return delivery.Candidate{Subscriber: subscribers.Subscriber{ID: "sub-jane", Email: addr, Status: subscribers.StatusConfirmed}}, nil
}
