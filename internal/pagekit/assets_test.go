package pagekit

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func testAssets(t *testing.T, prefix string) *Assets {
	t.Helper()
	a, err := LoadAssets(prefix, os.DirFS("testdata"), "static")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAssetURLs(t *testing.T) {
	tests := []struct {
		prefix, name string
		want         string // a pattern; empty when the name must be refused
	}{
		{"/static/", "app.js", `^/static/app\.js\?v=[0-9a-f]{12}$`},
		{"/static/", "base.css", `^/static/base\.css\?v=[0-9a-f]{12}$`},
		{"/admin/console/static/", "site.css", `^/admin/console/static/site\.css\?v=[0-9a-f]{12}$`},
		{"/admin/console/static/", "base.css", `^/admin/console/static/base\.css\?v=[0-9a-f]{12}$`},
		{"/static/", "missing.js", ""},
		{"/static/", ".env", ""},         // hidden files are never served
		{"/static/", "fonts", ""},        // nor directories
		{"/static/", "fonts/README", ""}, // nor what is in them
	}
	for _, tc := range tests {
		t.Run(tc.prefix+tc.name, func(t *testing.T) {
			got, err := testAssets(t, tc.prefix).URL(tc.name)
			if tc.want == "" {
				if err == nil {
					t.Errorf("URL = %q, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(tc.want).MatchString(got) {
				t.Errorf("URL = %q, want %s", got, tc.want)
			}
		})
	}
}

func TestAssetVersionFollowsContent(t *testing.T) {
	a := testAssets(t, "/static/")
	js, _ := a.URL("app.js")
	css, _ := a.URL("site.css")
	if version(js) == version(css) {
		t.Errorf("two different files share the version %s", version(js))
	}
	again, _ := testAssets(t, "/static/").URL("app.js")
	if again != js {
		t.Errorf("loading the same file twice gave %s and %s", js, again)
	}
}

func version(url string) string {
	_, v, _ := strings.Cut(url, "?v=")
	return v
}

func TestLoadAssetsRefusesToShadowASharedFile(t *testing.T) {
	_, err := LoadAssets("/static/", os.DirFS("testdata"), "clash")
	if err == nil || !strings.Contains(err.Error(), "base.css") {
		t.Errorf("err = %v, want one naming base.css", err)
	}
}

func TestAssetsHandler(t *testing.T) {
	const prefix = "/admin/console/static/"
	a := testAssets(t, prefix)
	jsURL, _ := a.URL("app.js")
	baseURL, _ := a.URL("base.css")
	const immutable, brief = "public, max-age=31536000, immutable", "public, max-age=300"
	jsTag, baseTag := `"`+version(jsURL)+`"`, `"`+version(baseURL)+`"`
	tests := []struct {
		name, target, ifNoneMatch string
		wantStatus                int
		wantCache, wantType       string
		wantETag, wantBody        string
	}{
		{name: "current version", target: jsURL, wantStatus: 200, wantCache: immutable, wantETag: jsTag, wantType: "text/javascript", wantBody: `classList.add("js")`},
		{name: "shared stylesheet", target: baseURL, wantStatus: 200, wantCache: immutable, wantETag: baseTag, wantType: "text/css", wantBody: ":root {"},
		{name: "no version", target: prefix + "app.js", wantStatus: 200, wantCache: brief, wantETag: jsTag, wantType: "text/javascript"},
		{name: "stale version", target: prefix + "app.js?v=000000000000", wantStatus: 200, wantCache: brief, wantETag: jsTag, wantType: "text/javascript"},
		{name: "unchanged since the last visit", target: jsURL, ifNoneMatch: jsTag, wantStatus: 304, wantCache: immutable, wantETag: jsTag},
		{name: "changed since the last visit", target: jsURL, ifNoneMatch: `"000000000000"`, wantStatus: 200, wantCache: immutable, wantETag: jsTag, wantType: "text/javascript"},
		{name: "unknown file", target: prefix + "missing.js", wantStatus: 404, wantBody: "the package's own not-found page"},
		{name: "hidden file", target: prefix + ".env", wantStatus: 404, wantBody: "the package's own not-found page"},
		{name: "file in a directory", target: prefix + "fonts/README", wantStatus: 404, wantBody: "the package's own not-found page"},
		{name: "outside the prefix", target: "/static/app.js", wantStatus: 404, wantBody: "the package's own not-found page"},
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the package's own not-found page", http.StatusNotFound)
	}
	serve := a.Handler(notFound)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.target, nil)
			if tc.ifNoneMatch != "" {
				req.Header.Set("If-None-Match", tc.ifNoneMatch)
			}
			rec := httptest.NewRecorder()
			serve(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			if got := rec.Header().Get("Cache-Control"); got != tc.wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, tc.wantCache)
			}
			if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, tc.wantType) {
				t.Errorf("Content-Type = %q, want %q…", got, tc.wantType)
			}
			if !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("body %q lacks %q", rec.Body, tc.wantBody)
			}
			if got := rec.Header().Get("ETag"); got != tc.wantETag {
				t.Errorf("ETag = %q, want %q", got, tc.wantETag)
			}
			if tc.wantStatus == 304 && rec.Body.Len() != 0 {
				t.Errorf("a 304 carries a body: %q", rec.Body)
			}
		})
	}
}
