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

// sumRow adds one row of 8 bpp pixels to the column sums of acc (r, g, b
// per column); column i covers source columns [xs[i], xs[i+1]), and row
// starts at column xs[0].
func (p *palette) sumRow(acc []uint32, row []byte, xs []int) {
	x0 := xs[0]
	for i := 0; i+1 < len(xs); i++ {
		var r, g, b uint32
		for _, v := range row[xs[i]-x0 : xs[i+1]-x0] {
			c := &p.table[v]
			r += uint32(c[0])
			g += uint32(c[1])
			b += uint32(c[2])
		}
		a := acc[3*i : 3*i+3 : 3*i+3]
		a[0] += r
		a[1] += g
		a[2] += b
	}
}
