// Package browsertest starts headless Chromium for the project's browser
// tests, locked down so that it can only ever talk to loopback.
package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserLifetime bounds one test's use of the browser, so that a stuck page
// fails the test instead of hanging the run.
const browserLifetime = 2 * time.Minute

// New returns a chromedp context for one test, with the browser already
// started. It fails the test when Chromium is missing and CI is set (there
// the browser tests must run), and skips it otherwise. Cleanup closes the
// browser.
func New(t testing.TB) context.Context {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests need Chromium: %v", err)
		}
		t.Skipf("skipping browser test: %v", err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI runners usually forbid the sandbox's namespaces
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		// The machine has no network but loopback: every background
		// service of the browser would otherwise retry against it.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions,AutofillServerCommunication,CertificateTransparencyComponentUpdater"),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	// The first Run starts the browser and binds it to ctx, which must have
	// no deadline of its own; the deadline goes on a child.
	if err := chromedp.Do(ctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	limited, cancelLimit := context.WithTimeout(ctx, browserLifetime)
	t.Cleanup(func() {
		cancelLimit()
		closeCtx, cancelClose := context.WithTimeout(ctx, 10*time.Second)
		defer cancelClose()
		if err := chromedp.Cancel(closeCtx); err != nil {
			t.Logf("close Chromium: %v", err)
		}
		cancelBrowser()
		cancelAlloc()
	})
	return limited
}

// chromiumPath finds Debian's Chromium, else whatever chromium is on PATH.
func chromiumPath() (string, error) {
	const debian = "/usr/bin/chromium"
	if info, err := os.Stat(debian); err == nil && !info.IsDir() {
		return debian, nil
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		return "", fmt.Errorf("no %s and no chromium on PATH", debian)
	}
	return path, nil
}

// Screenshot saves a full-page PNG of the current page to dir/name.png,
// logs its path for a person to find and returns it. The directory is
// $RADIOGRAM_ARTIFACTS when set, else the calling package's
// testdata/artifacts, which is not committed.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir := os.Getenv("RADIOGRAM_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create artifacts directory: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// Serve serves h on loopback for the browser until the test ends.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}
