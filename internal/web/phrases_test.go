package web

import (
	"encoding/json"
	"html"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestSubscribeJSONPhrases(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		wantStatus   int
		wantField    string
		wantReason   string
		wantKeywords []string
		wantMute     []string
	}{
		{name: "normalised", wantStatus: 202,
			body:         `{"email":"a@example.org","topics":["ai"],"keywords":["  lung   cancer screening ","MRI","mri"],"mute":["COVID-19"]}`,
			wantKeywords: []string{"lung cancer screening", "MRI"}, wantMute: []string{"COVID-19"}},
		{name: "none", wantStatus: 202, body: `{"email":"a@example.org","topics":["ai"]}`},
		{name: "markup", wantStatus: 400, wantField: "keywords", wantReason: `"<b>AI</b>" must not contain < or >`,
			body: `{"email":"a@example.org","topics":["ai"],"keywords":["<b>AI</b>"]}`},
		{name: "too many", wantStatus: 400, wantField: "mute", wantReason: "at most 20 phrases, not 21",
			body: `{"email":"a@example.org","topics":["ai"],"mute":[` + quotedPhrases(21) + `]}`},
		{name: "too long", wantStatus: 400, wantField: "keywords", wantReason: "is too long: at most 60 characters, not 61",
			body: `{"email":"a@example.org","topics":["ai"],"keywords":["` + strings.Repeat("a", 61) + `"]}`},
		{name: "a line break", wantStatus: 400, wantField: "keywords", wantReason: "must not contain line breaks",
			body: `{"email":"a@example.org","topics":["ai"],"keywords":["ai\nsafety"]}`},
		{name: "followed and muted", wantStatus: 400, wantField: "mute", wantReason: `"covid" is also one of your keywords`,
			body: `{"email":"a@example.org","topics":["ai"],"keywords":["COVID"],"mute":["covid"]}`},
		{name: "not an array", wantStatus: 400, wantReason: "invalid JSON body",
			body: `{"email":"a@example.org","topics":["ai"],"keywords":"covid"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testCatalog())
			rec := h.do("POST", "/subscribe", jsonType, tt.body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus != 202 {
				var body struct{ Error, Field string }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Field != tt.wantField || !strings.Contains(strings.ToLower(body.Error), strings.ToLower(tt.wantReason)) {
					t.Errorf("answer %s; want field %q and a reason with %q", rec.Body, tt.wantField, tt.wantReason)
				}
				if len(h.fake.signUpsSoFar()) != 0 {
					t.Error("a refused sign-up was queued")
				}
				return
			}
			got := h.fake.signUpsSoFar()[0].Preferences
			if !slices.Equal(got.Keywords, tt.wantKeywords) || !slices.Equal(got.Mute, tt.wantMute) {
				t.Errorf("signed up with keywords %q and mute %q; want %q and %q", got.Keywords, got.Mute, tt.wantKeywords, tt.wantMute)
			}
		})
	}
}

func quotedPhrases(n int) string {
	var list []string
	for i := range n {
		list = append(list, `"phrase `+string(rune('a'+i))+`"`)
	}
	return strings.Join(list, ",")
}

// preferencesForm is jane's stored choices as the page's form posts them,
// with the given keyword and mute text areas.
func preferencesForm(keywords, mute string) string {
	return form("token", token("preferences", "s1"), "topics", "ai", "topics", "cancer", "frequency", "daily",
		"hour", "7", "timezone", "Europe/Vienna", "format", "html", "keywords", keywords, "mute", mute)
}

func TestPreferencesPhrasesRoundTrip(t *testing.T) {
	h := newHarness(t, testCatalog())
	page := h.do("GET", "/preferences?token="+url.QueryEscape(token("preferences", "s1")), "", "")
	for _, want := range []string{`<textarea id="keywords" name="keywords"`, `<label for="mute">Mute words</label>`, "up to 20 of each, 2 to 60 characters and at most 6 words"} {
		if !strings.Contains(page.Body.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}

	// A text area's lines, as a browser posts them (CRLF, a blank line).
	rec := h.do("POST", "/preferences", formType, preferencesForm("lung cancer screening\r\n\r\n  MRI \r\n", "COVID"))
	if rec.Code != 200 {
		t.Fatalf("save: %d\n%s", rec.Code, rec.Body)
	}
	sub, _ := h.fake.get("s1")
	if !slices.Equal(sub.Preferences.Keywords, []string{"lung cancer screening", "MRI"}) || !slices.Equal(sub.Preferences.Mute, []string{"COVID"}) {
		t.Fatalf("stored keywords %q, mute %q", sub.Preferences.Keywords, sub.Preferences.Mute)
	}
	body := html.UnescapeString(rec.Body.String())
	for _, want := range []string{
		"<strong>Keywords:</strong> none → lung cancer screening, MRI",
		"<strong>Mute words:</strong> none → COVID",
		">lung cancer screening\nMRI</textarea>",
		">COVID</textarea>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the saved page lacks %q", want)
		}
	}

	// Opening the page again shows them.
	page = h.do("GET", "/preferences?token="+url.QueryEscape(token("preferences", "s1")), "", "")
	if !strings.Contains(html.UnescapeString(page.Body.String()), ">lung cancer screening\nMRI</textarea>") {
		t.Error("the page does not show the stored keywords")
	}

	// Removing them all.
	if rec := h.do("POST", "/preferences", formType, preferencesForm("", "")); rec.Code != 200 || !strings.Contains(html.UnescapeString(rec.Body.String()), "<strong>Keywords:</strong> lung cancer screening, MRI → none") {
		t.Errorf("clearing: %d", rec.Code)
	}
	if sub, _ := h.fake.get("s1"); len(sub.Preferences.Keywords) != 0 || len(sub.Preferences.Mute) != 0 {
		t.Errorf("after clearing: %q, %q", sub.Preferences.Keywords, sub.Preferences.Mute)
	}
}

func TestPreferencesPhrasesRefused(t *testing.T) {
	tests := []struct {
		name, keywords, mute, field, reason string
	}{
		{"markup", "<script>alert(1)</script>", "", "keywords", `"<script>alert(1)</script>" must not contain < or >`},
		{"a web address", "", "https://example.org", "mute", `"https://example.org" must not be a web address`},
		{"followed and muted", "covid", "Covid", "mute", `"Covid" is also one of your keywords`},
		{"too short", "x", "", "keywords", `"x" is too short`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testCatalog())
			rec := h.do("POST", "/preferences", formType, preferencesForm(tt.keywords, tt.mute))
			if rec.Code != 400 {
				t.Fatalf("status %d, want 400", rec.Code)
			}
			body := rec.Body.String()
			text := html.UnescapeString(body)
			for _, want := range []string{
				`<a href="#` + tt.field + `">`,
				`id="` + tt.field + `-error"`,
				tt.reason,
			} {
				if !strings.Contains(text, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
			if strings.Contains(body, "<script>alert") {
				t.Error("the phrase reached the page unescaped")
			}
			// What was typed is shown again, to correct.
			if !strings.Contains(text, ">"+tt.keywords+"</textarea>") || !strings.Contains(text, ">"+tt.mute+"</textarea>") {
				t.Error("the form lost what was typed")
			}
			if sub, _ := h.fake.get("s1"); len(sub.Preferences.Keywords)+len(sub.Preferences.Mute) != 0 {
				t.Error("refused phrases were saved")
			}
		})
	}
}

// TestPreferencesPhrasesRepeatedFields: a client posting one field per
// phrase, rather than the page's text area, gets one phrase each.
func TestPreferencesPhrasesRepeatedFields(t *testing.T) {
	h := newHarness(t, testCatalog())
	body := form("token", token("preferences", "s1"), "topics", "ai", "frequency", "daily", "hour", "7", "timezone", "UTC", "format", "html",
		"keywords", "lung cancer screening", "keywords", "MRI", "mute", "COVID", "mute", "vaping")
	if rec := h.do("POST", "/preferences", formType, body); rec.Code != 200 {
		t.Fatalf("save: %d", rec.Code)
	}
	sub, _ := h.fake.get("s1")
	if !slices.Equal(sub.Preferences.Keywords, []string{"lung cancer screening", "MRI"}) || !slices.Equal(sub.Preferences.Mute, []string{"COVID", "vaping"}) {
		t.Errorf("stored keywords %q, mute %q", sub.Preferences.Keywords, sub.Preferences.Mute)
	}
}

// TestSubscribeFormPhrases: a sign-up form may carry the phrases too, one
// a line.
func TestSubscribeFormPhrases(t *testing.T) {
	h := newHarness(t, testCatalog())
	rec := h.do("POST", "/subscribe", formType, form("email", "b@example.org", "topics", "ai", "keywords", "lung cancer screening\r\nMRI", "mute", "COVID"))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	got := h.fake.signUpsSoFar()[0].Preferences
	if !slices.Equal(got.Keywords, []string{"lung cancer screening", "MRI"}) || !slices.Equal(got.Mute, []string{"COVID"}) {
		t.Errorf("signed up with keywords %q, mute %q", got.Keywords, got.Mute)
	}
	if rec := h.do("POST", "/subscribe", formType, form("email", "c@example.org", "topics", "ai", "mute", "<i>")); rec.Code != 400 || !strings.Contains(html.UnescapeString(rec.Body.String()), `"<i>" must not contain < or >`) {
		t.Errorf("a refused phrase on the sign-up form: %d", rec.Code)
	}
}
