package thumbs

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"kioskwall/rfb"
)

// scene fills a buffer with blocks, a gradient and noise.
func scene(w, h int, pf rfb.PixelFormat, seed uint64) *rfb.Buffer {
	b := rfb.NewBuffer(w, h, pf)
	rng := rand.New(rand.NewPCG(seed, 1))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			switch {
			case y < h/3:
				b.SetRGB(x, y, uint8(x*255/w), uint8(y*255/h), 128)
			case x < w/2:
				b.SetRGB(x, y, uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)))
			default:
				b.SetRGB(x, y, 20, 90, 200)
			}
		}
	}
	return b
}

// reference computes the box-filtered thumbnail the slow, obvious way.
func reference(src *rfb.Buffer, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for my := 0; my < h; my++ {
		for mx := 0; mx < w; mx++ {
			var sum [3]float64
			n := 0.0
			for sy := my * src.Height / h; sy < max((my+1)*src.Height/h, my*src.Height/h+1); sy++ {
				for sx := mx * src.Width / w; sx < max((mx+1)*src.Width/w, mx*src.Width/w+1); sx++ {
					r, g, b := src.RGBAt(sx, sy)
					sum[0] += float64(r)
					sum[1] += float64(g)
					sum[2] += float64(b)
					n++
				}
			}
			o := img.PixOffset(mx, my)
			for c := 0; c < 3; c++ {
				img.Pix[o+c] = uint8(math.Round(sum[c] / n))
			}
			img.Pix[o+3] = 0xff
		}
	}
	return img
}

func maxDiff(a, b *image.RGBA) int {
	d := 0
	for i := range a.Pix {
		d = max(d, absInt(int(a.Pix[i])-int(b.Pix[i])))
	}
	return d
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestApplyMatchesReference(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		pf   rfb.PixelFormat
		want image.Point // master size with DefaultRenditions
	}{
		{"1080p 32bpp", 1920, 1080, rfb.Format32, image.Pt(640, 360)},
		{"1080p 8bpp", 1920, 1080, rfb.Format8, image.Pt(640, 360)},
		{"5:4 16bpp", 1280, 1024, rfb.Format16, image.Pt(450, 360)},
		{"odd size", 1023, 767, rfb.Format32, image.Pt(480, 360)},
		{"smaller than the thumbnail", 300, 200, rfb.Format32, image.Pt(300, 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := scene(tt.w, tt.h, tt.pf, 1)
			th := New()
			th.Apply(src, []image.Rectangle{src.Bounds()})
			m := th.Master()
			if m.Rect.Size() != tt.want {
				t.Fatalf("master %v, want %v", m.Rect.Size(), tt.want)
			}
			if d := maxDiff(m, reference(src, tt.want.X, tt.want.Y)); d > 1 {
				t.Errorf("master differs from the reference by %d levels", d)
			}
		})
	}
}

func TestOnlyChangedRegionsAreRedone(t *testing.T) {
	src := scene(1920, 1080, rfb.Format8, 2)
	th := New()
	th.Apply(src, []image.Rectangle{src.Bounds()})
	enc := NewEncoder()
	frames, err := th.Encode(enc)
	if err != nil || len(frames) != 2 {
		t.Fatalf("first encode: %d frames, %v", len(frames), err)
	}
	if frames, _ := th.Encode(enc); frames != nil {
		t.Fatal("encoded again although nothing changed")
	}

	// Same pixels reported as changed: no new picture.
	th.Apply(src, []image.Rectangle{image.Rect(0, 0, 500, 500)})
	if th.Changed() {
		t.Fatal("an update that changed no pixel made the picture change")
	}

	// A clock-sized change touches only its share of the master.
	before := bytes.Clone(th.Master().Pix)
	clock := image.Rect(1700, 20, 1880, 60)
	for y := clock.Min.Y; y < clock.Max.Y; y++ {
		for x := clock.Min.X; x < clock.Max.X; x++ {
			src.SetRGB(x, y, 255, 255, 255)
		}
	}
	th.Apply(src, []image.Rectangle{clock})
	if !th.Changed() {
		t.Fatal("the clock changed and the picture did not")
	}
	mclock := image.Rect(1700/3, 20/3, (1880+2)/3, (60+2)/3) // footprints that meet the clock
	m := th.Master()
	for y := 0; y < m.Rect.Dy(); y++ {
		for x := 0; x < m.Rect.Dx(); x++ {
			o := m.PixOffset(x, y)
			if !image.Pt(x, y).In(mclock) && !bytes.Equal(before[o:o+4], m.Pix[o:o+4]) {
				t.Fatalf("master pixel (%d,%d) outside the clock changed", x, y)
			}
		}
	}
	if d := maxDiff(m, reference(src, 640, 360)); d > 1 {
		t.Errorf("after a partial update the master differs from the reference by %d", d)
	}
	frames, err = th.Encode(enc)
	if err != nil || len(frames) != 2 || frames[0].Seq != 2 {
		t.Fatalf("second encode: %+v, %v", frames, err)
	}
}

