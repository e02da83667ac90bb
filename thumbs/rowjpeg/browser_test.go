package rowjpeg

import (
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskwall/internal/browser"
	"kioskwall/rfb/sim"
)

// browserPixels decodes a JPEG in the page, as the wall shows a tile (an
// <img> from a data: URL), draws it on a canvas and returns the canvas's
// RGBA pixels.
func browserPixels(t *testing.T, ctx context.Context, jpg []byte) *image.RGBA {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
  const img = new Image();
  img.src = "data:image/jpeg;base64,%s";
  await img.decode();
  const c = document.createElement("canvas");
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext("2d");
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = "";
  for (let i = 0; i < d.length; i += 8192) s += String.fromCharCode(...d.subarray(i, i + 8192));
  return {w: c.width, h: c.height, pix: btoa(s)};
})()`, base64.StdEncoding.EncodeToString(jpg))
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		W, H int
		Pix  []byte // base64 in JSON
	}](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("decoding in Chromium: %v", err)
	}
	if len(res.Pix) != 4*res.W*res.H {
		t.Fatalf("Chromium's canvas of %dx%d holds %d bytes", res.W, res.H, len(res.Pix))
	}
	return &image.RGBA{Pix: res.Pix, Stride: 4 * res.W, Rect: image.Rect(0, 0, res.W, res.H)}
}

// A real browser decodes what rowjpeg makes, whole and spliced, to the
// picture image/jpeg decodes from the same bytes: restart markers and
// spliced segments are read as T.81 says, not only by Go. Chromium from
// Debian's package, headless.
func TestBrowserDecodes(t *testing.T) {
	ctx := browser.Start(t, 800, 600)
	frames := kioskScreens(t, sim.Interactive, image.Pt(960, 540), 12, 320, 180, 2*time.Second)
	p, err := NewPicture(320, 180, 75)
	if err != nil {
		t.Fatal(err)
	}
	s := NewScratch()
	var outputs [][]byte
	for i, f := range frames {
		changed := f.Rect
		if i > 0 {
			changed = diffRect(frames[i-1], f)
		}
		out, err := p.Encode(nil, f, changed, s)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, out)
	}
	outputs = append(outputs, encodeFull(t, photo(640, 360, 9), 90), encodeFull(t, flat(637, 357, 2), 50))
	for i, jpg := range outputs {
		got := browserPixels(t, ctx, jpg)
		want := fancyRGBA(t, decode(t, jpg))
		if got.Rect.Size() != want.Bounds().Size() {
			t.Fatalf("output %d: Chromium decodes %v, image/jpeg %v", i, got.Rect.Size(), want.Bounds().Size())
		}
		maxd, sum := 0, 0
		for y := range got.Rect.Dy() {
			for x := range got.Rect.Dx() {
				o := got.PixOffset(x, y)
				for c := range 3 {
					d := absInt(int(got.Pix[o+c]) - int(want.Pix[o+c]))
					maxd, sum = max(maxd, d), sum+d
				}
			}
		}
		// Browsers' IDCTs and colour conversions differ from Go's by a level
		// or two; a lost or misplaced row would differ by tens.
		mean := float64(sum) / float64(3*got.Rect.Dx()*got.Rect.Dy())
		t.Logf("output %d (%d bytes): Chromium against image/jpeg: max difference %d levels, mean %.3f", i, len(jpg), maxd, mean)
		if maxd > 8 || mean > 1 {
			t.Errorf("output %d: Chromium's pixels differ from image/jpeg's by up to %d levels, %.3f on average; want at most 8 and 1", i, maxd, mean)
		}
	}
}

// fancyRGBA converts a decoded 4:2:0 picture to RGBA the way libjpeg's
// "fancy" upsampling does, as browsers decode: each chroma sample spread
// over its pixels by a triangle filter, 3/4 from the nearest sample and 1/4
// from the next, in both directions.
func fancyRGBA(t *testing.T, img image.Image) *image.RGBA {
	t.Helper()
	yc, ok := img.(*image.YCbCr)
	if !ok || yc.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		t.Fatalf("image/jpeg decoded a %T, want 4:2:0 YCbCr", img)
	}
	r := yc.Rect
	w, h := r.Dx(), r.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	sample := func(c []byte, x, y int) int {
		x, y = min(max(x, 0), cw-1), min(max(y, 0), ch-1)
		return int(c[y*yc.CStride+x])
	}
	up := func(c []byte, x, y int) uint8 {
		cx, cy := x/2, y/2
		ny := cy - 1 + 2*(y%2) // the next-nearest chroma row
		col := func(i int) int { return 3*sample(c, i, cy) + sample(c, i, ny) }
		this := col(cx)
		switch {
		case x%2 == 0 && cx == 0, x%2 == 1 && cx == cw-1:
			return uint8((4*this + 8 - x%2) >> 4)
		case x%2 == 0:
			return uint8((3*this + col(cx-1) + 8) >> 4)
		default:
			return uint8((3*this + col(cx+1) + 7) >> 4)
		}
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			yy := yc.Y[y*yc.YStride+x]
			cr, cg, cb := color.YCbCrToRGB(yy, up(yc.Cb, x, y), up(yc.Cr, x, y))
			o := out.PixOffset(x, y)
			out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = cr, cg, cb, 0xff
		}
	}
	return out
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
