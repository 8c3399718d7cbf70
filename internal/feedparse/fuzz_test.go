package feedparse

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/radiogram/radiogram/internal/items"
)

func FuzzParse(f *testing.F) {
	fixtures, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, fixture := range fixtures {
		// The 100 KB benchmark feeds are left out: the fuzzer spends its
		// time minimising inputs that large instead of exploring.
		if fixture.IsDir() || strings.HasPrefix(fixture.Name(), "bench_") {
			continue
		}
		body, err := os.ReadFile(filepath.Join("testdata", fixture.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, "")
		f.Add(body, "application/xml; charset=iso-8859-1")
	}
	p := NewParser()
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		doc, err := p.Parse(body, contentType, testFeedURL, testNow)
		if err != nil {
			return
		}
		if !utf8.ValidString(doc.Title) {
			t.Errorf("feed title is not UTF-8: %q", doc.Title)
		}
		if doc.Link != "" && !isAbsoluteWebURL(doc.Link) {
			t.Errorf("feed link %q is not an absolute web URL", doc.Link)
		}
		for _, it := range doc.Items {
			if it.GUID == "" || it.Title == "" || it.ContentHash == "" {
				t.Errorf("item lacks GUID, title or hash: %+v", it)
			}
			if it.Link != "" && !isAbsoluteWebURL(it.Link) {
				t.Errorf("link %q is not an absolute web URL", it.Link)
			}
			if n := utf8.RuneCountInString(it.Summary); n > summaryLength+1 {
				t.Errorf("summary has %d runes", n)
			}
			if n := utf8.RuneCountInString(it.Title); n > items.MaxTitleRunes+1 {
				t.Errorf("title has %d runes", n)
			}
			if len(it.Content) > items.MaxContentBytes || len(it.Link) > items.MaxLinkBytes || len(it.GUID) > items.MaxGUIDBytes {
				t.Errorf("content %d, link %d, GUID %d bytes: over the caps", len(it.Content), len(it.Link), len(it.GUID))
			}
			for _, s := range []string{it.Title, it.Summary, it.Content} {
				if !utf8.ValidString(s) {
					t.Errorf("invalid UTF-8: %q", s)
				}
			}
			if problem := unsafeMarkup(it.Content); problem != "" {
				t.Errorf("content %q: %s", it.Content, problem)
			}
			if it.Published.Location().String() != "UTC" || it.Published.After(testNow.Add(futureTolerance)) {
				t.Errorf("published %v is not UTC or too far ahead", it.Published)
			}
		}
	})
}

func isAbsoluteWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && isWebURL(u)
}
