package wall

import (
	"context"
	"fmt"
	"image"
	"io/fs"
	"math"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskwall/internal/browser"
	"kioskwall/rfb"
	"kioskwall/rfb/sim"
	"kioskwall/static"
)

// liveGridX x liveGridY cells summarise a picture for comparison: the
// browser scales and JPEG-encodes nothing here, but comparing mean colours
// of cells keeps the check about what the screen shows, not about codecs.
const liveGridX, liveGridY = 16, 10

// liveCanvasGrid reads noVNC's canvas in the page: its size and the mean
// RGB of each cell.
const liveCanvasGrid = `(() => {
  const c = document.querySelector("#screen canvas");
  if (!c || c.width < 2) return {w: 0, h: 0, cells: []};
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  const GX = %d, GY = %d, sums = Array.from({length: GX * GY}, () => [0, 0, 0, 0]);
  for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
    const i = (y * c.width + x) * 4, s = sums[Math.floor(y * GY / c.height) * GX + Math.floor(x * GX / c.width)];
    s[0] += d[i]; s[1] += d[i + 1]; s[2] += d[i + 2]; s[3]++;
  }
  return {w: c.width, h: c.height, cells: sums.map(s => [s[0] / s[3], s[1] / s[3], s[2] / s[3]])};
})()`

type liveCanvas struct {
	W, H  int
	Cells [][3]float64
}

// liveDesktopGrid is the same summary of a desktop, computed in Go.
func liveDesktopGrid(d *rfb.Desktop) liveCanvas {
	img := liveDesktopRGBA(d)
	b := img.Bounds()
	sums := make([][4]float64, liveGridX*liveGridY)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			i := img.PixOffset(x, y)
			s := &sums[(y*liveGridY/b.Dy())*liveGridX+x*liveGridX/b.Dx()]
			s[0] += float64(img.Pix[i])
			s[1] += float64(img.Pix[i+1])
			s[2] += float64(img.Pix[i+2])
			s[3]++
		}
	}
	out := liveCanvas{W: b.Dx(), H: b.Dy()}
	for _, s := range sums {
		out.Cells = append(out.Cells, [3]float64{s[0] / s[3], s[1] / s[3], s[2] / s[3]})
	}
	return out
}

// worstCell is the largest mean-channel difference between two summaries.
func (a liveCanvas) worstCell(b liveCanvas) float64 {
	if len(a.Cells) != len(b.Cells) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range a.Cells {
		for c := range 3 {
			worst = max(worst, math.Abs(a.Cells[i][c]-b.Cells[i][c]))
		}
	}
	return worst
}

// spread is the standard deviation of the cells' brightness: zero for a
// blank screen.
func (a liveCanvas) spread() float64 {
	var s, s2 float64
	for _, c := range a.Cells {
		l := (c[0] + c[1] + c[2]) / 3
		s += l
		s2 += l * l
	}
	n := float64(len(a.Cells))
	if n == 0 {
		return 0
	}
	return math.Sqrt(max(0, s2/n-(s/n)*(s/n)))
}

