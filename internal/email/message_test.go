package email

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"slices"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2025, time.March, 3, 7, 0, 0, 0, time.UTC)

// decodedPart is one text part of a parsed message.
type decodedPart struct {
	mediaType, charset, encoding, body string
}

// parseMIME reads raw back with the standard library, a different
// implementation from the one that wrote it.
func parseMIME(t *testing.T, raw []byte) (*netmail.Message, []decodedPart) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, raw)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("top-level Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return msg, []decodedPart{decodePart(t, mediaType, params["charset"], msg.Header.Get("Content-Transfer-Encoding"), msg.Body)}
	}
	if mediaType != "multipart/alternative" {
		t.Fatalf("top-level type %q, want multipart/alternative", mediaType)
	}
	var parts []decodedPart
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		// NextRawPart leaves the transfer encoding to us, so that the test
		// sees which one was used.
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextRawPart: %v", err)
		}
		mediaType, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", p.Header.Get("Content-Type"), err)
		}
		parts = append(parts, decodePart(t, mediaType, params["charset"], p.Header.Get("Content-Transfer-Encoding"), p))
	}
	return msg, parts
}

func decodePart(t *testing.T, mediaType, charset, encoding string, r io.Reader) decodedPart {
	t.Helper()
	if encoding == "quoted-printable" {
		r = quotedprintable.NewReader(r)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s part: %v", mediaType, err)
	}
	// Mail lines end in CRLF on the wire; the inputs use LF.
	return decodedPart{mediaType, charset, encoding, strings.ReplaceAll(string(body), "\r\n", "\n")}
}

