package letters

import (
	"context"
	"fmt"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// Notifier sends the mails of the subscriber flows: written by Composer,
// delivered by Mail (SES in production). Its fields are set once.
type Notifier struct {
	Composer *Composer
	Mail     email.Sender
	// Taxonomy names the topics a confirmation lists; ids it does not
	// know are left out.
	Taxonomy *topics.Taxonomy
}

var _ subscribers.Notifier = (*Notifier)(nil)

// SendConfirmation sends the double opt-in mail.
func (n *Notifier) SendConfirmation(ctx context.Context, s subscribers.Subscriber, links subscribers.Links) error {
	names := make([]string, 0, len(s.Preferences.Topics))
	for _, id := range s.Preferences.Topics {
		if t, ok := n.Taxonomy.Lookup(id); ok {
			names = append(names, t.Name)
		}
	}
	msg, err := n.Composer.Confirmation(s, names, links)
	if err != nil {
		return fmt.Errorf("compose confirmation: %w", err)
	}
	return n.send(ctx, msg)
}

// SendManage sends the link to manage a subscription.
func (n *Notifier) SendManage(ctx context.Context, s subscribers.Subscriber, links subscribers.Links) error {
	msg, err := n.Composer.Manage(s, links)
	if err != nil {
		return fmt.Errorf("compose manage mail: %w", err)
	}
	return n.send(ctx, msg)
}

func (n *Notifier) send(ctx context.Context, msg email.Message) error {
	if _, err := n.Mail.Send(ctx, msg); err != nil {
		return fmt.Errorf("send %s mail: %w", msg.Tags["kind"], err)
	}
	return nil
}
