package letters

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// outbox is an email.Sender that keeps what it is given, or fails.
type outbox struct {
	sent []email.Message
	err  error
}

func (o *outbox) Send(_ context.Context, m email.Message) (string, error) {
	if o.err != nil {
		return "", o.err
	}
	o.sent = append(o.sent, m)
	return "msg-1", nil
}

func newTestNotifier(t *testing.T, mail email.Sender) *Notifier {
	t.Helper()
	taxonomy, err := topics.Load(infra.Topics)
	if err != nil {
		t.Fatal(err)
	}
	return &Notifier{Composer: NewComposer(testProduct), Mail: mail, Taxonomy: taxonomy}
}

func TestNotifierSends(t *testing.T) {
	ctx := context.Background()
	box := &outbox{}
	n := newTestNotifier(t, box)
	sub := testSubscriber(subscribers.FormatHTML)
	sub.Preferences.Topics = []string{"ai", "astrology", "screening"}

	if err := n.SendConfirmation(ctx, sub, testLinks); err != nil {
		t.Fatal(err)
	}
	if err := n.SendManage(ctx, sub, testLinks); err != nil {
		t.Fatal(err)
	}
	// The confirmation names the chosen topics the taxonomy knows, in the
	// order chosen; the mails are the composer's, unchanged.
	confirmation, err := n.Composer.Confirmation(sub, []string{"AI & informatics", "Screening & early detection"}, testLinks)
	if err != nil {
		t.Fatal(err)
	}
	manage, err := n.Composer.Manage(sub, testLinks)
	if err != nil {
		t.Fatal(err)
	}
	if len(box.sent) != 2 {
		t.Fatalf("%d mails sent, want 2", len(box.sent))
	}
	if !reflect.DeepEqual(box.sent[0], confirmation) {
		t.Errorf("confirmation sent:\n%+v\nwant\n%+v", box.sent[0], confirmation)
	}
	if !reflect.DeepEqual(box.sent[1], manage) {
		t.Errorf("manage mail sent:\n%+v\nwant\n%+v", box.sent[1], manage)
	}
}

func TestNotifierErrors(t *testing.T) {
	ctx := context.Background()
	sub := testSubscriber(subscribers.FormatText)

	refused := errors.New("mailbox unavailable")
	n := newTestNotifier(t, &outbox{err: refused})
	err := n.SendConfirmation(ctx, sub, testLinks)
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "send confirmation mail") {
		t.Errorf("confirmation through a failing sender: %v", err)
	}
	err = n.SendManage(ctx, sub, testLinks)
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "send manage mail") {
		t.Errorf("manage mail through a failing sender: %v", err)
	}

	// A mail that cannot be composed is not sent.
	box := &outbox{}
	n = newTestNotifier(t, box)
	bad := testLinks
	bad.Confirm = "javascript:alert(1)"
	if err := n.SendConfirmation(ctx, sub, bad); err == nil || !strings.HasPrefix(err.Error(), "compose confirmation") {
		t.Errorf("confirmation with a bad link: %v", err)
	}
	bad = testLinks
	bad.Unsubscribe = ""
	if err := n.SendManage(ctx, sub, bad); err == nil || !strings.HasPrefix(err.Error(), "compose manage mail") {
		t.Errorf("manage mail without an unsubscribe link: %v", err)
	}
	if len(box.sent) != 0 {
		t.Errorf("%d mails sent that could not be composed", len(box.sent))
	}
}
