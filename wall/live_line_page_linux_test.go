package wall

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskwall/rfb"
	"kioskwall/rfb/sim"
)

// liveProbeJS is the page-side stopwatch; its header says what it measures.
//
//go:embed testdata/live_line_probe.js
var liveProbeJS string

// Sampling of a glyph's pixels: a pixel is the glyph's when typing it moved
// the pixel's colour by more than glyphContrast on some channel and it keeps
// that colour to the end of the line; the page accepts a colour within
// glyphTolerance (the live view may send JPEG), and a glyph as shown when
// glyphNeed of its samples are.
const (
	glyphContrast  = 96
	glyphTolerance = 40
	glyphNeed      = 0.9
	glyphSamples   = 256 // at most, per glyph
	glyphMinPixels = 16
)

// Keysyms the calibration types through the session.
const (
	keysymEscape    = 0xff1b
	keysymBackSpace = 0xff08
)

// fieldGlyphs is what the page looks for: the patient ID field on the
// kiosk's screen, and for each position of a typed line, sample pixels of
// the glyph typed there (flat runs of x, y, r, g, b, r0, g0, b0 relative to
// the field; r0..b0 are the empty field's colour).
type fieldGlyphs struct {
	Rect  image.Rectangle
	Steps [][]int
}

// calibrateField learns what typing line looks like on kiosk k: it types the
// line through kioskwall's session s, one key at a time, and reads the
// kiosk's own framebuffer after each key (no line, no codec: the pixels the
// kiosk drew), then clears the field with Escape. The kiosk's field must be
// empty and stay where it is (an idle kiosk's home page).
func calibrateField(t *testing.T, s *Session, k *sim.Kiosk, line string) fieldGlyphs {
	t.Helper()
	text, rect := k.Field()
	if text != "" {
		t.Fatalf("calibration needs an empty patient ID field on %s; it holds %q", k.ID(), text)
	}
	read := func() *image.RGBA {
		var img *image.RGBA
		k.Desktop().Draw(func(b *rfb.Buffer) []image.Rectangle {
			img = b.RGBA(rect)
			return nil
		})
		return img
	}
	pics := []*image.RGBA{read()}
	for j := 1; j <= len(line); j++ {
		sessionKey(t, s, uint32(line[j-1]))
		waitFor(t, 10*time.Second, fmt.Sprintf("%q in %s's field", line[:j], k.ID()), func() bool { f, _ := k.Field(); return f == line[:j] })
		pics = append(pics, read())
	}
	sessionKey(t, s, keysymEscape)
	waitFor(t, 10*time.Second, "the field cleared", func() bool { f, _ := k.Field(); return f == "" })

	g := fieldGlyphs{Rect: rect}
	last := pics[len(line)]
	for j := 1; j <= len(line); j++ {
		before, after := pics[j-1], pics[j]
		glyph := func(x, y int) bool {
			p := image.Pt(x, y).Add(rect.Min)
			if !p.In(rect) {
				return false
			}
			i := after.PixOffset(p.X, p.Y)
			return channelDistance(before.Pix[i:i+3], after.Pix[i:i+3]) > glyphContrast &&
				channelDistance(after.Pix[i:i+3], last.Pix[i:i+3]) == 0
		}
		// Only pixels inside a glyph's stroke: a codec blurs its edges.
		var pts [][2]int
		for y := range rect.Dy() {
			for x := range rect.Dx() {
				if glyph(x, y) && glyph(x-1, y) && glyph(x+1, y) && glyph(x, y-1) && glyph(x, y+1) {
					pts = append(pts, [2]int{x, y})
				}
			}
		}
		if len(pts) < glyphMinPixels {
			t.Fatalf("typing %q at position %d changed only %d inner pixels of %s's field; the page cannot time its echo", line[j-1], j, len(pts), k.ID())
		}
		every := (len(pts) + glyphSamples - 1) / glyphSamples
		var step []int
		for n := 0; n < len(pts); n += every {
			x, y := pts[n][0], pts[n][1]
			i := after.PixOffset(x+rect.Min.X, y+rect.Min.Y)
			e := pics[0].Pix[i : i+3]
			step = append(step, x, y, int(after.Pix[i]), int(after.Pix[i+1]), int(after.Pix[i+2]), int(e[0]), int(e[1]), int(e[2]))
		}
		g.Steps = append(g.Steps, step)
	}
	return g
}

// channelDistance is the largest difference of two RGB pixels' channels.
func channelDistance(a, b []uint8) int {
	d := 0
	for c := range 3 {
		d = max(d, int(a[c])-int(b[c]), int(b[c])-int(a[c]))
	}
	return d
}

// sessionKey presses and releases keysym on the kiosk through s.
func sessionKey(t *testing.T, s *Session, keysym uint32) {
	t.Helper()
	for _, down := range []bool{true, false} {
		if err := s.Input(rfb.InputEvent{Kind: rfb.InputKey, Down: down, Key: keysym}); err != nil {
			t.Fatalf("typing keysym %#x on the kiosk: %v", keysym, err)
		}
	}
}

// installProbe starts the stopwatch in the live page ctx shows.
func installProbe(t *testing.T, ctx context.Context, g fieldGlyphs) {
	t.Helper()
	cfg, err := json.Marshal(map[string]any{
		"x": g.Rect.Min.X, "y": g.Rect.Min.Y, "w": g.Rect.Dx(), "h": g.Rect.Dy(),
		"tol": glyphTolerance, "need": glyphNeed, "steps": g.Steps,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("("+liveProbeJS+")("+string(cfg)+")", chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("installing the page's stopwatch: %v", err)
	}
}

// probeKey is one typed key as the page timed it, in ms of the page's clock
// (performance.now()); Shown is 0 while its glyph has not appeared.
type probeKey struct {
	Ch    string
	Pos   int
	Sent  float64
	Shown float64
}

// probeResults is what the page measured.
type probeResults struct {
	Keys    []probeKey
	Updates []float64 // when each pixel-carrying update was finished
	Frames  int       // animation frames the page ran
	Armed   int       // keys armed whose keydown never came
	Pending int       // keys typed whose glyph has not appeared
	Now     float64
}

func readProbe(t *testing.T, ctx context.Context) probeResults {
	t.Helper()
	return liveEval[probeResults](t, ctx, `(() => {
	  const p = window.__liveProbe;
	  return {keys: p.keys, updates: p.updates, frames: p.frames, armed: p.armed.length, pending: p.pending.length, now: performance.now()};
	})()`)
}

// pageNow is the page's clock, in ms.
func pageNow(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	return liveEval[float64](t, ctx, `performance.now()`)
}

// typeMeasured arms the page for the glyph of ch at line position pos and
// types ch into the focused noVNC canvas, as a real key press.
func typeMeasured(t *testing.T, ctx context.Context, ch byte, pos int) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.__liveProbe.arm(%q, %d)`, string(ch), pos)), chromedp.KeyEvent(string(ch))); err != nil {
		t.Fatalf("typing %q: %v", ch, err)
	}
}