func TestFramesDecodeAtTheirSize(t *testing.T) {
	src := scene(1920, 1080, rfb.Format32, 3)
	th := New()
	th.Apply(src, []image.Rectangle{src.Bounds()})
	frames, err := th.Encode(NewEncoder())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		img, err := jpeg.Decode(bytes.NewReader(f.JPEG))
		if err != nil {
			t.Fatalf("%s: %v", f.Rendition, err)
		}
		if img.Bounds().Dx() != f.Width || img.Bounds().Dy() != f.Height {
			t.Errorf("%s: JPEG is %v, frame says %dx%d", f.Rendition, img.Bounds(), f.Width, f.Height)
		}
		// The flat blue block must survive as blue.
		r, g, b, _ := img.At(f.Width*3/4, f.Height*3/4).RGBA()
		if absInt(int(r>>8)-20) > 12 || absInt(int(g>>8)-90) > 12 || absInt(int(b>>8)-200) > 12 {
			t.Errorf("%s: flat area decoded as %d,%d,%d, want about 20,90,200", f.Rendition, r>>8, g>>8, b>>8)
		}
	}
	if frames[0].Width != 320 || frames[1].Width != 640 {
		t.Errorf("renditions %dx%d and %dx%d", frames[0].Width, frames[0].Height, frames[1].Width, frames[1].Height)
	}
}

func TestResizeStartsOver(t *testing.T) {
	th := New()
	a := scene(1920, 1080, rfb.Format32, 4)
	th.Apply(a, []image.Rectangle{a.Bounds()})
	b := scene(1280, 1024, rfb.Format32, 4)
	th.Apply(b, nil) // a resize redoes everything even without rectangles
	if th.Master().Rect.Size() != image.Pt(450, 360) {
		t.Fatalf("master %v after resize", th.Master().Rect.Size())
	}
	if d := maxDiff(th.Master(), reference(b, 450, 360)); d > 1 {
		t.Errorf("after resize the master differs from the reference by %d", d)
	}
}

func TestFit(t *testing.T) {
	r := Rendition{Width: 320, Height: 180}
	for _, tt := range []struct{ sw, sh, w, h int }{
		{1920, 1080, 320, 180}, {1280, 1024, 225, 180}, {1080, 1920, 101, 180}, {100, 50, 100, 50}, {3840, 2160, 320, 180},
	} {
		if w, h := r.fit(tt.sw, tt.sh); w != tt.w || h != tt.h {
			t.Errorf("fit(%d,%d) = %dx%d, want %dx%d", tt.sw, tt.sh, w, h, tt.w, tt.h)
		}
	}
}