func TestMIME(t *testing.T) {
	longLine := strings.Repeat("Lörem ipsum = dolor sit amet, ", 10)
	tests := []struct {
		name    string
		msg     Message
		subject string // decoded
		from    string // decoded display name
		parts   []string
	}{
		{
			name: "html and text",
			msg: Message{
				From:    "Radiogram <news@radiogram.example>",
				ReplyTo: "help@radiogram.example",
				To:      "alice@example.org",
				Subject: "Confirm your Radiogram subscription",
				Text:    "Hello,\n\nplease confirm.\n",
				HTML:    "<p>Hello,</p><p>please <a href=\"https://radiogram.example/c?t=a&amp;b=1\">confirm</a>.</p>",
				Headers: []Header{
					{Name: "List-Unsubscribe", Value: "<https://radiogram.example/u?t=abc>"},
					{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
				},
			},
			subject: "Confirm your Radiogram subscription",
			from:    "Radiogram",
			parts:   []string{"text/plain", "text/html"},
		},
		{
			name: "non-ASCII subject, name and bodies",
			msg: Message{
				From:    "Röntgen Gesellschaft – News <news@radiogram.example>",
				To:      "zoe@example.org",
				Subject: "Neuigkeiten: Strahlenschutz für Ärztinnen ☢ — Woche 10",
				Text:    "Grüße aus Wien!\ntrailing space \n" + longLine + "\n",
				HTML:    "<p>Grüße aus Wien!</p><p>" + longLine + "</p>",
			},
			subject: "Neuigkeiten: Strahlenschutz für Ärztinnen ☢ — Woche 10",
			from:    "Röntgen Gesellschaft – News",
			parts:   []string{"text/plain", "text/html"},
		},
		{
			name: "text only",
			msg: Message{
				From:    "Radiogram <news@radiogram.example>",
				To:      "bob@example.org",
				Subject: "Your daily digest",
				Text:    "Two items today.\n\n-- \nRadiogram · Wien\n",
			},
			subject: "Your daily digest",
			from:    "Radiogram",
			parts:   []string{"text/plain"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := tt.msg.MIME(fixedNow)
			if err != nil {
				t.Fatalf("MIME: %v", err)
			}
			if i := bytes.IndexFunc(raw, func(r rune) bool { return r > 127 }); i >= 0 {
				t.Errorf("byte %d is not 7-bit: everything must be encoded", i)
			}
			msg, parts := parseMIME(t, raw)

			if got := msg.Header.Get("Mime-Version"); got != "1.0" {
				t.Errorf("MIME-Version = %q", got)
			}
			if date, err := msg.Header.Date(); err != nil || !date.Equal(fixedNow) {
				t.Errorf("Date = %v, %v; want %v", date, err, fixedNow)
			}
			if id := msg.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@radiogram.example>") {
				t.Errorf("Message-ID = %q, want <...@radiogram.example>", id)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil || subject != tt.subject {
				t.Errorf("Subject = %q, %v; want %q", subject, err, tt.subject)
			}
			from, err := msg.Header.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != tt.from || from[0].Address != "news@radiogram.example" {
				t.Errorf("From = %v, %v; want %q <news@radiogram.example>", from, err, tt.from)
			}
			to, err := msg.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != tt.msg.To {
				t.Errorf("To = %v, %v; want %s", to, err, tt.msg.To)
			}
			if got := msg.Header.Get("Reply-To"); (got != "") != (tt.msg.ReplyTo != "") || !strings.Contains(got, tt.msg.ReplyTo) {
				t.Errorf("Reply-To = %q, want %q", got, tt.msg.ReplyTo)
			}
			for _, h := range tt.msg.Headers {
				if got := msg.Header.Get(h.Name); got != h.Value {
					t.Errorf("%s = %q, want %q", h.Name, got, h.Value)
				}
			}

			if len(parts) != len(tt.parts) {
				t.Fatalf("%d parts, want %d (%v)", len(parts), len(tt.parts), tt.parts)
			}
			want := map[string]string{"text/plain": tt.msg.Text, "text/html": tt.msg.HTML}
			for i, p := range parts {
				if p.mediaType != tt.parts[i] {
					t.Errorf("part %d is %s, want %s", i, p.mediaType, tt.parts[i])
				}
				if p.charset != "utf-8" || p.encoding != "quoted-printable" {
					t.Errorf("part %s: charset %q, encoding %q; want utf-8, quoted-printable", p.mediaType, p.charset, p.encoding)
				}
				if p.body != want[p.mediaType] {
					t.Errorf("part %s body:\n%q\nwant\n%q", p.mediaType, p.body, want[p.mediaType])
				}
			}
		})
	}
}

func TestMIMEHeaderLinesStayShort(t *testing.T) {
	m := Message{
		From:    "Radiogram <news@radiogram.example>",
		To:      "alice@example.org",
		Subject: strings.TrimSpace(strings.Repeat("A long subject line that goes on ", 8)),
		Text:    "x",
		Headers: []Header{{Name: "List-Unsubscribe", Value: "<https://radiogram.example/unsubscribe?token=" + strings.Repeat("t", 300) + ">"}},
	}
	raw, err := m.MIME(fixedNow)
	if err != nil {
		t.Fatalf("MIME: %v", err)
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for line := range strings.SplitSeq(string(head), "\r\n") {
		if len(line) > maxLine {
			t.Errorf("header line of %d characters: %.60s...", len(line), line)
		}
	}
	msg, _ := parseMIME(t, raw)
	if got := msg.Header.Get("List-Unsubscribe"); got != m.Headers[0].Value {
		t.Errorf("List-Unsubscribe changed by folding:\n%q\nwant\n%q", got, m.Headers[0].Value)
	}
	if got, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); got != m.Subject {
		t.Errorf("Subject changed by folding:\n%q\nwant\n%q", got, m.Subject)
	}
}

func TestMIMERefuses(t *testing.T) {
	valid := Message{
		From:    "Radiogram <news@radiogram.example>",
		To:      "alice@example.org",
		Subject: "Hello",
		Text:    "Hello",
		HTML:    "<p>Hello</p>",
	}
	tests := []struct {
		name      string
		change    func(m *Message)
		injection bool // the error must wrap ErrHeaderInjection
	}{
		{"LF in Subject", func(m *Message) { m.Subject = "Hello\nBcc: victim@example.com" }, true},
		{"CRLF in Subject", func(m *Message) { m.Subject = "Hello\r\nBcc: victim@example.com" }, true},
		{"CR in Subject", func(m *Message) { m.Subject = "Hello\rBcc: victim@example.com" }, true},
		{"CRLF in To", func(m *Message) { m.To = "alice@example.org\r\nBcc: victim@example.com" }, true},
		{"CRLF in From", func(m *Message) { m.From = "Radiogram\r\nBcc: v@example.com <news@radiogram.example>" }, true},
		{"CRLF in Reply-To", func(m *Message) { m.ReplyTo = "help@radiogram.example\r\nBcc: v@example.com" }, true},
		{"CRLF hidden in an encoded name", func(m *Message) {
			m.From = "=?utf-8?q?Radiogram=0D=0ABcc=3A_v=40example=2Ecom?= <news@radiogram.example>"
		}, true},
		{"CRLF in extra header value", func(m *Message) {
			m.Headers = []Header{{Name: "List-Unsubscribe", Value: "<https://x.example/u>\r\nBcc: victim@example.com"}}
		}, true},
		{"colon in extra header name", func(m *Message) { m.Headers = []Header{{Name: "Bcc: v@example.com\r\nX", Value: "1"}} }, false},
		{"empty extra header name", func(m *Message) { m.Headers = []Header{{Name: "", Value: "1"}} }, false},
		{"extra header overriding To", func(m *Message) { m.Headers = []Header{{Name: "to", Value: "victim@example.com"}} }, false},
		{"extra header overriding Content-Type", func(m *Message) { m.Headers = []Header{{Name: "Content-Type", Value: "text/html"}} }, false},
		{"extra header too long", func(m *Message) { m.Headers = []Header{{Name: "X-Long", Value: strings.Repeat("a", 1000)}} }, false},
		{"no recipient", func(m *Message) { m.To = "" }, false},
		{"not an address", func(m *Message) { m.To = "alice" }, false},
		{"no sender", func(m *Message) { m.From = "" }, false},
		{"no text part", func(m *Message) { m.Text = "" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid
			tt.change(&m)
			raw, err := m.MIME(fixedNow)
			if err == nil {
				t.Fatalf("MIME accepted it:\n%s", raw)
			}
			if tt.injection && !errors.Is(err, ErrHeaderInjection) {
				t.Errorf("error %v does not wrap ErrHeaderInjection", err)
			}
			if strings.Contains(err.Error(), "victim@example.com") {
				t.Errorf("error %q repeats the address", err)
			}
		})
	}
	if _, err := valid.MIME(fixedNow); err != nil {
		t.Fatalf("the valid message is refused too: %v", err)
	}
}

func TestASCIIAddress(t *testing.T) {
	tests := []struct {
		in, want string // want "" means refused
	}{
		{"alice@example.org", "alice@example.org"},
		{"Alice <alice@example.org>", "alice@example.org"},
		{"jörg@example.org", ""},
		{"joerg@bücher.example", "joerg@xn--bcher-kva.example"},
		{"Jörg <joerg@bücher.example>", "joerg@xn--bcher-kva.example"},
		{"alice@example.org\r\nBcc: victim@example.com", ""},
		{"alice", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := ASCIIAddress(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ASCIIAddress(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ASCIIAddress(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestMIMEInternationalDomain(t *testing.T) {
	m := Message{From: "Radiogram <news@radiogram.example>", To: "joerg@bücher.example", Subject: "Hi", Text: "Hi"}
	raw, err := m.MIME(fixedNow)
	if err != nil {
		t.Fatalf("MIME: %v", err)
	}
	msg, _ := parseMIME(t, raw)
	if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "joerg@xn--bcher-kva.example" {
		t.Errorf("To = %v, %v; want the domain in Punycode", to, err)
	}
	m.To = "jörg@example.org"
	if _, err := m.MIME(fixedNow); err == nil {
		t.Error("MIME accepted a non-ASCII local part, which SES cannot deliver")
	}
}

func TestUnsubscribeHeaders(t *testing.T) {
	tests := []struct {
		name, link, mailto string
		want               []Header
	}{
		{"https link, no mailto", "https://r.example/unsubscribe?token=1.k.c3ViLTE.unsubscribe.0.mac", "", []Header{
			{"List-Unsubscribe", "<https://r.example/unsubscribe?token=1.k.c3ViLTE.unsubscribe.0.mac>"},
			{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
		}},
		{"mailto carries the link's token", "https://r.example/unsubscribe?token=1.k.c3ViLTE.unsubscribe.0.mac", "unsubscribe@r.example", []Header{
			{"List-Unsubscribe", "<https://r.example/unsubscribe?token=1.k.c3ViLTE.unsubscribe.0.mac>, <mailto:unsubscribe@r.example?subject=unsubscribe%201.k.c3ViLTE.unsubscribe.0.mac>"},
			{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
		}},
		{"no token, no mailto", "https://r.example/preview-link?what=unsubscribe", "unsubscribe@r.example", []Header{
			{"List-Unsubscribe", "<https://r.example/preview-link?what=unsubscribe>"},
			{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
		}},
		{"http link: no one-click", "http://127.0.0.1/unsubscribe?token=t", "u@r.example", []Header{
			{"List-Unsubscribe", "<http://127.0.0.1/unsubscribe?token=t>, <mailto:u@r.example?subject=unsubscribe%20t>"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UnsubscribeHeaders(tt.link, tt.mailto); !slices.Equal(got, tt.want) {
				t.Errorf("UnsubscribeHeaders = %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestListID(t *testing.T) {
	tests := []struct {
		name, id, from, want string
		ok                   bool
	}{
		{"Radiogram", "", "Radiogram <news@radiogram.example>", "Radiogram <radiogram.list-id.radiogram.example>", true},
		{"ESR News & Views", "", "news@ESR.example", "ESR News & Views <esr-news-views.list-id.esr.example>", true},
		{"Radiogram", "news.esr.example", "news@other.example", "Radiogram <news.esr.example>", true},
		{"", "news.esr.example", "", "<news.esr.example>", true},
		{"Radiogram", "", "Radiogram <news@bücher.example>", "Radiogram <radiogram.list-id.xn--bcher-kva.example>", true},
		{"Radiogram", "news", "news@r.example", "", false},
		{"Radiogram", "news..example", "news@r.example", "", false},
		{"Radiogram", "news.example>\r\nBcc: x@y.example", "news@r.example", "", false},
		{"Radio <gram>", "", "news@r.example", "", false},
		{"Radiogram", "", "not an address", "", false},
	}
	for _, tt := range tests {
		got, err := ListID(tt.name, tt.id, tt.from)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ListID(%q, %q, %q) = %q, %v; want %q, ok %v", tt.name, tt.id, tt.from, got, err, tt.want, tt.ok)
		}
	}
	if got := ListHeaders(""); !slices.Equal(got, []Header{AutoSubmitted}) {
		t.Errorf("ListHeaders(\"\") = %v, want Auto-Submitted alone", got)
	}
}
