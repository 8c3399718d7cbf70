package browsertest

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserLoadsLoopbackPageAndScreenshots(t *testing.T) {
	ts := Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><title>Loopback</title><h1 id="greeting">Hello from 127.0.0.1</h1></html>`))
	}))
	dir := t.TempDir()
	t.Setenv("RADIOGRAM_ARTIFACTS", dir)

	ctx := New(t)
	Run(t, ctx, chromedp.Navigate(ts.URL))
	if heading := Text(t, ctx, "#greeting"); heading != "Hello from 127.0.0.1" {
		t.Errorf("heading = %q", heading)
	}
	if title := Eval[string](t, ctx, `document.title`); title != "Loopback" {
		t.Errorf("title = %q", title)
	}

	path := Screenshot(t, ctx, "loopback")
	if want := filepath.Join(dir, "loopback.png"); path != want {
		t.Errorf("screenshot path = %q, want %q", path, want)
	}
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot is not a PNG (starts %q)", png[:min(8, len(png))])
	}
}

func TestFrameTextReadsASandboxedFrame(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><title>Outer</title><p>Outside</p><iframe id="inner" sandbox src="/frame?n=1"></iframe></html>`))
	})
	mux.HandleFunc("/frame", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><p>Inside the frame</p></html>`))
	})
	ts := Serve(t, mux)

	ctx := New(t)
	Run(t, ctx, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("inner")))
	if got := FrameText(t, ctx, "/frame"); got != "Inside the frame" {
		t.Errorf("frame text = %q, want the frame's own body", got)
	}
}

func TestOverflowMeasuresSidewaysScrolling(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/{kind}", func(w http.ResponseWriter, r *http.Request) {
		width := "100px"
		if r.PathValue("kind") == "wide" {
			width = "3000px"
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><title>Width</title><div style="width:` + width + `">Box</div></html>`))
	})
	ts := Serve(t, mux)

	ctx := New(t)
	Run(t, ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.URL+"/narrow"), chromedp.WaitVisible(chromedp.CSS("div")))
	if n := Overflow(t, ctx); n > 0 {
		t.Errorf("a page that fits overflows by %d px", n)
	}
	Run(t, ctx, chromedp.Navigate(ts.URL+"/wide"), chromedp.WaitVisible(chromedp.CSS("div")))
	if n := Overflow(t, ctx); n < 3000-390 {
		t.Errorf("a 3000 px box at 390 px overflows by %d px, want at least %d", n, 3000-390)
	}
}
