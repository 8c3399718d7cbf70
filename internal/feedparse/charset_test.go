package feedparse

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestParseCharsets(t *testing.T) {
	const (
		frenchTitle   = "Journées de radiologie à Paris"
		frenchSummary = "Inscriptions ouvertes, café et crème inclus"
	)
	tests := []struct {
		name        string
		fixture     string
		contentType string
		wantTitle   string
		wantSummary string
	}{
		{"ISO-8859-1 declared in the prolog", "charset_latin1_prolog.xml", "", frenchTitle, frenchSummary},
		{"ISO-8859-1 declared only in the header", "charset_latin1_header.xml", "application/rss+xml; charset=ISO-8859-1", frenchTitle, frenchSummary},
		{"prolog says UTF-8, body is Latin-1", "charset_utf8_declared_latin1_body.xml", "", frenchTitle, frenchSummary},
		{"prolog says UTF-8, body is Latin-1, header says Latin-1", "charset_utf8_declared_latin1_body.xml", "text/xml; charset=iso-8859-1", frenchTitle, frenchSummary},
		{"prolog says ISO-8859-1, body is UTF-8", "charset_latin1_declared_utf8_body.xml", "", frenchTitle, frenchSummary},
		{"header says ISO-8859-1, body is UTF-8", "charset_latin1_declared_utf8_body.xml", "text/xml; charset=ISO-8859-1", frenchTitle, frenchSummary},
		{"windows-1252 smart quotes", "charset_windows1252.xml", "", "“Smart” quotes – it’s €5…", "Café “quoted”"},
		{"windows-1252 body labelled ISO-8859-1 in the header", "charset_windows1252.xml", "text/xml; charset=iso-8859-1", "“Smart” quotes – it’s €5…", "Café “quoted”"},
		{"UTF-16LE with a byte order mark", "charset_utf16le_bom.xml", "", frenchTitle, frenchSummary},
		{"UTF-8 with a byte order mark", "charset_utf8_bom.xml", "", frenchTitle, frenchSummary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustParse(t, readFixture(t, tt.fixture), tt.contentType)
			if doc.Title != "Société Française" {
				t.Errorf("feed Title = %q", doc.Title)
			}
			if len(doc.Items) != 1 {
				t.Fatalf("got %d items, want 1", len(doc.Items))
			}
			if got := doc.Items[0].Title; got != tt.wantTitle {
				t.Errorf("Title = %q, want %q", got, tt.wantTitle)
			}
			if got := doc.Items[0].Summary; got != tt.wantSummary {
				t.Errorf("Summary = %q, want %q", got, tt.wantSummary)
			}
		})
	}
}

func TestToUTF8(t *testing.T) {
	tests := []struct {
		name        string
		body        []byte
		contentType string
		want        string
	}{
		{"UTF-8 kept, declaration dropped", []byte(`<?xml version="1.0" encoding="iso-8859-1"?><a>é</a>`), "", `<?xml version="1.0"?><a>é</a>`},
		{"single-quoted declaration", []byte("<?xml version='1.0' encoding='ISO-8859-1' standalone='yes'?><a>\xe9</a>"), "", `<?xml version='1.0' standalone='yes'?><a>é</a>`},
		{"no declaration, header charset", []byte("<a>\xe9</a>"), "text/xml; charset=iso-8859-15", "<a>é</a>"},
		{"unknown labels fall back to windows-1252", []byte(`<?xml version="1.0" encoding="klingon"?><a>` + "\x93hi\x94</a>"), "text/xml; charset=nonsense", `<?xml version="1.0"?><a>“hi”</a>`},
		{"malformed header ignored", []byte("<a>\xe9</a>"), "text/xml; charset", "<a>é</a>"},
		{"UTF-16 label on an ASCII body ignored", []byte(`<?xml version="1.0" encoding="UTF-16"?><a>` + "\xe9</a>"), "", `<?xml version="1.0"?><a>é</a>`},
		{"UTF-16BE with BOM", append([]byte{0xFE, 0xFF}, utf16BE("<a>é</a>")...), "", "<a>é</a>"},
		{"UTF-16BE without BOM", utf16BE("<a>é</a>"), "", "<a>é</a>"},
		{"KOI8-R from the prolog", []byte(`<?xml version="1.0" encoding="KOI8-R"?><a>` + "\xf0\xd2\xc9\xd7\xc5\xd4</a>"), "", `<?xml version="1.0"?><a>Привет</a>`},
		{"declaration later in the body untouched", []byte(`<a>x</a><?xml version="1.0" encoding="latin1"?>`), "", `<a>x</a><?xml version="1.0" encoding="latin1"?>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toUTF8(tt.body, tt.contentType)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("toUTF8 = %q, want %q", got, tt.want)
			}
			if !utf8.Valid(got) {
				t.Errorf("toUTF8 returned invalid UTF-8 %q", got)
			}
		})
	}
}

func utf16BE(s string) []byte {
	var b bytes.Buffer
	for _, r := range s {
		b.WriteByte(byte(r >> 8))
		b.WriteByte(byte(r))
	}
	return b.Bytes()
}
