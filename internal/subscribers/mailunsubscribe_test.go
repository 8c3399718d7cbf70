package subscribers

import (
	"errors"
	"testing"
)

func TestUnsubscribeByMail(t *testing.T) {
	f := newFixture(t)
	confirmed := func(email string) (Subscriber, string) {
		t.Helper()
		if err := f.svc.Subscribe(ctx, signUp(email)); err != nil {
			t.Fatal(err)
		}
		links := f.lastMail(t).links
		sub, err := f.svc.Confirm(ctx, tokenOf(t, links.Confirm), "")
		if err != nil {
			t.Fatal(err)
		}
		return sub, tokenOf(t, links.Unsubscribe)
	}
	ada, adaToken := confirmed("ada@example.org")
	bob, bobToken := confirmed("bob@example.org")
	status := func(s Subscriber) Status { got, _ := f.store.Get(ctx, s.ID); return got.Status }

	for _, tt := range []struct {
		name, sender, token string
		want                error
	}{
		{"another subscriber's token", "ada@example.org", bobToken, ErrNotTheSubscriber},
		{"a stranger with a token", "eve@example.org", adaToken, ErrNotTheSubscriber},
		{"a forged token", "ada@example.org", adaToken[:len(adaToken)-2] + "AA", ErrInvalidToken},
		{"a preferences token", "ada@example.org", tokenOf(t, f.svc.Links(ctx, ada).Preferences), ErrInvalidToken},
		{"no address", "Ada <ada@example.org", adaToken, ErrNotTheSubscriber},
	} {
		if err := f.svc.UnsubscribeByMail(ctx, tt.sender, tt.token); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if status(ada) != StatusConfirmed || status(bob) != StatusConfirmed || len(f.supp) != 0 {
		t.Fatalf("refused mails changed something: ada %s, bob %s, suppressions %v", status(ada), status(bob), f.supp)
	}

	// The address as the mail client wrote it, in another case.
	for range 2 { // idempotent
		if err := f.svc.UnsubscribeByMail(ctx, "Ada@Example.ORG", adaToken); err != nil {
			t.Fatal(err)
		}
	}
	if status(ada) != StatusUnsubscribed || f.supp[testHasher.HashEmail("ada@example.org")].Reason != ReasonUnsubscribed {
		t.Errorf("ada after her mail: %s, suppressions %v", status(ada), f.supp)
	}
	if status(bob) != StatusConfirmed {
		t.Errorf("bob is %s after ada left, want confirmed", status(bob))
	}
}
