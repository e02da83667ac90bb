package rowjpeg

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
	"time"

	"kioskwall/rfb/sim"
)

// checkSpliced encodes frames in turn with one Picture, each with the rectangle
// that holds its change, and checks every output against a fresh Picture's
// full encoding of the same frame: the splicing must never show.
func checkSpliced(t *testing.T, frames []*image.RGBA, changed []image.Rectangle, quality int) {
	t.Helper()
	r := frames[0].Rect
	p, err := NewPicture(r.Dx(), r.Dy(), quality)
	if err != nil {
		t.Fatal(err)
	}
	s := NewScratch()
	var out []byte
	for i, f := range frames {
		if out, err = p.Encode(out[:0], f, changed[i], s); err != nil {
			t.Fatal(err)
		}
		if want := encodeFull(t, f, quality); !bytes.Equal(out, want) {
			t.Fatalf("frame %d (changed %v): spliced output (%d bytes) differs from a full encoding (%d bytes)", i, changed[i], len(out), len(want))
		}
	}
}

// Real kiosk screens: the clock ticks, fields fill, pages change.
func TestSplicedKioskScreensMatchFullEncoding(t *testing.T) {
	for _, tc := range []struct {
		behaviour sim.Behaviour
		w, h      int
	}{
		{sim.Interactive, 320, 180},
		{sim.Interactive, 640, 360},
		{sim.Carousel, 320, 180},
		{sim.Idle, 500, 281},
	} {
		t.Run(fmt.Sprintf("%v %dx%d", tc.behaviour, tc.w, tc.h), func(t *testing.T) {
			// A screen twice the thumbnail's size: quicker to scale than a
			// 1920x1080 one, and as real.
			frames := kioskScreens(t, tc.behaviour, image.Pt(2*tc.w, 2*tc.h), 40, tc.w, tc.h, 1500*time.Millisecond)
			changed := []image.Rectangle{frames[0].Rect}
			bands := 0
			for i := 1; i < len(frames); i++ {
				d := diffRect(frames[i-1], frames[i])
				changed = append(changed, d)
				if !d.Empty() && d.Dy() < tc.h/2 {
					bands++
				}
			}
			if bands == 0 {
				t.Fatal("no frame changed in a band: the test would splice nothing")
			}
			checkSpliced(t, frames, changed, 75)
		})
	}
}

// Random pictures, random changes, random rectangles covering them (larger
// than the change, and some wholly outside the picture), in pictures whose
// Min is not the origin.
func TestSplicedRandomChangesMatchFullEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for run := range 100 {
		w, h := 1+rng.IntN(300), 1+rng.IntN(200)
		origin := image.Pt(rng.IntN(50)-25, rng.IntN(50)-25)
		cur := photo(w, h, uint64(run))
		cur.Rect = cur.Rect.Add(origin)
		frames := []*image.RGBA{cur}
		changed := []image.Rectangle{{}} // the first Encode encodes all whatever it is told
		for range 8 {
			next := clone(cur)
			change := randRect(rng, next.Rect)
			fillRect(next, change, [3]uint8{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))})
			cover := change
			if rng.IntN(3) == 0 {
				cover = cover.Union(randRect(rng, next.Rect.Inset(-20)))
			}
			if change.Empty() && rng.IntN(2) == 0 {
				cover = image.Rect(-1000, -1000, -900, -900)
			}
			frames, changed = append(frames, next), append(changed, cover)
			cur = next
		}
		checkSpliced(t, frames, changed, 10+rng.IntN(91))
	}
}

func clone(img *image.RGBA) *image.RGBA {
	c := *img
	c.Pix = bytes.Clone(img.Pix)
	return &c
}

// randRect returns a rectangle in r, often a thin band, sometimes empty.
func randRect(rng *rand.Rand, r image.Rectangle) image.Rectangle {
	x0, y0 := r.Min.X+rng.IntN(r.Dx()), r.Min.Y+rng.IntN(r.Dy())
	return image.Rect(x0, y0, x0+rng.IntN(r.Dx()/2+1), y0+rng.IntN(r.Dy()/4+1)).Intersect(r)
}

// Encode reads the MCU rows that meet the change and no other pixel: a
// picture rendered only there (as into a scratch image shared by many
// kiosks) encodes as the whole one.
func TestEncodeReadsOnlyChangedRows(t *testing.T) {
	a := photo(200, 100, 1)
	b := clone(a)
	change := image.Rect(30, 37, 90, 50) // MCU rows 2 and 3: pixel rows 32..63
	fillRect(b, change, [3]uint8{200, 10, 10})
	partial := clone(b)
	for y := range 100 {
		if y < 32 || y >= 64 {
			fillRect(partial, image.Rect(0, y, 200, y+1), [3]uint8{uint8(y), 255, 0})
		}
	}
	p, s, _ := warm(t, a, 75)
	got, err := p.Encode(nil, partial, change, s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, encodeFull(t, b, 75)) {
		t.Fatal("encoding read pixels outside the MCU rows that meet the change")
	}
}