// liveOpen opens a kiosk's live page and waits until noVNC is connected.
// A page whose scripts failed to load is loaded again, at most twice, with
// a note in the log: a network change anywhere on the host (another test
// adding an interface) makes Chromium fail what it is loading at that
// moment (ERR_NETWORK_CHANGED), and a page without its modules never
// connects. A page that loaded and still does not connect fails the test.
func liveOpen(t *testing.T, ctx context.Context, url string, d time.Duration) {
	t.Helper()
	const connected = `document.body.dataset.rfb === "connected"`
	for attempt := 1; ; attempt++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithTimeout(ctx, d)
		err := chromedp.Do(pctx, chromedp.Poll[chromedp.Void](connected, chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		loaded := liveEval[bool](t, ctx, `document.body.dataset.rfb !== "starting"`) // the markup's own value until kiosk.js runs
		if loaded || attempt == 3 {
			t.Fatalf("waiting %v for noVNC to connect on %s (%s), attempt %d: %v", d, url, connected, attempt, err)
		}
		t.Logf("the live page's scripts did not load (see the browser console above); loading it again")
	}
}

func livePoll(t *testing.T, ctx context.Context, what, expr string, d time.Duration) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(pctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

func liveEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// liveWaitCanvas waits until the page's canvas shows kiosk k's screen.
func liveWaitCanvas(t *testing.T, ctx context.Context, k *sim.Kiosk) liveCanvas {
	t.Helper()
	expr := fmt.Sprintf(liveCanvasGrid, liveGridX, liveGridY)
	var got liveCanvas
	var worst float64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got = liveEval[liveCanvas](t, ctx, expr)
		want := liveDesktopGrid(k.Desktop())
		worst = got.worstCell(want)
		if got.W == want.W && got.H == want.H && worst <= 6 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("canvas %dx%d differs from %s's %dx%d screen by up to %.1f per channel in a cell", got.W, got.H, k.ID(), want.W, want.H, worst)
		}
	}
}

