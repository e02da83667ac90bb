package sim

import (
	"image"
	"math"

	"kioskwall/rfb"
)

// canvas draws into a kiosk's colour-mapped buffer. Everything drawn is
// clipped to clip and shifted by off, so a page can be painted partly and at
// an offset: that is how a sliding page transition paints the strip that
// slides in without a second framebuffer.
type canvas struct {
	b    *rfb.Buffer
	clip image.Rectangle
	off  image.Point
}

func newCanvas(b *rfb.Buffer) canvas { return canvas{b: b, clip: b.Bounds()} }

// fill paints r with one palette entry.
func (c canvas) fill(r image.Rectangle, col uint8) {
	r = r.Add(c.off).Intersect(c.clip)
	if r.Empty() {
		return
	}
	c.b.FillRect(r, []byte{col})
}

// frame paints a border of width t just inside r.
func (c canvas) frame(r image.Rectangle, t int, col uint8) {
	c.fill(image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+t), col)
	c.fill(image.Rect(r.Min.X, r.Max.Y-t, r.Max.X, r.Max.Y), col)
	c.fill(image.Rect(r.Min.X, r.Min.Y+t, r.Min.X+t, r.Max.Y-t), col)
	c.fill(image.Rect(r.Max.X-t, r.Min.Y+t, r.Max.X, r.Max.Y-t), col)
}

// roundRect paints r with corners rounded to radius rad, row by row.
func (c canvas) roundRect(r image.Rectangle, rad int, col uint8) {
	rad = min(rad, r.Dx()/2, r.Dy()/2)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		d := 0 // distance of this row into a corner's band
		switch {
		case y-r.Min.Y < rad:
			d = rad - (y - r.Min.Y)
		case r.Max.Y-1-y < rad:
			d = rad - (r.Max.Y - 1 - y)
		}
		in := 0
		if d > 0 {
			dy := float64(d) - 0.5
			in = rad - int(math.Sqrt(float64(rad*rad)-dy*dy)+0.5)
		}
		c.fill(image.Rect(r.Min.X+in, y, r.Max.X-in, y+1), col)
	}
}

// disc paints the disc inscribed in r.
func (c canvas) disc(r image.Rectangle, col uint8) {
	c.roundRect(r, min(r.Dx(), r.Dy())/2, col)
}

// Text is the 7x13 fixed font from golang.org/x/image/font/basicfont, scaled
// by whole pixels: kiosks use large, plain lettering, and a 1-bit font keeps
// the palette small and the drawing cheap.
const (
	glyphAdvance = 7
	glyphHeight  = 13
)

// text paints s with its top-left corner at p, each font pixel scale x scale.
func (c canvas) text(p image.Point, s string, scale int, col uint8) {
	g := fontGlyphs()
	box := image.Rect(0, 0, glyphAdvance*scale, glyphHeight*scale)
	for i := 0; i < len(s); i++ {
		at := p.Add(image.Pt(i*glyphAdvance*scale, 0))
		if box.Add(at).Add(c.off).Intersect(c.clip).Empty() {
			continue
		}
		rows := g.rows(s[i])
		for y, bits := range rows {
			// Paint each horizontal run of set bits as one rectangle.
			for x := 0; x < glyphAdvance; {
				if bits&(1<<x) == 0 {
					x++
					continue
				}
				run := x
				for run < glyphAdvance && bits&(1<<run) != 0 {
					run++
				}
				c.fill(image.Rect(at.X+x*scale, at.Y+y*scale, at.X+run*scale, at.Y+(y+1)*scale), col)
				x = run
			}
		}
	}
}

// textWidth is the width of s at scale.
func textWidth(s string, scale int) int { return len(s) * glyphAdvance * scale }

// align says where text sits horizontally in a box.
type align int

const (
	alignLeft align = iota
	alignCenter
	alignRight
)

// textIn paints s centred vertically in r and aligned horizontally to r's
// edges; callers inset r for a margin.
func (c canvas) textIn(r image.Rectangle, s string, scale int, col uint8, a align) {
	y := r.Min.Y + (r.Dy()-glyphHeight*scale)/2
	x := r.Min.X
	switch a {
	case alignCenter:
		x = r.Min.X + (r.Dx()-textWidth(s, scale))/2
	case alignRight:
		x = r.Max.X - textWidth(s, scale)
	}
	c.text(image.Pt(x, y), s, scale, col)
}
