// Package email owns an email as it travels: the message, its MIME encoding
// (with header-injection checks and the List-Unsubscribe headers), and the
// Sender interface the SES adapter implements. What mails say is composed
// elsewhere (letters, digestmail).
package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	mimemail "github.com/emersion/go-message/mail"
	"golang.org/x/net/idna"
)

// Header is one extra header field of a message.
type Header struct{ Name, Value string }

// Message is one email, ready to encode and send.
type Message struct {
	From    string // "Radiogram <news@radiogram.example>"
	ReplyTo string // optional
	To      string // bare address
	Subject string
	HTML    string // "" for a text-only mail
	Text    string // always present
	// Headers are extra header fields, e.g. List-Unsubscribe and
	// List-Unsubscribe-Post.
	Headers []Header
	// Tags are provider tags (SES message tags), e.g. kind=confirmation.
	Tags map[string]string
}

// Sender delivers a message and returns the provider's message id.
type Sender interface {
	Send(ctx context.Context, m Message) (string, error)
}

// ErrHeaderInjection is wrapped by MIME's error when a header value holds a
// line break, which would let it smuggle in header fields of its own.
var ErrHeaderInjection = errors.New("line break in header value")

// reservedHeaders are written by MIME itself; an extra header with one of
// these names would duplicate or contradict them.
var reservedHeaders = []string{
	"Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id",
	"Mime-Version", "Reply-To", "Subject", "To",
}

// maxLine is the longest header line RFC 5322 allows, without its CRLF.
const maxLine = 998

