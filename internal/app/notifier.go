package app

import (
	"context"
	"fmt"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/letters"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// notifier sends the mails of the subscriber flows: composed by package
// mail, delivered by a email.Sender (SES).
type notifier struct {
	composer *letters.Composer
	sender   email.Sender
	taxonomy *topics.Taxonomy
}

var _ subscribers.Notifier = (*notifier)(nil)

func (n *notifier) SendConfirmation(ctx context.Context, s subscribers.Subscriber, links subscribers.Links) error {
	names := make([]string, 0, len(s.Preferences.Topics))
	for _, id := range s.Preferences.Topics {
		if t, ok := n.taxonomy.Lookup(id); ok {
			names = append(names, t.Name)
		}
	}
	msg, err := n.composer.Confirmation(s, names, links)
	if err != nil {
		return fmt.Errorf("compose confirmation: %w", err)
	}
	return n.send(ctx, msg)
}

func (n *notifier) SendManage(ctx context.Context, s subscribers.Subscriber, links subscribers.Links) error {
	msg, err := n.composer.Manage(s, links)
	if err != nil {
		return fmt.Errorf("compose manage mail: %w", err)
	}
	return n.send(ctx, msg)
}

func (n *notifier) send(ctx context.Context, msg email.Message) error {
	if _, err := n.sender.Send(ctx, msg); err != nil {
		return fmt.Errorf("send %s mail: %w", msg.Tags["kind"], err)
	}
	return nil
}
