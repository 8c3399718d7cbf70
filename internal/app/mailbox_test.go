package app

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mime/quotedprintable"
)

// receivedMail is one message as its recipient would read it.
type receivedMail struct {
	Header mail.Header
	Text   string
	HTML   string
}

// mailbox returns the messages moto's SES accepted for addr, oldest first.
func mailbox(t *testing.T, a *App, addr string) []receivedMail {
	t.Helper()
	var out []receivedMail
	for _, m := range sentMessages(t, a) {
		if !slices.Contains(m.Destinations, addr) {
			continue
		}
		out = append(out, parseMail(t, []byte(m.Raw)))
	}
	return out
}

// waitForMail waits until addr has n messages. While they are missing it
// drains the send queue, as the sender function would: the sign-up, manage
// and data-link mails are queued by the API and sent after its answer.
func waitForMail(t *testing.T, a *App, addr string, n int) []receivedMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := mailbox(t, a, addr)
		if len(got) < n {
			drainAll(t, a)
			got = mailbox(t, a, addr)
		}
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				t.Fatalf("%s has %d messages, want %d", addr, len(got), n)
			}
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// drainAll drains the send queue with the sender function's handler as
// the stack configures it.
func drainAll(t *testing.T, a *App) {
	t.Helper()
	sender, err := a.Sender(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	drain(t, a, sender)
}

func parseMail(t *testing.T, raw []byte) receivedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("unreadable message: %v\n%s", err, raw)
	}
	out := receivedMail{Header: msg.Header}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		out.Text = decodePart(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return out
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body := decodePart(t, p.Header.Get("Content-Transfer-Encoding"), p)
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			out.Text = body
		case "text/html":
			out.HTML = body
		}
	}
	return out
}

func decodePart(t *testing.T, encoding string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(encoding, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// link finds the first link in the mail's text whose path is path.
func (m receivedMail) link(t *testing.T, path string) string {
	t.Helper()
	re := regexp.MustCompile(`https?://[^\s<>"]+` + regexp.QuoteMeta(path) + `\?token=[A-Za-z0-9_.%-]+`)
	found := re.FindString(m.Text)
	if found == "" {
		t.Fatalf("no %s link in:\n%s", path, m.Text)
	}
	return found
}

// subject is the decoded Subject header.
func (m receivedMail) subject() string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}