// TestLivePageInChromium opens the live page in a real headless Chromium
// against the whole server and a synthetic kiosk: noVNC shows the kiosk's
// screen; view-only, typing and clicking reach nothing; with control they
// reach the kiosk; the kiosk keeps one connection from kioskwall throughout;
// an unreachable kiosk's page says so.
func TestLivePageInChromium(t *testing.T) {
	liveRequireNoVNC(t)
	ctx := browser.Start(t, 1280, 900)
	sf, err := sim.Start(t.Context(), sim.Config{Kiosks: 2, BaseAddr: "127.0.71.1", Size: image.Pt(1024, 640), Seed: 3,
		VirtualTime: true, Behaviours: []sim.Behaviour{sim.Idle, sim.Refusing}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sf.Close() })
	srv, err := NewServer(ServerOptions{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: liveLogger(t),
		Fleet: FleetOptions{Ramp: time.Millisecond, Backoff: Backoff{Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond, Auth: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	var targets []Target
	for _, k := range sf.Kiosks() {
		targets = append(targets, Target{ID: k.ID(), Name: k.Name(), Site: k.Site(), Addr: k.Addr()})
	}
	srv.Fleet().Sync(targets)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	k, down := sf.Kiosks()[0], sf.Kiosks()[1]
	oneConnection := func(when string) {
		t.Helper()
		if n := k.Connections(); n != 1 {
			t.Errorf("%s: the kiosk serves %d connections; want kioskwall's one", when, n)
		}
	}
	waitFor(t, 10*time.Second, "the kiosk online", func() bool { return k.Connections() == 1 })

	liveOpen(t, ctx, hs.URL+"/kiosk/"+k.ID(), 20*time.Second)
	livePoll(t, ctx, "the kiosk's name", fmt.Sprintf(`document.getElementById("name").textContent === %q`, k.Name()), 10*time.Second)
	got := liveWaitCanvas(t, ctx, k)
	if s := got.spread(); s < 10 {
		t.Errorf("canvas brightness spread %.1f: a blank screen, not a kiosk's", s)
	}
	oneConnection("with the page open")
	if c := liveEval[string](t, ctx, `document.body.dataset.control`); c != "false" {
		t.Errorf("page opens with control %q; want view-only", c)
	}

	// Where a kiosk point is on the page, through noVNC's fit-to-window scaling.
	at := func(p image.Point) (float64, float64) {
		r := liveEval[struct{ X, Y, W, H, CW, CH float64 }](t, ctx, `(() => {
		  const c = document.querySelector("#screen canvas"), r = c.getBoundingClientRect();
		  return {x: r.left, y: r.top, w: r.width, h: r.height, cw: c.width, ch: c.height};
		})()`)
		return r.X + (float64(p.X)+0.5)*r.W/r.CW, r.Y + (float64(p.Y)+0.5)*r.H/r.CH
	}
	b := k.Buttons()[0]
	centre := b.Rect.Min.Add(b.Rect.Size().Div(2))
	bx, by := at(centre)

	// View-only: a click and typing go nowhere.
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(bx, by), chromedp.KeyEvent("99")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if in := k.Inputs(); len(in) != 0 {
		t.Fatalf("view-only page: the kiosk recorded %+v; want nothing", in)
	}

	// Take control, click the button and type into the field.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("control"))); err != nil {
		t.Fatal(err)
	}
	livePoll(t, ctx, "control", `document.body.dataset.control === "true"`, 10*time.Second)
	livePoll(t, ctx, "the page to say so", `document.getElementById("controller").textContent === "you have control"`, 10*time.Second)
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(bx, by), chromedp.KeyEvent("42")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the typed text on the kiosk", func() bool { f, _ := k.Field(); return f == "42" })
	in := k.Inputs()
	press := slices.IndexFunc(in, func(i sim.Input) bool { return i.Kind == "pointer" && i.Buttons&1 != 0 })
	if press < 0 {
		t.Fatalf("the kiosk recorded no button press: %+v", in)
	}
	if p := image.Pt(in[press].X, in[press].Y); !p.In(b.Rect) {
		t.Errorf("click reached the kiosk at %v; want inside button %q at %v", p, b.Label, b.Rect)
	}
	var keys []rune
	for _, i := range in {
		if i.Kind == "key" && i.Down {
			keys = append(keys, rune(i.Key))
		}
	}
	if string(keys) != "42" {
		t.Errorf("key presses on the kiosk %q; want \"42\" and nothing from view-only typing", string(keys))
	}
	liveWaitCanvas(t, ctx, k) // the typed digits show up in the browser too

	// Ctrl-Alt-Del.
	n := len(k.Inputs())
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("cad"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "Ctrl-Alt-Del on the kiosk", func() bool { return len(k.Inputs()) >= n+6 })
	var cad []string
	for _, i := range k.Inputs()[n:] {
		cad = append(cad, fmt.Sprintf("%x:%v", i.Key, i.Down))
	}
	if want := []string{"ffe3:true", "ffe9:true", "ffff:true", "ffff:false", "ffe9:false", "ffe3:false"}; !slices.Equal(cad, want) {
		t.Errorf("Ctrl-Alt-Del reached the kiosk as %v; want %v", cad, want)
	}

	// Release control: input stops again.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("control"))); err != nil {
		t.Fatal(err)
	}
	livePoll(t, ctx, "view-only again", `document.body.dataset.control === "false"`, 10*time.Second)
	n = len(k.Inputs())
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(bx, by), chromedp.KeyEvent("7")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if extra := k.Inputs()[n:]; len(extra) != 0 {
		t.Errorf("after control was released the kiosk recorded %+v", extra)
	}
	oneConnection("after the control session")

	// An unreachable kiosk: the page opens and says why the screen is empty.
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/kiosk/"+down.ID())); err != nil {
		t.Fatal(err)
	}
	livePoll(t, ctx, "the unreachable message", `document.getElementById("notice").textContent.startsWith("kiosk unreachable: ")`, 20*time.Second)
	notice := liveEval[string](t, ctx, `document.getElementById("notice").textContent`)
	if !strings.Contains(notice, "refused") {
		t.Errorf("notice %q does not say the connection was refused", notice)
	}
	oneConnection("at the end")
}

// liveRequireNoVNC skips the test (fails it under
// KIOSKWALL_REQUIRE_INTEGRATION=1) when this build embeds no noVNC.
func liveRequireNoVNC(t *testing.T) {
	t.Helper()
	if _, err := fs.Stat(static.FS(), "vendor/novnc/core/rfb.js"); err == nil {
		return
	}
	msg := "this build embeds no noVNC; run scripts/vendor-novnc first"
	if os.Getenv("KIOSKWALL_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
