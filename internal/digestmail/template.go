package digestmail

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/html"

	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/letters"
)

// Template is one mail rendered with placeholders and split at them: the
// fixed text between them is shared by every recipient, so filling it in
// costs a join instead of a hermes render (template parsing and CSS
// inlining, milliseconds each).
type Template struct {
	renderer *Renderer
	view     *view
	html     parts // empty for a text-only mail
	text     parts
}

// Fill makes the message for one recipient; its HTML and text are byte for
// byte what Render makes. It is safe for concurrent use.
func (t *Template) Fill(rc Recipient) (email.Message, error) {
	if err := checkRecipient(rc, t.view); err != nil {
		return email.Message{}, fmt.Errorf("fill %s: %w", t.view.kind, err)
	}
	f := recipientFields(rc)
	return t.renderer.message(t.view, rc, t.html.fill(f), t.text.fill(f)), nil
}

// parts is a rendered part split at its placeholders: segments[i] comes
// before holes[i], and the last segment after the last hole.
type parts struct {
	segments []string
	holes    []hole
	fixedLen int
}

// hole is where a recipient's value goes, and how it is escaped there.
type hole struct {
	field  field
	escape func(string) string
}

func (p parts) fill(f fieldValues) string {
	if len(p.segments) == 0 {
		return ""
	}
	values := make([]string, len(p.holes))
	n := p.fixedLen
	for i, h := range p.holes {
		values[i] = h.escape(f[h.field])
		n += len(values[i])
	}
	var b strings.Builder
	b.Grow(n)
	for i, v := range values {
		b.WriteString(p.segments[i])
		b.WriteString(v)
	}
	b.WriteString(p.segments[len(p.segments)-1])
	return b.String()
}

// newPlaceholders returns tokens to render in place of a recipient's
// values. They are random for each Compile because feed text is
// attacker-controlled: a token it could predict would be filled in too.
// Links are URLs so that html/template treats them as URLs, and every token
// is one word of letters, digits and hyphens that no escaping changes.
func newPlaceholders() fieldValues {
	id := strings.ToLower(rand.Text())
	var f fieldValues
	for i := range f {
		name := strings.ReplaceAll(field(i).String(), " ", "-")
		f[i] = "rgph-" + name + "-" + id
		if field(i).isLink() {
			f[i] = "https://placeholder.invalid/" + f[i]
		}
	}
	return f
}

// escaper says how a field's value is escaped where its placeholder sits;
// before and after are the rendered output either side of the placeholder.
// It fails when the placeholder is not where the layout puts it.
type escaper func(f field, before, after string) (func(string) string, error)

// split cuts out at each placeholder of ph, each of which must occur
// exactly once: a missing one would silently leave a recipient's value
// out, an extra one (say, transformed by hermes) would be sent as is. The
// archive link occurs only in a mail with archive set, and then once.
func split(out string, ph fieldValues, archive bool, escaperFor escaper) (parts, error) {
	type found struct {
		field field
		at    int
	}
	var all []found
	for i, token := range ph {
		f := field(i)
		if f == fieldArchive && !archive {
			if strings.Contains(out, token) {
				return parts{}, fmt.Errorf("placeholder for the %s found in a mail without one", f)
			}
			continue
		}
		if n := strings.Count(out, token); n != 1 {
			return parts{}, fmt.Errorf("placeholder for the %s found %d times, want once", f, n)
		}
		all = append(all, found{f, strings.Index(out, token)})
	}
	slices.SortFunc(all, func(a, b found) int { return a.at - b.at })

	var p parts
	last := 0
	for _, fd := range all {
		end := fd.at + len(ph[fd.field])
		escape, err := escaperFor(fd.field, out[:fd.at], out[end:])
		if err != nil {
			return parts{}, fmt.Errorf("placeholder for the %s: %w", fd.field, err)
		}
		p.segments = append(p.segments, out[last:fd.at])
		p.holes = append(p.holes, hole{fd.field, escape})
		p.fixedLen += fd.at - last
		last = end
	}
	p.segments = append(p.segments, out[last:])
	p.fixedLen += len(out) - last
	return p, nil
}

// htmlEscaper escapes as the CSS inliner does: it parses hermes' output
// and renders it again with golang.org/x/net/html, so whatever html/template
// wrote, a value comes out in that renderer's escaping. Links also pass
// through html/template's URL normaliser first.
func htmlEscaper(f field, before, after string) (func(string) string, error) {
	inTag := strings.LastIndexByte(before, '<') > strings.LastIndexByte(before, '>')
	if f.isLink() {
		if !inTag || !strings.HasSuffix(before, `href="`) || !strings.HasPrefix(after, `"`) {
			return nil, fmt.Errorf("not a whole href value")
		}
		return func(s string) string { return html.EscapeString(normalizeURL(s)) }, nil
	}
	if inTag {
		return nil, fmt.Errorf("inside a tag, want text")
	}
	return html.EscapeString, nil
}

// textEscaper: plain text needs no escaping, but the why is a paragraph
// wrapped by itself, which only works on lines of its own.
func textEscaper(f field, before, after string) (func(string) string, error) {
	if f != fieldWhy {
		return func(s string) string { return s }, nil
	}
	if !strings.HasSuffix(before, "\n") || !strings.HasPrefix(after, "\n") {
		return nil, fmt.Errorf("not a paragraph of its own")
	}
	return letters.Wrap, nil
}

// normalizeURL percent-encodes a URL as html/template does in an href
// (processURLOnto with norm set): bytes outside RFC 3986's unreserved and
// reserved sets, quotes and parentheses, and % unless it starts an escape.
func normalizeURL(s string) string {
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!#$&*+,/:;=?@[]", c) >= 0:
			continue
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			continue
		}
		if written == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[written:i])
		fmt.Fprintf(&b, "%%%02x", c)
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
