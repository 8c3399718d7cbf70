package browsertest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserLoadsLoopbackPageAndScreenshots(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><title>Loopback</title><h1 id="greeting">Hello from 127.0.0.1</h1></html>`))
	}))
	defer ts.Close()
	dir := t.TempDir()
	t.Setenv("RADIOGRAM_ARTIFACTS", dir)

	ctx := New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("greeting")))
	if err != nil {
		t.Fatalf("read heading: %v", err)
	}
	if heading != "Hello from 127.0.0.1" {
		t.Errorf("heading = %q", heading)
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
