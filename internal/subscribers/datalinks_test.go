package subscribers

import (
	"errors"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/tokens"
)

// confirmed signs email up and confirms it, and returns the subscriber and
// the confirmation mail's links.
func (f *fixture) confirmed(t testing.TB, email string) (Subscriber, Links) {
	t.Helper()
	if err := f.svc.Subscribe(ctx, signUp(email)); err != nil {
		t.Fatal(err)
	}
	links := f.lastMail(t).links
	sub, err := f.svc.Confirm(ctx, tokenOf(t, links.Confirm), "")
	if err != nil {
		t.Fatal(err)
	}
	return sub, links
}

// The preferences link never expires and is in every digest: it must not
// lead to the subscriber's data.
func TestPreferencesOfferNoDataLinks(t *testing.T) {
	f := newFixture(t)
	sub, links := f.confirmed(t, "ada@example.org")
	if links.Export != "" || links.Erase != "" {
		t.Errorf("confirmation mail links carry data links: %+v", links)
	}
	_, page, err := f.svc.Preferences(ctx, tokenOf(t, links.Preferences))
	if err != nil {
		t.Fatal(err)
	}
	if page.Export != "" || page.Erase != "" {
		t.Errorf("preferences page links carry data links: %+v", page)
	}
	if l := f.svc.Links(ctx, sub); l.Export != "" || l.Erase != "" || l.Preferences == "" || l.Unsubscribe == "" {
		t.Errorf("Links (digests) = %+v, want preferences and unsubscribe only", l)
	}
}

func TestManageMailDataLinksExpireAfterAnHour(t *testing.T) {
	f := newFixture(t)
	f.confirmed(t, "ada@example.org")
	if err := f.svc.RequestManageLink(ctx, "ada@example.org", ""); err != nil {
		t.Fatal(err)
	}
	m := f.lastMail(t)
	if m.kind != "manage" || m.links.Export == "" || m.links.Erase == "" || m.links.Preferences == "" || m.links.Unsubscribe == "" {
		t.Fatalf("manage mail: %q %+v", m.kind, m.links)
	}
	export, erase := tokenOf(t, m.links.Export), tokenOf(t, m.links.Erase)
	sent := f.now

	// Each link is for its own purpose only.
	if _, err := f.svc.Export(ctx, erase); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("erase token as export token: %v", err)
	}
	if err := f.svc.Erase(ctx, export); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("export token as erase token: %v", err)
	}

	f.now = sent.Add(59 * time.Minute)
	if exp, err := f.svc.Export(ctx, export); err != nil || exp.Subscriber.Email != "ada@example.org" {
		t.Errorf("export within the hour: %+v %v", exp, err)
	}
	f.now = sent.Add(time.Hour)
	if _, err := f.svc.Export(ctx, export); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("export link an hour old: %v, want ErrExpiredToken", err)
	}
	if err := f.svc.Erase(ctx, erase); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("erase link an hour old: %v, want ErrExpiredToken", err)
	}
	if len(f.store.byID) != 1 {
		t.Error("an expired erase link erased the subscriber")
	}

	// A fresh manage mail brings working links again.
	if err := f.svc.RequestManageLink(ctx, "ada@example.org", ""); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(30 * time.Minute)
	if err := f.svc.Erase(ctx, tokenOf(t, f.lastMail(t).links.Erase)); err != nil || len(f.store.byID) != 0 {
		t.Errorf("erase within the hour: %v, left %v", err, f.store.byID)
	}
}

// Export and erase links of the former kind, which the preferences page and
// every mail minted for a day, are refused as expired, however young.
func TestFormerDataLinksAreRefusedAsExpired(t *testing.T) {
	f := newFixture(t)
	sub, _ := f.confirmed(t, "ada@example.org")
	minted := f.now
	oldExport := f.svc.Signer.Sign(sub.ID, tokens.Export, minted.Add(24*time.Hour))
	oldErase := f.svc.Signer.Sign(sub.ID, tokens.Erase, minted.Add(24*time.Hour))
	for _, age := range []time.Duration{0, 2 * time.Hour, 23*time.Hour + 59*time.Minute, 25 * time.Hour} {
		f.now = minted.Add(age)
		if _, err := f.svc.Export(ctx, oldExport); !errors.Is(err, ErrExpiredToken) {
			t.Errorf("former export link %v old: %v, want ErrExpiredToken", age, err)
		}
		if err := f.svc.Erase(ctx, oldErase); !errors.Is(err, ErrExpiredToken) {
			t.Errorf("former erase link %v old: %v, want ErrExpiredToken", age, err)
		}
	}
	if len(f.store.byID) != 1 {
		t.Error("a former erase link erased the subscriber")
	}
	// A preferences token is still no data link.
	prefs := f.svc.Signer.Sign(sub.ID, tokens.Preferences, time.Time{})
	if _, err := f.svc.Export(ctx, prefs); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("preferences token as export token: %v", err)
	}
}

func TestRequestDataLinksMailsTheManageMail(t *testing.T) {
	f := newFixture(t)
	_, links := f.confirmed(t, "ada@example.org")
	prefs := tokenOf(t, links.Preferences)
	before := len(f.mail.sent)
	if err := f.svc.RequestDataLinks(ctx, prefs, "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.mail.sent) - before; n != 1 {
		t.Fatalf("%d mails sent, want 1", n)
	}
	m := f.lastMail(t)
	if m.kind != "manage" || m.to.Email != "ada@example.org" || m.links.Export == "" || m.links.Erase == "" {
		t.Errorf("mail: %q to %s with %+v", m.kind, m.to.Email, m.links)
	}
	if _, err := f.svc.Export(ctx, tokenOf(t, m.links.Export)); err != nil {
		t.Errorf("the mailed export link: %v", err)
	}

	before = len(f.mail.sent)
	if err := f.svc.RequestDataLinks(ctx, tokenOf(t, links.Unsubscribe), ""); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("an unsubscribe token: %v, want ErrInvalidToken", err)
	}
	if err := f.svc.RequestDataLinks(ctx, prefs[:len(prefs)-2]+"xx", ""); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a forged token: %v, want ErrInvalidToken", err)
	}
	if len(f.mail.sent) != before {
		t.Errorf("invalid links sent %d mails", len(f.mail.sent)-before)
	}

	// The limits of sign-ups apply: a forwarded link cannot flood the inbox.
	var limited bool
	for range perAddressPerDay {
		if err := f.svc.RequestDataLinks(ctx, prefs, ""); errors.Is(err, ErrRateLimited) {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("repeated requests were never rate-limited")
	}
}

// A bounced or complained address is never mailed, whatever link asks.
func TestRequestDataLinksNeverMailsABlockedAddress(t *testing.T) {
	for _, reason := range []Reason{ReasonBounced, ReasonComplained} {
		f := newFixture(t)
		_, links := f.confirmed(t, "ada@example.org")
		h := f.svc.Hasher.HashEmail("ada@example.org")
		f.supp[h] = Suppression{EmailHash: h, Reason: reason}
		before := len(f.mail.sent)
		if err := f.svc.RequestDataLinks(ctx, tokenOf(t, links.Preferences), ""); err != nil {
			t.Errorf("%s: %v, want the neutral answer", reason, err)
		}
		if len(f.mail.sent) != before {
			t.Errorf("%s address was mailed", reason)
		}
	}
}
