package inbound

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/subscribers"
)

const (
	address = "unsubscribe@radiogram.example"
	token   = "1.k1.c3ViLTE.unsubscribe.0.bWFj"
)

// fakeUnsubscriber records its calls and answers err.
type fakeUnsubscriber struct {
	calls []string // "sender token"
	err   error
}

func (f *fakeUnsubscriber) UnsubscribeByMail(_ context.Context, sender, token string) error {
	f.calls = append(f.calls, sender+" "+token)
	return f.err
}

// request is a mail as a mail client writes it from the List-Unsubscribe
// mailto, which SES passed every check of.
func request() Mail {
	return Mail{
		MessageID:  "ses-1",
		From:       []string{"Alice Example <Alice@Hospital.example>"},
		Subject:    "unsubscribe " + token,
		Recipients: []string{address},
		Verdicts:   map[string]string{"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS"},
	}
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name     string
		change   func(m *Mail)
		addr     string
		err      error // the unsubscriber's answer
		want     Outcome
		wantCall string // "" for no call
		wantErr  bool
	}{
		{"the mailto's mail", func(*Mail) {}, address, nil, Unsubscribed, "Alice@Hospital.example " + token, false},
		{"a reply to it", func(m *Mail) { m.Subject = "Re: UNSUBSCRIBE " + token }, address, nil, Unsubscribed, "Alice@Hospital.example " + token, false},
		{"an encoded subject", func(m *Mail) { m.Subject = "=?UTF-8?Q?unsubscribe_" + token + "?=" }, address, nil, Unsubscribed, "Alice@Hospital.example " + token, false},
		{"recipient in another case", func(m *Mail) { m.Recipients = []string{"Unsubscribe@Radiogram.example"} }, address, nil, Unsubscribed, "Alice@Hospital.example " + token, false},
		{"no token", func(m *Mail) { m.Subject = "unsubscribe" }, address, nil, Ignored, "", false},
		{"not an unsubscribe", func(m *Mail) { m.Subject = "Question about the digest" }, address, nil, Ignored, "", false},
		{"token with other characters", func(m *Mail) { m.Subject = "unsubscribe " + token + "<script>" }, address, nil, Ignored, "", false},
		{"two From addresses", func(m *Mail) { m.From = append(m.From, "bob@hospital.example") }, address, nil, Ignored, "", false},
		{"no From", func(m *Mail) { m.From = nil }, address, nil, Ignored, "", false},
		{"From that does not parse", func(m *Mail) { m.From = []string{"not an address"} }, address, nil, Ignored, "", false},
		{"to another address", func(m *Mail) { m.Recipients = []string{"news@radiogram.example"} }, address, nil, Ignored, "", false},
		{"any recipient without an address", func(m *Mail) { m.Recipients = nil }, "", nil, Unsubscribed, "Alice@Hospital.example " + token, false},
		{"spam", func(m *Mail) { m.Verdicts["spam"] = "FAIL" }, address, nil, Ignored, "", false},
		{"virus", func(m *Mail) { m.Verdicts["virus"] = "FAIL" }, address, nil, Ignored, "", false},
		{"DMARC failed: a forged From", func(m *Mail) { m.Verdicts["dmarc"] = "FAIL" }, address, nil, Ignored, "", false},
		{"SPF gray is no reason", func(m *Mail) { m.Verdicts["spf"] = "GRAY" }, address, nil, Unsubscribed, "Alice@Hospital.example " + token, false},
		{"forged token", func(*Mail) {}, address, subscribers.ErrInvalidToken, Ignored, "Alice@Hospital.example " + token, false},
		{"another sender's token", func(*Mail) {}, address, subscribers.ErrNotTheSubscriber, Ignored, "Alice@Hospital.example " + token, false},
		{"an erased subscriber", func(*Mail) {}, address, subscribers.ErrNotFound, Ignored, "Alice@Hospital.example " + token, false},
		{"a store error is retried", func(*Mail) {}, address, errors.New("throttled"), "", "Alice@Hospital.example " + token, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := request()
			tt.change(&m)
			u := &fakeUnsubscriber{err: tt.err}
			p := &Processor{Unsubscriber: u, Address: tt.addr, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			got, err := p.Handle(context.Background(), m)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("Handle = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			switch {
			case tt.wantCall == "" && len(u.calls) != 0:
				t.Errorf("unsubscriber called with %q, want no call", u.calls)
			case tt.wantCall != "" && (len(u.calls) != 1 || u.calls[0] != tt.wantCall):
				t.Errorf("unsubscriber called with %q, want %q", u.calls, tt.wantCall)
			}
		})
	}
}

// TestTokenOfTheMailto: what the mailto of email.UnsubscribeMailto puts in
// the subject comes back out, once a mail client has unescaped it.
func TestTokenOfTheMailto(t *testing.T) {
	mailto := email.UnsubscribeMailto(address, token)
	want := "mailto:" + address + "?subject=unsubscribe%20" + token
	if mailto != want {
		t.Fatalf("UnsubscribeMailto = %q, want %q", mailto, want)
	}
	if got := Token(email.UnsubscribeSubject + " " + token); got != token {
		t.Errorf("Token = %q, want %q", got, token)
	}
	for _, subject := range []string{"", "unsubscribe", "unsubscribe " + strings.Repeat("t", 2000), "unsubscribe tök"} {
		if got := Token(subject); got != "" {
			t.Errorf("Token(%.40q) = %q, want none", subject, got)
		}
	}
}
