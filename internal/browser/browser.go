// Package browser starts a real headless Chromium for kioskwall's
// integration tests: the pages are plain JavaScript run by the browser the
// operators use, so they are tested in it, not in a simulation of one.
package browser

import (
	"context"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"

	"kioskwall/internal/realvnc"
)

// Start launches Chromium (Debian's package `chromium`) with a fresh profile
// and a window of width x height, and returns a chromedp context for its
// first tab. The browser stops when the test ends. Console messages and
// uncaught exceptions of the pages go to the test log, so a failing page
// says why.
//
// Without Chromium the test is skipped, or fails under
// KIOSKWALL_REQUIRE_INTEGRATION=1 (see realvnc.Require).
func Start(t testing.TB, width, height int) context.Context {
	t.Helper()
	realvnc.Require(t, "chromium")
	path, _ := exec.LookPath("chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// A wall runs in a visible window: no throttled timers.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	logged := make(chan struct{})
	t.Cleanup(func() {
		cancelTab()
		<-logged // no logging after the test ends
		cancelAlloc()
	})
	// The first action starts the browser, bound to ctx (no timeout here).
	if err := chromedp.Do(ctx); err != nil {
		close(logged)
		t.Fatalf("starting chromium: %v", err)
	}
	console := chromedp.Console(ctx)
	go func() {
		defer close(logged)
		for m, err := range console {
			if err != nil {
				return
			}
			t.Logf("browser console: %s", m)
		}
	}()
	return ctx
}
