package thumbs

import "kioskwall/rfb"

// palette converts source pixels to RGB. At 8 bpp, the format a thousand
// thumbnail sessions use, a 256-entry table replaces the per-pixel shifts and
// scaling; it is rebuilt only when the format or colour map changes.
type palette struct {
	valid  bool
	pf     rfb.PixelFormat
	colmap [256]rfb.Colour
	table  [256][3]uint8
}

func (p *palette) update(src *rfb.Buffer) {
	if src.Format.BitsPerPixel != 8 {
		p.valid = false
		return
	}
	if p.valid && p.pf == src.Format && (src.Format.TrueColour || p.colmap == src.Palette) {
		return
	}
	p.valid, p.pf, p.colmap = true, src.Format, src.Palette
	for i := range p.table {
		if src.Format.TrueColour {
			r, g, b := src.Format.RGB(uint32(i))
			p.table[i] = [3]uint8{r, g, b}
		} else {
			c := src.Palette[i]
			p.table[i] = [3]uint8{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)}
		}
	}
}

func (p *palette) rgb(pf rfb.PixelFormat, b []byte) (r, g, bl uint8) {
	if p.valid {
		c := &p.table[b[0]]
		return c[0], c[1], c[2]
	}
	return pf.RGB(pf.Pixel(b))
}