// MIME encodes m as an RFC 5322 message: multipart/alternative with a
// text/plain part then a text/html part, or a single text/plain part when
// HTML is empty, both UTF-8 and quoted-printable. It sets Date (from now),
// Message-ID (at the From domain), MIME-Version, From, To, Reply-To and
// Subject (RFC 2047-encoded when not ASCII), then the extra headers. A line
// break in any header value is refused with ErrHeaderInjection.
func (m Message) MIME(now time.Time) ([]byte, error) {
	h, err := m.header(now)
	if err != nil {
		return nil, err
	}
	if m.Text == "" {
		return nil, errors.New("encode message: no text part")
	}

	var buf bytes.Buffer
	if m.HTML == "" {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := mimemail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil, fmt.Errorf("encode message: %w", err)
		}
		if err := writeAndClose(w, m.Text); err != nil {
			return nil, fmt.Errorf("encode text part: %w", err)
		}
		return buf.Bytes(), nil
	}

	w, err := mimemail.CreateInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	// Clients show the last alternative they understand, so the richest
	// comes last (RFC 2046, 5.1.4).
	for _, part := range []struct{ mediaType, body string }{
		{"text/plain", m.Text},
		{"text/html", m.HTML},
	} {
		var ph mimemail.InlineHeader
		ph.SetContentType(part.mediaType, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := w.CreatePart(ph)
		if err != nil {
			return nil, fmt.Errorf("encode %s part: %w", part.mediaType, err)
		}
		if err := writeAndClose(pw, part.body); err != nil {
			return nil, fmt.Errorf("encode %s part: %w", part.mediaType, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	return buf.Bytes(), nil
}

// header builds the top-level header fields after checking every value.
func (m Message) header(now time.Time) (mimemail.Header, error) {
	var h mimemail.Header
	for _, f := range []Header{{"From", m.From}, {"Reply-To", m.ReplyTo}, {"To", m.To}, {"Subject", m.Subject}} {
		if strings.ContainsAny(f.Value, "\r\n") {
			return h, fmt.Errorf("header %s: %w", f.Name, ErrHeaderInjection)
		}
	}
	for _, f := range m.Headers {
		if err := checkExtraHeader(f); err != nil {
			return h, err
		}
	}
	from, err := parseAddress("From", m.From)
	if err != nil {
		return h, err
	}
	to, err := parseAddress("To", m.To)
	if err != nil {
		return h, err
	}
	var replyTo *mimemail.Address
	if m.ReplyTo != "" {
		if replyTo, err = parseAddress("Reply-To", m.ReplyTo); err != nil {
			return h, err
		}
	}

	// go-message inserts every field above the previous ones, so they are
	// added last first to come out in the usual order.
	for _, f := range slices.Backward(m.Headers) {
		h.Add(f.Name, mime.QEncoding.Encode("utf-8", f.Value))
	}
	_, domain, _ := strings.Cut(from.Address, "@")
	if err := h.GenerateMessageIDWithHostname(domain); err != nil {
		return h, fmt.Errorf("generate Message-ID: %w", err)
	}
	h.SetSubject(m.Subject)
	if replyTo != nil {
		h.SetAddressList("Reply-To", []*mimemail.Address{replyTo})
	}
	h.SetAddressList("To", []*mimemail.Address{to})
	h.SetAddressList("From", []*mimemail.Address{from})
	h.SetDate(now)
	return h, nil
}

func parseAddress(field, s string) (*mimemail.Address, error) {
	if s == "" {
		return nil, fmt.Errorf("header %s: no address", field)
	}
	addr, err := mimemail.ParseAddress(s)
	if err != nil {
		// The error names the problem; the address itself stays out of logs.
		return nil, fmt.Errorf("header %s: %w", field, err)
	}
	if strings.ContainsAny(addr.Name, "\r\n") {
		// An encoded-word can hide a line break until it is decoded.
		return nil, fmt.Errorf("header %s: %w", field, ErrHeaderInjection)
	}
	if addr.Address, err = asciiAddrSpec(addr.Address); err != nil {
		return nil, fmt.Errorf("header %s: %w", field, err)
	}
	return addr, nil
}

// ASCIIAddress returns the bare address in addr in the 7-bit form mail
// providers accept: an internationalised domain is converted to Punycode,
// and a local part that is not ASCII is refused, since it would need
// SMTPUTF8, which Amazon SES does not offer.
func ASCIIAddress(addr string) (string, error) {
	if strings.ContainsAny(addr, "\r\n") {
		return "", ErrHeaderInjection
	}
	parsed, err := mimemail.ParseAddress(addr)
	if err != nil {
		return "", err
	}
	return asciiAddrSpec(parsed.Address)
}

func asciiAddrSpec(spec string) (string, error) {
	local, domain, ok := strings.Cut(spec, "@")
	if !ok {
		return "", errors.New("no @ in address")
	}
	if !isASCII(local) {
		return "", errors.New("the part before @ is not ASCII (SMTPUTF8 is not supported)")
	}
	if isASCII(domain) {
		return spec, nil
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return "", fmt.Errorf("domain: %w", err)
	}
	return local + "@" + ascii, nil
}

func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r > unicode.MaxASCII })
}

func checkExtraHeader(f Header) error {
	if f.Name == "" || strings.ContainsFunc(f.Name, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }) {
		return fmt.Errorf("header %q: not a valid field name", f.Name)
	}
	name := textproto.CanonicalMIMEHeaderKey(f.Name)
	for _, reserved := range reservedHeaders {
		if name == reserved {
			return fmt.Errorf("header %s: set by the message itself, not as an extra header", f.Name)
		}
	}
	if strings.ContainsAny(f.Value, "\r\n") {
		return fmt.Errorf("header %s: %w", f.Name, ErrHeaderInjection)
	}
	if len(f.Name)+len(": ")+len(f.Value) > maxLine {
		// A longer value would be folded inside a word, changing it.
		return fmt.Errorf("header %s: longer than %d characters", f.Name, maxLine)
	}
	return nil
}

