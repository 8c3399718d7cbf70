package app

import (
	"context"

	"github.com/radiogram/radiogram/internal/inbound"
)

// Inbound returns the processor of the mails SES receives at the inbound
// unsubscribe address. It unsubscribes through the subscriber flows, which
// mail nothing here.
func (a *App) Inbound(ctx context.Context) (*inbound.Processor, error) {
	svc, err := a.subscriberService(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &inbound.Processor{Unsubscriber: svc, Address: a.Config.UnsubscribeMailto, Log: a.Log}, nil
}