// An unwatched rendition is not encoded, and keeps its change for later.
func TestEncodeNamedRenditionsOnly(t *testing.T) {
	src := scene(1920, 1080, rfb.Format8, 7)
	th := New()
	th.Apply(src, []image.Rectangle{src.Bounds()})
	enc := NewEncoder()
	frames, err := th.Encode(enc, "small")
	if err != nil || len(frames) != 1 || frames[0].Rendition != "small" {
		t.Fatalf("Encode(small) = %+v, %v", frames, err)
	}
	if th.Changed("small") || !th.Changed("large") || !th.Changed() {
		t.Fatalf("after encoding small: small changed %v, large changed %v", th.Changed("small"), th.Changed("large"))
	}
	frames, err = th.Encode(enc)
	if err != nil || len(frames) != 1 || frames[0].Rendition != "large" || frames[0].Seq != 2 {
		t.Fatalf("Encode() = %+v, %v; want the large rendition alone, seq 2", frames, err)
	}
	if frames, _ := th.Encode(enc); frames != nil {
		t.Fatal("encoded again although nothing changed")
	}
}

// Every rendition is the box filter of the screen at its own size, also at
// 32 bpp, where pixels go through the format instead of the 8 bpp table.
func TestEveryRenditionMatchesReference(t *testing.T) {
	for _, pf := range []rfb.PixelFormat{rfb.Format8, rfb.Format16, rfb.Format32} {
		src := scene(1280, 1024, pf, 8)
		th := New()
		th.Apply(src, []image.Rectangle{src.Bounds()})
		for _, p := range th.pics {
			img := p.render(image.NewRGBA(p.rect), 0, p.rect.Dy())
			if d := maxDiff(img, reference(src, p.rect.Dx(), p.rect.Dy())); d > 1 {
				t.Errorf("%v %s: differs from the reference by %d", pf, p.Name, d)
			}
		}
	}
}

func BenchmarkApplyFullFrame8bpp(b *testing.B) {
	src := scene(1920, 1080, rfb.Format8, 5)
	th := New()
	b.SetBytes(int64(len(src.Pix)))
	for b.Loop() {
		th.Apply(src, []image.Rectangle{src.Bounds()})
	}
}

func BenchmarkApplyFullFrame16bpp(b *testing.B) {
	src := scene(1920, 1080, rfb.Format16, 5)
	th := New()
	b.SetBytes(int64(len(src.Pix)))
	for b.Loop() {
		th.Apply(src, []image.Rectangle{src.Bounds()})
	}
}

