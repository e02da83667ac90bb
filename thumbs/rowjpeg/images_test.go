package rowjpeg

import (
	"context"
	"image"
	"math/rand/v2"
	"testing"
	"time"

	"kioskwall/rfb"
	"kioskwall/rfb/sim"
)

// The pictures the tests and benchmarks encode.

// testPictures are the thumbnails of the quality tests and the benchmarks: a
// kiosk screen of 1920x1080 in the two renditions' sizes, photo-like
// content, and flat colours.
func testPictures(tb testing.TB) []struct {
	name string
	img  *image.RGBA
} {
	kiosk := kioskScreens(tb, sim.Interactive, sim.DefaultSize, 1, 640, 360, time.Second)[0]
	return []struct {
		name string
		img  *image.RGBA
	}{
		{"kiosk320x180", boxScale(kiosk, 320, 180)},
		{"kiosk640x360", kiosk},
		{"photo320x180", photo(320, 180, 1)},
		{"photo640x360", photo(640, 360, 2)},
		{"flat320x180", flat(320, 180, 3)},
		{"flat637x357", flat(637, 357, 4)}, // edge MCUs both ways
	}
}

// kioskScreens returns n successive thumbnails (w x h, box-filtered as
// thumbs makes them) of one synthetic kiosk of rfb/sim with a screen of
// screen pixels, in virtual time, step apart: what the encoder is for. An
// interactive kiosk changes a field, a button or its page now and then, and
// its clock every second.
func kioskScreens(tb testing.TB, behaviour sim.Behaviour, screen image.Point, n, w, h int, step time.Duration) []*image.RGBA {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := sim.Start(ctx, sim.Config{Kiosks: 1, BaseAddr: "127.0.9.201", Seed: 7, VirtualTime: true, Size: screen,
		Behaviours: []sim.Behaviour{behaviour}, Start: time.Date(2026, 12, 3, 9, 59, 30, 0, time.UTC)})
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []*image.RGBA
	for range n {
		f.Kiosks()[0].Desktop().Draw(func(b *rfb.Buffer) []image.Rectangle {
			out = append(out, boxScale(b.RGBA(b.Bounds()), w, h))
			return nil
		})
		f.Advance(step)
	}
	return out
}

// boxScale averages src down to w x h, every destination pixel the mean of
// the source pixels it covers.
func boxScale(src *image.RGBA, w, h int) *image.RGBA {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		y0, y1 := y*sh/h, max((y+1)*sh/h, y*sh/h+1)
		for x := range w {
			x0, x1 := x*sw/w, max((x+1)*sw/w, x*sw/w+1)
			var sum [3]int
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					o := src.PixOffset(src.Rect.Min.X+sx, src.Rect.Min.Y+sy)
					for c := range sum {
						sum[c] += int(src.Pix[o+c])
					}
				}
			}
			n := (y1 - y0) * (x1 - x0)
			o := dst.PixOffset(x, y)
			for c := range sum {
				dst.Pix[o+c] = uint8((sum[c] + n/2) / n)
			}
			dst.Pix[o+3] = 0xff
		}
	}
	return dst
}

// photo draws photo-like content: smooth gradients and soft discs under
// noise of a few levels, with a noisier band.
func photo(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	type disc struct{ x, y, r, c0, c1, c2 float64 }
	discs := make([]disc, 6)
	for i := range discs {
		discs[i] = disc{rng.Float64() * float64(w), rng.Float64() * float64(h), 10 + rng.Float64()*float64(h)/3,
			rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
	}
	for y := range h {
		for x := range w {
			c := [3]float64{255 * float64(x) / float64(w), 255 * float64(y) / float64(h), 128 + 100*float64(x-y)/float64(w+h)}
			for _, d := range discs {
				dx, dy := float64(x)-d.x, float64(y)-d.y
				if a := 1 - (dx*dx+dy*dy)/(d.r*d.r); a > 0 {
					c[0], c[1], c[2] = c[0]+(d.c0-c[0])*a, c[1]+(d.c1-c[1])*a, c[2]+(d.c2-c[2])*a
				}
			}
			amp := 6.0
			if y > h/2 && y < h/2+h/8 {
				amp = 40
			}
			o := img.PixOffset(x, y)
			for k := range c {
				img.Pix[o+k] = clampByte(c[k] + (rng.Float64()-0.5)*amp)
			}
			img.Pix[o+3] = 0xff
		}
	}
	return img
}

// flat draws a few rectangles of solid colour on a solid background, like a
// blank kiosk page or a colour slide.
func flat(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 3))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, img.Rect, [3]uint8{240, 244, 248})
	for range 5 {
		x0, y0 := rng.IntN(w), rng.IntN(h)
		r := image.Rect(x0, y0, x0+1+rng.IntN(w/2), y0+1+rng.IntN(h/2))
		fillRect(img, r, [3]uint8{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))})
	}
	return img
}

func fillRect(img *image.RGBA, r image.Rectangle, c [3]uint8) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = c[0], c[1], c[2], 0xff
		}
	}
}

func clampByte(v float64) uint8 {
	return uint8(min(max(v+0.5, 0), 255))
}

// diffRect returns the smallest rectangle holding every pixel where a and b
// (same bounds) differ in colour.
func diffRect(a, b *image.RGBA) image.Rectangle {
	var r image.Rectangle
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			i, j := a.PixOffset(x, y), b.PixOffset(x, y)
			if a.Pix[i] != b.Pix[j] || a.Pix[i+1] != b.Pix[j+1] || a.Pix[i+2] != b.Pix[j+2] {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}
