package subscribers

import (
	"context"
	"errors"
	"fmt"

	"github.com/radiogram/radiogram/internal/tokens"
)

// ErrNotTheSubscriber is UnsubscribeByMail's answer to a valid token sent
// from another address than the subscriber's it was signed for.
var ErrNotTheSubscriber = errors.New("the mail comes from another address than the token's subscriber")

// UnsubscribeByMail is Unsubscribe for a mail to the inbound unsubscribe
// address (the List-Unsubscribe mailto): it stops all mail to the
// subscriber whose unsubscribe token is token, but only when sender, the
// mail's From address, is that subscriber's. A token is the credential of
// the https link too; the sender check keeps a token copied out of a
// forwarded mail from being used by mail from anyone else. It answers
// ErrInvalidToken or ErrExpiredToken for a token that does not verify,
// ErrNotFound for a subscriber who has since been erased, and
// ErrNotTheSubscriber for a mail from another address; none of them
// changes anything.
func (s *Service) UnsubscribeByMail(ctx context.Context, sender, token string) error {
	from, err := NormalizeEmail(sender)
	if err != nil {
		return fmt.Errorf("%w: the sender is not an address", ErrNotTheSubscriber)
	}
	sub, err := s.subscriberFor(ctx, token, tokens.Unsubscribe)
	if err != nil {
		return err
	}
	if own, err := NormalizeEmail(sub.Email); err != nil || own != from {
		s.Log.InfoContext(ctx, "mailed unsubscribe refused", "subscriber", sub.ID, "reason", "sender is not the subscriber")
		return ErrNotTheSubscriber
	}
	return s.Unsubscribe(ctx, token)
}
