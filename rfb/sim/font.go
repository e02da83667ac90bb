package sim

import (
	"sync"

	"golang.org/x/image/font/basicfont"
)

// glyphTable holds basicfont's 7x13 glyphs for printable ASCII as bit rows,
// so text drawing reads a few bytes instead of going through image.Image.
type glyphTable [96][glyphHeight]uint8

// fontGlyphs builds the table once; it never changes afterwards.
var fontGlyphs = sync.OnceValue(func() *glyphTable {
	f := basicfont.Face7x13
	var t glyphTable
	for i := range t {
		r := f.Ranges[0]
		y0 := (i + r.Offset) * f.Height
		if rune(' '+i) >= r.High {
			y0 = f.Ranges[1].Offset * f.Height // the replacement glyph
		}
		for y := 0; y < glyphHeight; y++ {
			for x := 0; x < f.Width; x++ {
				if _, _, _, a := f.Mask.At(x, y0+y).RGBA(); a >= 0x8000 {
					t[i][y] |= 1 << x
				}
			}
		}
	}
	return &t
})

// rows returns the bit rows of character ch; bit x is column x. Anything
// outside printable ASCII is drawn as the replacement glyph.
func (t *glyphTable) rows(ch byte) *[glyphHeight]uint8 {
	if ch < ' ' || ch > '~' {
		return &t[95]
	}
	return &t[ch-' ']
}
