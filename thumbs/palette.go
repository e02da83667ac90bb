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

	// At 16 and 32 bpp true colour with at most 8 bits a channel (every
	// format kioskwall asks for), a table per channel scales component
	// values to 0-255; the policy may pick 16 bpp for a thousand kiosks.
	wide     bool
	wideFor  rfb.PixelFormat
	channels [3][256]uint8
}

func (p *palette) update(src *rfb.Buffer) {
	if src.Format.BitsPerPixel != 8 {
		p.valid = false
		p.updateWide(src.Format)
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

func (p *palette) updateWide(pf rfb.PixelFormat) {
	if p.wide && p.wideFor == pf {
		return
	}
	p.wide = pf.TrueColour && pf.RedMax <= 255 && pf.GreenMax <= 255 && pf.BlueMax <= 255 &&
		pf.RedMax > 0 && pf.GreenMax > 0 && pf.BlueMax > 0
	p.wideFor = pf
	if !p.wide {
		return
	}
	for c, m := range [3]uint16{pf.RedMax, pf.GreenMax, pf.BlueMax} {
		for v := 0; v <= int(m); v++ {
			p.channels[c][v] = uint8((v*255 + int(m)/2) / int(m))
		}
	}
}

// sumRowWide is sumRow for 16 and 32 bpp true colour (see updateWide).
func (p *palette) sumRowWide(acc []uint32, row []byte, xs []int) {
	pf := p.wideFor
	bpp := pf.BytesPerPixel()
	rs, gs, bs := pf.RedShift, pf.GreenShift, pf.BlueShift
	rm, gm, bm := uint32(pf.RedMax), uint32(pf.GreenMax), uint32(pf.BlueMax)
	x0 := xs[0]
	for i := 0; i+1 < len(xs); i++ {
		var r, g, b uint32
		px := row[(xs[i]-x0)*bpp : (xs[i+1]-x0)*bpp]
		for len(px) >= bpp {
			var v uint32
			switch {
			case bpp == 2 && pf.BigEndian:
				v = uint32(px[0])<<8 | uint32(px[1])
			case bpp == 2:
				v = uint32(px[1])<<8 | uint32(px[0])
			case pf.BigEndian:
				v = uint32(px[0])<<24 | uint32(px[1])<<16 | uint32(px[2])<<8 | uint32(px[3])
			default:
				v = uint32(px[3])<<24 | uint32(px[2])<<16 | uint32(px[1])<<8 | uint32(px[0])
			}
			r += uint32(p.channels[0][v>>rs&rm])
			g += uint32(p.channels[1][v>>gs&gm])
			b += uint32(p.channels[2][v>>bs&bm])
			px = px[bpp:]
		}
		a := acc[3*i : 3*i+3 : 3*i+3]
		a[0] += r
		a[1] += g
		a[2] += b
	}
}
