package web

import (
	"net/http"
)

// previewLinkNames names the links an admin preview carries, by their what.
var previewLinkNames = map[string]string{
	"preferences": "preferences",
	"unsubscribe": "unsubscribe",
	"export":      "download your data",
	"erase":       "erase your data",
}

// previewLink answers the inert links of an admin preview
// (subscribers.PreviewLinkPath), GET from a click and POST from a mail
// client's one-click unsubscribe: it changes nothing.
func (s *site) previewLink(w http.ResponseWriter, r *http.Request) {
	what := "a"
	if name, ok := previewLinkNames[r.URL.Query().Get("what")]; ok {
		what = "the " + name
	}
	s.renderMessage(w, r, http.StatusOK, messageView{
		Heading: "This link is inactive in a preview",
		Paragraphs: []string{
			"You followed " + what + " link of a preview of a Radiogram email. In a preview, links do nothing: no subscription was changed.",
			"In the emails subscribers get, this link is their own.",
		},
	})
}