func BenchmarkEncode(b *testing.B) {
	src := scene(1920, 1080, rfb.Format32, 6)
	th := New()
	th.Apply(src, []image.Rectangle{src.Bounds()})
	enc := NewEncoder()
	for b.Loop() {
		for _, p := range th.pics { // encode both renditions every time
			p.dirty = p.rect
		}
		if _, err := th.Encode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// The reciprocals of render divide exactly: every weight a block can have,
// every rounded sum of byte values it can hold.
func TestReciprocalDividesExactly(t *testing.T) {
	for _, n := range []uint32{1, 2, 3, 4, 5, 6, 7, 9, 12, 16, 25, 36, 49, 100, 255, 1000, 4095, 65535} {
		m := reciprocal(n)
		for x := uint64(0); x < 256*uint64(n); x += 1 + uint64(n)/64 {
			if got := x * m >> reciprocalShift; got != x/uint64(n) {
				t.Fatalf("%d / %d by reciprocal: %d, want %d", x, n, got, x/uint64(n))
			}
		}
		if x := 256*uint64(n) - 1; x*m>>reciprocalShift != x/uint64(n) {
			t.Fatalf("%d / %d by reciprocal: wrong at the top of the range", x, n)
		}
	}
}

func BenchmarkRenderFromHalf(b *testing.B) {
	src := scene(1920, 1080, rfb.Format8, 5)
	th := New()
	th.Apply(src, []image.Rectangle{src.Bounds()})
	var p *picture
	for _, q := range th.pics {
		if q.half != nil {
			p = q
		}
	}
	dst := image.NewRGBA(p.rect)
	b.SetBytes(int64(4 * p.rect.Dx() * p.rect.Dy()))
	for b.Loop() {
		p.render(dst, 0, p.rect.Dy())
	}
}

// Footprints of any size come out right: packed sums are flushed before
// they carry (a 300x300 footprint is more than packLimit pixels), and a
// footprint of 65536 pixels or more is divided without reciprocals.
func TestHugeFootprints(t *testing.T) {
	for _, tt := range []struct {
		pf   rfb.PixelFormat
		w, h int
		r    Rendition
	}{
		{rfb.Format8, 2400, 2400, Rendition{Name: "tiny", Width: 8, Height: 8, Quality: 50}},
		{rfb.Format16, 2000, 1000, Rendition{Name: "tiny", Width: 20, Height: 10, Quality: 50}},
		{rfb.Format32, 2000, 1000, Rendition{Name: "tiny", Width: 20, Height: 10, Quality: 50}},
	} {
		src := scene(tt.w, tt.h, tt.pf, 3)
		th := New(tt.r)
		th.Apply(src, []image.Rectangle{src.Bounds()})
		m := th.Master()
		if d := maxDiff(m, reference(src, m.Rect.Dx(), m.Rect.Dy())); d > 1 {
			t.Errorf("%v %dx%d to %v: differs from the reference by %d levels", tt.pf, tt.w, tt.h, m.Rect.Size(), d)
		}
	}
}

// Screens whose footprints are two or three columns wide throughout take
// the 8 bpp fast paths; partial rectangles of them too.
func TestUniformFootprints(t *testing.T) {
	for _, size := range []image.Point{{1280, 720}, {1920, 1080}} {
		src := scene(size.X, size.Y, rfb.Format8, 4)
		th := New()
		th.Apply(src, []image.Rectangle{src.Bounds()})
		for i, r := range []image.Rectangle{image.Rect(5, 7, 300, 90), image.Rect(1000, 500, 1280, 720)} {
			src.FillRect(r, []byte{byte(40 + i)})
			th.Apply(src, []image.Rectangle{r})
		}
		m := th.Master()
		if d := maxDiff(m, reference(src, m.Rect.Dx(), m.Rect.Dy())); d > 1 {
			t.Errorf("%v: differs from the reference by %d levels", size, d)
		}
	}
}

// Encoding only the bands that changed gives, byte for byte, the JPEGs of
// a thumbnailer that saw the final screen at once: the dirty areas and the
// rows made from half cover every change.
func TestPartialEncodingsMatchAFreshOne(t *testing.T) {
	src := scene(1920, 1080, rfb.Format8, 6)
	th := New()
	th.Apply(src, []image.Rectangle{src.Bounds()})
	e := NewEncoder()
	if _, err := th.Encode(e); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(6, 6))
	got := map[string][]byte{} // the latest JPEG of each rendition
	// Another kiosk shares the encoder, as kiosks share a worker: its
	// pictures fill the scratch between this one's encodings.
	other, otherSrc := New(), scene(1920, 1080, rfb.Format8, 99)
	encode := func(names ...string) {
		t.Helper()
		otherSrc.FillRect(image.Rect(0, 0, 1920, 1080), []byte{byte(rng.IntN(256))})
		other.Apply(otherSrc, []image.Rectangle{otherSrc.Bounds()})
		if _, err := other.Encode(e); err != nil {
			t.Fatal(err)
		}
		frames, err := th.Encode(e, names...)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			got[f.Rendition] = f.JPEG
		}
	}
	for i := range 40 {
		x, y := rng.IntN(1900), rng.IntN(1060)
		r := image.Rect(x, y, x+1+rng.IntN(300), y+1+rng.IntN(200)).Intersect(src.Bounds())
		src.FillRect(r, []byte{byte(rng.IntN(256))})
		th.Apply(src, []image.Rectangle{r})
		if i%3 == 0 {
			encode() // both, so the large one is encoded in between too
		} else {
			encode("small")
		}
	}
	encode() // whatever is still owed
	fresh := New()
	fresh.Apply(src, []image.Rectangle{src.Bounds()})
	want, err := fresh.Encode(NewEncoder())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range want {
		if g := got[f.Rendition]; !bytes.Equal(g, f.JPEG) {
			t.Errorf("%s: the JPEG after partial encodings differs from a fresh encoding of the same screen", f.Rendition)
		}
	}
}