func writeAndClose(w io.WriteCloser, s string) error {
	if _, err := io.WriteString(w, s); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// UnsubscribeHeaders are the List-Unsubscribe headers of a mail whose
// unsubscribe link is link: the link; a mailto when one is configured and
// the link carries a token, the same signed token in its subject
// ("unsubscribe <token>"), which the inbound function checks against the
// sender; and the RFC 8058 one-click header, which the RFC allows for https
// links only. A mailto without a token could unsubscribe nobody, so none is
// offered for a link without one (a preview's).
func UnsubscribeHeaders(link, mailto string) []Header {
	value := "<" + link + ">"
	u, err := url.Parse(link)
	if mailto != "" && err == nil {
		if token := u.Query().Get("token"); token != "" {
			value += ", <" + UnsubscribeMailto(mailto, token) + ">"
		}
	}
	headers := []Header{{Name: "List-Unsubscribe", Value: value}}
	if err == nil && u.Scheme == "https" {
		headers = append(headers, Header{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"})
	}
	return headers
}

// UnsubscribeSubject is the first word of the subject of an unsubscribe
// mailto; the signed token follows it after a space.
const UnsubscribeSubject = "unsubscribe"

// UnsubscribeMailto is the mailto URL that unsubscribes the holder of token
// by a mail to addr: "mailto:addr?subject=unsubscribe%20<token>". A token
// uses only [A-Za-z0-9_.-], which need no escaping.
func UnsubscribeMailto(addr, token string) string {
	return "mailto:" + addr + "?subject=" + UnsubscribeSubject + "%20" + url.QueryEscape(token)
}

// AutoSubmitted is the RFC 3834 header every Radiogram mail carries, so that
// auto-responders (vacation notices, out-of-office) do not answer it.
var AutoSubmitted = Header{Name: "Auto-Submitted", Value: "auto-generated"}

// ListHeaders are the header fields every Radiogram mail carries:
// List-Id (RFC 2919), when listID is not empty, and Auto-Submitted.
func ListHeaders(listID string) []Header {
	if listID == "" {
		return []Header{AutoSubmitted}
	}
	return []Header{{Name: "List-Id", Value: listID}, AutoSubmitted}
}

// ListID returns the List-Id value (RFC 2919) for the list named name whose
// identifier is id, e.g. "Radiogram <radiogram.list-id.example.org>". When
// id is "", it is made from the name and from's domain:
// "<name>.list-id.<domain>", the name lower-cased and reduced to letters,
// digits and hyphens. An id that is not a dot-atom, or a name with
// characters a phrase cannot hold, is an error.
func ListID(name, id, from string) (string, error) {
	if id == "" {
		addr, err := parseAddress("From", from)
		if err != nil {
			return "", fmt.Errorf("list id: %w", err)
		}
		_, domain, _ := strings.Cut(addr.Address, "@")
		id = listLabel(name) + ".list-id." + strings.ToLower(domain)
	}
	if !isListID(id) {
		return "", fmt.Errorf("list id %q: want a dot-separated name such as radiogram.list-id.example.org", id)
	}
	phrase := strings.TrimSpace(name)
	if strings.ContainsFunc(phrase, func(r rune) bool { return r < ' ' || r > '~' || strings.ContainsRune(`"<>()\,;:@[]`, r) }) {
		// A quoted string would do, but a product name needs none of these.
		return "", fmt.Errorf("list name %q: only printable ASCII without specials", name)
	}
	if phrase == "" {
		return "<" + id + ">", nil
	}
	return phrase + " <" + id + ">", nil
}

// listLabel is name as one DNS-like label: lower-case letters, digits and
// hyphens, "list" when nothing is left.
func listLabel(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case (r == ' ' || r == '-' || r == '_') && b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	if label := strings.TrimSuffix(b.String(), "-"); label != "" {
		return label
	}
	return "list"
}

// isListID reports whether id is a dot-atom of at least two labels of
// letters, digits and hyphens, as RFC 2919 asks of a list identifier.
func isListID(id string) bool {
	labels := strings.Split(id, ".")
	if len(id) > 255 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || strings.ContainsFunc(l, func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-'
		}) {
			return false
		}
	}
	return true
}
