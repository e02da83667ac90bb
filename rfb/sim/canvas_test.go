package sim

import (
	"image"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"kioskwall/rfb"
)

// The kiosk's text must be basicfont's glyphs, scaled by whole pixels: the
// reference is the font package's own drawer at scale 1.
func TestTextMatchesBasicfont(t *testing.T) {
	const s = "Hello, Kiosk 09:41! ~{}|"
	ref := image.NewAlpha(image.Rect(0, 0, len(s)*glyphAdvance, glyphHeight))
	d := font.Drawer{Dst: ref, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, basicfont.Face7x13.Ascent)}
	d.DrawString(s)
	for _, scale := range []int{1, 2, 5} {
		b := rfb.NewBuffer(len(s)*glyphAdvance*scale+20, glyphHeight*scale+20, rfb.ColourMapped())
		at := image.Pt(10, 10)
		newCanvas(b).text(at, s, scale, colWhite)
		set := 0
		for y := 0; y < b.Height; y++ {
			for x := 0; x < b.Width; x++ {
				got := b.Pix[y*b.Stride+x] == colWhite
				p := image.Pt(x, y).Sub(at)
				want := p.X >= 0 && p.Y >= 0 && ref.AlphaAt(p.X/scale, p.Y/scale).A >= 0x80 &&
					p.In(image.Rect(0, 0, ref.Bounds().Dx()*scale, ref.Bounds().Dy()*scale))
				if got != want {
					t.Fatalf("scale %d: pixel (%d,%d) set=%v, basicfont says %v", scale, x, y, got, want)
				}
				if got {
					set++
				}
			}
		}
		if set == 0 {
			t.Fatalf("scale %d: nothing drawn", scale)
		}
	}
}

// Drawing is clipped and offset, which sliding transitions rely on: drawing
// a page shifted into a strip must equal the same strip of the page drawn
// where it belongs, shifted.
func TestCanvasClipAndOffset(t *testing.T) {
	l := layout{640, 360}
	scr := &screen{l: l, hospital: "Test Hospital - West Campus", label: "Registration West 1 | K0001"}
	v := &view{page: pageService, service: 1, selected: 0, checked: 3, field: []byte("123"), progress: 40, status: "Printing", clock: "12:00:00"}
	whole := rfb.NewBuffer(l.w, l.h, rfb.ColourMapped())
	scr.draw(newCanvas(whole), v)

	part := rfb.NewBuffer(l.w, l.h, rfb.ColourMapped())
	shift := 200
	strip := image.Rect(l.w-shift, 0, l.w, l.h)
	c := newCanvas(part)
	c.clip, c.off = strip, image.Pt(l.w-shift, 0)
	scr.drawBody(c, v)
	for y := l.body().Min.Y; y < l.h; y++ {
		for x := 0; x < l.w; x++ {
			got := part.Pix[y*part.Stride+x]
			if x < strip.Min.X {
				if got != 0 {
					t.Fatalf("pixel (%d,%d) outside the clip was drawn", x, y)
				}
				continue
			}
			if want := whole.Pix[y*whole.Stride+x-(l.w-shift)]; got != want {
				t.Fatalf("pixel (%d,%d) = %d, want %d from (%d,%d) of the whole page", x, y, got, want, x-(l.w-shift), y)
			}
		}
	}
}
