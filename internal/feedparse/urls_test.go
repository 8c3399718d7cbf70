package feedparse

import (
	"net/url"
	"testing"
)

func TestAbsoluteWebURL(t *testing.T) {
	base, _ := url.Parse("https://example.org/news/")
	tests := []struct {
		name string
		raw  string
		base *url.URL
		want string
	}{
		{"absolute kept", "https://example.org/a?b=1", base, "https://example.org/a?b=1"},
		{"spaces trimmed", "  https://example.org/a  ", base, "https://example.org/a"},
		{"relative resolved", "item/1", base, "https://example.org/news/item/1"},
		{"root-relative resolved", "/item/1", base, "https://example.org/item/1"},
		{"scheme-relative resolved", "//cdn.example.net/x", base, "https://cdn.example.net/x"},
		{"relative without base dropped", "/item/1", nil, ""},
		{"javascript dropped", "javascript:alert(1)", base, ""},
		{"data dropped", "data:text/html,hi", base, ""},
		{"mailto dropped", "mailto:a@example.org", base, ""},
		{"empty", "", base, ""},
		{"every utm parameter", "https://e.org/a?utm_source=a&utm_medium=b&utm_campaign=c&utm_term=d&utm_content=e&utm_id=f&UTM_Custom=g", nil, "https://e.org/a"},
		{"click identifiers", "https://e.org/a?fbclid=1&gclid=2&dclid=3&gbraid=4&wbraid=5&msclkid=6&yclid=7&igshid=8", nil, "https://e.org/a"},
		{"mail and marketing identifiers", "https://e.org/a?mc_cid=1&mc_eid=2&_hsenc=3&_hsmi=4&mkt_tok=5&ref_src=6", nil, "https://e.org/a"},
		{"others kept in order", "https://e.org/a?z=1&utm_source=x&a=2&ref=3&page=4", nil, "https://e.org/a?z=1&a=2&ref=3&page=4"},
		{"escaped parameter name", "https://e.org/a?utm%5Fsource=x&q=r%26d", nil, "https://e.org/a?q=r%26d"},
		{"fragment kept", "https://e.org/a?utm_source=x#section", nil, "https://e.org/a#section"},
		{"bare question mark dropped", "https://e.org/a?", nil, "https://e.org/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := absoluteWebURL(tt.raw, tt.base); got != tt.want {
				t.Errorf("absoluteWebURL(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}
