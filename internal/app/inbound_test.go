package app

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/lambdaevents"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestInboundUnsubscribe: a reader answers the List-Unsubscribe mailto of
// a real digest; SES hands the inbound function the mail as its receipt
// rule's Lambda action would (events/inbound-ses.json, with the reader's
// From and the mailto's subject), and the reader is unsubscribed. The same
// token from another sender, another reader's token, and a forged token
// change nothing, and fail nothing.
func TestInboundUnsubscribe(t *testing.T) {
	t.Parallel()
	a, _ := newIngestedApp(t)
	ctx := context.Background()
	address := a.Config.UnsubscribeMailto
	if !strings.HasPrefix(address, "unsubscribe@") {
		t.Fatalf("RADIOGRAM_UNSUBSCRIBE_MAILTO %q: the stack was made without InboundUnsubscribeAddress", address)
	}
	reader := addConfirmed(t, a, "reader@hospital.test", nextHourPrefs([]string{"ai"}, nil, subscribers.FormatHTML))
	other := addConfirmed(t, a, "other@hospital.test", nextHourPrefs([]string{"ai"}, nil, subscribers.FormatText))

	slotTime := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	if _, err := a.Planner().Plan(ctx, delivery.Request{RunID: "inbound-1", Target: delivery.Target{Kind: delivery.TargetDue, Slot: digest.Slot(slotTime)}, Until: slotTime}); err != nil {
		t.Fatal(err)
	}
	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, a, sender)
	readerSubject := mailtoSubject(t, a, "reader@hospital.test", address)
	otherSubject := mailtoSubject(t, a, "other@hospital.test", address)

	processor, err := a.Inbound(ctx)
	if err != nil {
		t.Fatal(err)
	}
	handler := lambdaevents.Inbound(processor, a.Log)
	status := func(s subscribers.Subscriber) subscribers.Status {
		t.Helper()
		got, err := a.Subscribers.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	receive := func(from, subject string) {
		t.Helper()
		if err := handler(ctx, sesEvent(t, address, from, subject)); err != nil {
			t.Errorf("mail from %s, %q: %v, want no error: a mail is never worth a retry", from, subject, err)
		}
	}

	forged := regexp.MustCompile(`[A-Za-z0-9_-]{4}$`).ReplaceAllString(readerSubject, "AAAA")
	receive("Mallory <mallory@elsewhere.test>", readerSubject) // the reader's token, another sender
	receive("Reader <reader@hospital.test>", otherSubject)     // another reader's token
	receive("Reader <reader@hospital.test>", forged)           // a token not signed by us
	receive("Reader <reader@hospital.test>", "unsubscribe")    // no token at all
	if status(reader) != subscribers.StatusConfirmed || status(other) != subscribers.StatusConfirmed {
		t.Fatalf("after refused mails: reader %s, other %s; want both confirmed", status(reader), status(other))
	}
	if _, found, err := a.Suppressions.Get(ctx, a.Hasher.HashEmail("reader@hospital.test")); err != nil || found {
		t.Fatalf("reader suppressed by a refused mail (found %v, err %v)", found, err)
	}

	// The mail client's reply form ("Re: ") and the address in another
	// case are still the reader's request.
	receive("Reader <Reader@Hospital.test>", "Re: "+readerSubject)
	if status(reader) != subscribers.StatusUnsubscribed {
		t.Errorf("reader is %s after mailing the unsubscribe address, want unsubscribed", status(reader))
	}
	if s, found, err := a.Suppressions.Get(ctx, a.Hasher.HashEmail("reader@hospital.test")); err != nil || !found || s.Reason != subscribers.ReasonUnsubscribed {
		t.Errorf("reader's suppression %+v (found %v, err %v), want unsubscribed", s, found, err)
	}
	if status(other) != subscribers.StatusConfirmed {
		t.Errorf("other is %s, want confirmed: only the sender leaves", status(other))
	}
}

// mailtoSubject returns the subject of the List-Unsubscribe mailto of the
// last mail to addr, as a mail client writes it: unescaped.
func mailtoSubject(t *testing.T, a *App, addr, address string) string {
	t.Helper()
	box := mailbox(t, a, addr)
	if len(box) == 0 {
		t.Fatalf("no mail to %s", addr)
	}
	header := box[len(box)-1].Header.Get("List-Unsubscribe")
	_, mailto, ok := strings.Cut(header, "<mailto:")
	if !ok {
		t.Fatalf("List-Unsubscribe %q offers no mailto", header)
	}
	u, err := url.Parse("mailto:" + strings.TrimSuffix(strings.TrimSpace(mailto), ">"))
	if err != nil || u.Opaque != address {
		t.Fatalf("mailto %q (%v), want one to %s", mailto, err, address)
	}
	subject := u.Query().Get("subject")
	if !strings.HasPrefix(subject, "unsubscribe ") {
		t.Fatalf("mailto subject %q, want unsubscribe and the token", subject)
	}
	return subject
}

// sesEvent is events/inbound-ses.json for a mail to address from from with
// subject: the event SES hands its receipt rule's Lambda action.
func sesEvent(t *testing.T, address, from, subject string) events.SimpleEmailEvent {
	t.Helper()
	data, err := os.ReadFile("../../events/inbound-ses.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SimpleEmailEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	m := &ev.Records[0].SES
	m.Mail.Source = from
	m.Mail.Destination, m.Receipt.Recipients, m.Mail.CommonHeaders.To = []string{address}, []string{address}, []string{address}
	m.Mail.CommonHeaders.From, m.Mail.CommonHeaders.Subject = []string{from}, subject
	return ev
}
