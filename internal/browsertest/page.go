package browsertest

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Run performs steps in the browser and fails the test at the first error.
func Run(t testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// Eval runs js in the page and decodes its result into a T.
func Eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// Text returns the rendered text of the first element css selects.
func Text(t testing.TB, ctx context.Context, css string, opts ...chromedp.QueryOption) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css), opts...))
	if err != nil {
		t.Fatalf("read %s: %v", css, err)
	}
	return s
}

// Overflow is how many pixels the page is wider than the window: above
// zero, a reader has to scroll sideways.
func Overflow(t testing.TB, ctx context.Context) int {
	t.Helper()
	return Eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`)
}

// FrameText returns the body text of the frame loaded from path. A
// sandboxed frame may run in a process of its own, and is then a target of
// its own; otherwise its document is part of the page's.
func FrameText(t testing.TB, ctx context.Context, path string) string {
	t.Helper()
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatalf("list targets: %v", err)
	}
	for _, info := range infos {
		if info.Type == "iframe" && strings.Contains(info.URL, path) {
			// Detach on cancel: closing an iframe target would close the tab.
			frameCtx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
			defer cancel()
			t.Logf("the frame runs in a process of its own: target %s", info.TargetID)
			return Text(t, frameCtx, "body")
		}
	}
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`iframe[src^="`+path+`"]`), chromedp.Populate(-1, true)))
	if err != nil || len(nodes) == 0 || nodes[0].ContentDocument == nil {
		t.Fatalf("no frame loaded from %s (%v)", path, err)
	}
	t.Log("the frame runs in the page's process")
	return Text(t, ctx, "body", chromedp.FromNode(nodes[0].ContentDocument))
}
