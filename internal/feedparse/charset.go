package feedparse

import (
	"bytes"
	"fmt"
	"mime"
	"regexp"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/unicode"
)

var (
	utf8BOM = []byte{0xEF, 0xBB, 0xBF}

	// xmlDeclEncoding finds the encoding pseudo-attribute of an XML
	// declaration at the very start of a document. Group 1 is everything
	// before it (kept when the attribute is dropped), group 2 its label.
	xmlDeclEncoding = regexp.MustCompile(`^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*["']([^"']*)["']`)
)

// toUTF8 returns body as UTF-8 without a byte order mark and without an
// encoding in its XML declaration.
//
// Miniflux's rule applies: a body that is already valid UTF-8 is kept as it
// is, whatever the declaration or the Content-Type header claim, because
// servers mislabel far more often than they send bytes that merely happen to
// validate. Other bodies are decoded from, in order, the XML declaration's
// encoding, the header's charset, else windows-1252 (the superset of
// ISO-8859-1 that mislabelled "Latin-1" feeds really use). The declaration is
// then removed, or gofeed's own charset reader would decode the converted
// text a second time into mojibake.
func toUTF8(body []byte, contentType string) ([]byte, error) {
	body = bytes.TrimPrefix(body, utf8BOM)
	switch {
	case isUTF16(body):
		decoded, err := unicode.UTF16(utf16Order(body), unicode.UseBOM).NewDecoder().Bytes(body)
		if err != nil {
			return nil, fmt.Errorf("decode UTF-16: %w", err)
		}
		body = decoded
	case !utf8.Valid(body):
		decoded, err := decodeLegacy(body, contentType)
		if err != nil {
			return nil, err
		}
		body = decoded
	}
	return dropXMLEncoding(body), nil
}

// isUTF16 recognises UTF-16 by its byte order mark or, without one, by an
// opening '<' stored as two bytes.
func isUTF16(body []byte) bool {
	return bytes.HasPrefix(body, []byte{0xFF, 0xFE}) ||
		bytes.HasPrefix(body, []byte{0xFE, 0xFF}) ||
		bytes.HasPrefix(body, []byte{'<', 0}) ||
		bytes.HasPrefix(body, []byte{0, '<'})
}

// utf16Order is the byte order of a body isUTF16 accepted; a byte order
// mark, when present, overrides it during decoding.
func utf16Order(body []byte) unicode.Endianness {
	if body[0] == 0 || body[0] == 0xFE {
		return unicode.BigEndian
	}
	return unicode.LittleEndian
}

// decodeLegacy converts a body that is not valid UTF-8 using the first
// usable label. Labels naming UTF-8 or UTF-16 are skipped: the bytes have
// just proved the former wrong, and an ASCII-readable declaration proves the
// latter wrong.
func decodeLegacy(body []byte, contentType string) ([]byte, error) {
	labels := []string{declaredEncoding(body), headerCharset(contentType), "windows-1252"}
	for _, label := range labels {
		if label == "" {
			continue
		}
		enc, name := charset.Lookup(label)
		if enc == nil || name == "utf-8" || name == "utf-16le" || name == "utf-16be" {
			continue
		}
		decoded, err := enc.NewDecoder().Bytes(body)
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", name, err)
		}
		return decoded, nil
	}
	// Unreachable while windows-1252 is in the list; kept so a future edit
	// of the list cannot hand invalid UTF-8 to the XML decoder.
	return nil, fmt.Errorf("no usable charset for a body that is not UTF-8")
}

// declaredEncoding returns the encoding named in the XML declaration, or "".
func declaredEncoding(body []byte) string {
	m := xmlDeclEncoding.FindSubmatch(body)
	if m == nil {
		return ""
	}
	return string(m[2])
}

// headerCharset returns the charset parameter of a Content-Type header, or "".
func headerCharset(contentType string) string {
	if contentType == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return params["charset"]
}

// dropXMLEncoding removes the encoding pseudo-attribute from the XML
// declaration, leaving the declaration itself in place.
func dropXMLEncoding(body []byte) []byte {
	loc := xmlDeclEncoding.FindSubmatchIndex(body)
	if loc == nil {
		return body
	}
	out := make([]byte, 0, len(body))
	out = append(out, body[loc[2]:loc[3]]...)
	return append(out, body[loc[1]:]...)
}
