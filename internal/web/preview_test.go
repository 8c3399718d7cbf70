package web

import (
	"html"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/subscribers"
)

// The inert links of an admin preview answer a page that changes nothing,
// to a click and to a mail client's one-click unsubscribe alike.
func TestPreviewLinkIsInert(t *testing.T) {
	h := newHarness(t, testCatalog())
	before := h.fake.mutations()
	for _, tc := range []struct{ method, target, contentType, body string }{
		{"GET", subscribers.PreviewLinkPath + "?what=unsubscribe", "", ""},
		{"GET", subscribers.PreviewLinkPath + "?what=preferences", "", ""},
		{"GET", subscribers.PreviewLinkPath + "?what=<script>", "", ""},
		{"POST", subscribers.PreviewLinkPath + "?what=unsubscribe", formType, "List-Unsubscribe=One-Click"},
	} {
		rec := h.do(tc.method, tc.target, tc.contentType, tc.body)
		body := html.UnescapeString(rec.Body.String())
		if rec.Code != 200 || !strings.Contains(body, "This link is inactive in a preview") || strings.Contains(body, "<script>") {
			t.Errorf("%s %s: %d\n%s", tc.method, tc.target, rec.Code, body)
		}
	}
	if after := h.fake.mutations(); after != before {
		t.Errorf("a preview link changed something: %d mutations before, %d after", before, after)
	}
}

func TestGlobalCapAnswers429WithReason(t *testing.T) {
	h := newHarness(t, testCatalog())
	h.fake.fail = subscribers.ErrBusy
	rec := h.do("POST", "/subscribe", jsonType, `{"email":"a@example.org","topics":["ai"]}`)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "3600" || !strings.Contains(rec.Body.String(), "too many sign-ups across the service this hour") {
		t.Errorf("JSON over the global cap: %d %q", rec.Code, rec.Body.String())
	}
	rec = h.do("POST", "/subscribe", formType, form("email", "a@example.org", "topics", "ai"))
	if body := html.UnescapeString(rec.Body.String()); rec.Code != 429 || !strings.Contains(body, "too many sign-ups in the last hour") {
		t.Errorf("form over the global cap: %d\n%s", rec.Code, body)
	}
}