func TestInvalidateEncodesEveryRow(t *testing.T) {
	a, b := flat(100, 70, 1), flat(100, 70, 2)
	p, err := NewPicture(100, 70, 80)
	if err != nil {
		t.Fatal(err)
	}
	s := NewScratch()
	if _, err := p.Encode(nil, a, a.Rect, s); err != nil {
		t.Fatal(err)
	}
	stale, _ := p.Encode(nil, b, image.Rectangle{}, s)
	if bytes.Equal(stale, encodeFull(t, b, 80)) {
		t.Fatal("an Encode told nothing changed encoded the new picture anyway: the test cannot tell Invalidate works")
	}
	p.Invalidate()
	got, _ := p.Encode(nil, b, image.Rectangle{}, s)
	if !bytes.Equal(got, encodeFull(t, b, 80)) {
		t.Fatal("after Invalidate, Encode kept rows of the earlier picture")
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
	}{{"zero width", 0, 10}, {"zero height", 10, 0}, {"negative", -5, 10}, {"too wide", MaxSide + 1, 10}, {"too tall", 10, 1 << 20}} {
		if p, err := NewPicture(tc.w, tc.h, 75); err == nil || p != nil {
			t.Errorf("NewPicture(%d, %d): %v, %v; want an error", tc.w, tc.h, p, err)
		}
	}
	p, err := NewPicture(64, 48, 75)
	if err != nil {
		t.Fatal(err)
	}
	short := image.NewRGBA(image.Rect(0, 0, 64, 48))
	short.Pix = short.Pix[:100]
	for _, tc := range []struct {
		name string
		p    *Picture
		img  *image.RGBA
	}{
		{"nil image", p, nil},
		{"too small", p, image.NewRGBA(image.Rect(0, 0, 63, 48))},
		{"too big", p, image.NewRGBA(image.Rect(10, 10, 74, 59))},
		{"empty", p, &image.RGBA{}},
		{"pixels missing", p, short},
		{"nil picture", nil, image.NewRGBA(image.Rect(0, 0, 64, 48))},
	} {
		dst := []byte("keep")
		out, err := tc.p.Encode(dst, tc.img, image.Rect(0, 0, 64, 48), nil)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst changed to %q", tc.name, out)
		}
	}
	// A rejected image leaves the picture as it was.
	img := photo(64, 48, 1)
	if out, err := p.Encode(nil, img, img.Rect, nil); err != nil || !bytes.Equal(out, encodeFull(t, img, 75)) {
		t.Fatalf("after bad input: %v, or output not a full encoding", err)
	}
}

// Quality outside 1..100 is clamped, as image/jpeg clamps it.
func TestQualityClamped(t *testing.T) {
	img := photo(40, 30, 3)
	for _, tc := range []struct{ given, same int }{{0, 1}, {-7, 1}, {101, 100}, {1000, 100}} {
		if !bytes.Equal(encodeFull(t, img, tc.given), encodeFull(t, img, tc.same)) {
			t.Errorf("quality %d does not encode as %d", tc.given, tc.same)
		}
	}
	// The extremes decode as well as image/jpeg's: at 100 every step is 1,
	// the largest coefficients (a pattern of black and white column pairs)
	// included; at 1 every step is 255.
	stripes := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for x := range 64 {
		c := [3]uint8{0, 0, 0}
		if (x+1)%4 < 2 {
			c = [3]uint8{255, 255, 255}
		}
		fillRect(stripes, image.Rect(x, 0, x+1, 32), c)
	}
	for _, src := range []*image.RGBA{stripes, img} {
		for _, q := range []int{1, 100} {
			got, std := psnr(src, decode(t, encodeFull(t, src, q))), psnr(src, decode(t, stdJPEG(t, src, q)))
			if got < std-0.3 {
				t.Errorf("quality %d: PSNR %.2f dB, image/jpeg's %.2f", q, got, std)
			}
		}
	}
}

// Once warm, an Encode allocates nothing: not for a band, not for all.
func TestEncodeDoesNotAllocate(t *testing.T) {
	img := photo(320, 180, 5)
	p, s, dst := warm(t, img, 75)
	band := image.Rect(0, 40, 320, 56)
	if n := testing.AllocsPerRun(20, func() { dst, _ = p.Encode(dst[:0], img, band, s) }); n != 0 {
		t.Errorf("band encoding: %v allocations per Encode, want 0", n)
	}
	if n := testing.AllocsPerRun(20, func() { p.Invalidate(); dst, _ = p.Encode(dst[:0], img, img.Rect, s) }); n != 0 {
		t.Errorf("full encoding: %v allocations per Encode, want 0", n)
	}
}

// Size counts the segments kept, which grow with the picture's detail.
func TestSizeCountsSegments(t *testing.T) {
	p, err := NewPicture(320, 180, 75)
	if err != nil {
		t.Fatal(err)
	}
	empty := p.Size()
	out, err := p.Encode(nil, photo(320, 180, 1), image.Rect(0, 0, 320, 180), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Size() - empty; got < len(out)-len(p.header) {
		t.Errorf("Size grew by %d after an encoding of %d bytes", got, len(out))
	}
}
