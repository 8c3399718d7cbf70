package web

import (
	"embed"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/radiogram/radiogram/internal/pagekit"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

var pageNames = []string{"signup.html", "preferences.html", "action.html", "message.html", "news.html", "item.html"}

// renderer renders the pages, each parsed with the base layout and the
// shared partials. It panics if the embedded templates do not parse, which
// the package's tests rule out.
func renderer(log *slog.Logger) *pagekit.Renderer {
	return &pagekit.Renderer{
		Templates:   pagekit.MustParseTemplates(templateFiles, "templates", nil, pageNames...),
		Log:         log,
		LogMessage:  "render page",
		FailureText: "Something went wrong on our side. Please try again later.",
	}
}

// render writes a page, or a plain error when it fails to render.
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, page string, view any) {
	s.pages.Render(w, r, status, page, view)
}

// renderMessage renders the message page, titled with its heading.
func (s *site) renderMessage(w http.ResponseWriter, r *http.Request, status int, v messageView) {
	v.frame = s.frame(v.Heading)
	s.render(w, r, status, "message.html", v)
}

// loadAssets reads the embedded static files, served under /static/. It
// panics if they cannot be read, which the package's tests rule out.
func loadAssets() *pagekit.Assets {
	assets, err := pagekit.LoadAssets("/static/", staticFiles, "static")
	if err != nil {
		panic(err)
	}
	return assets
}

// errorBody is the API's error shape, with the form field at fault when
// there is one.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
