package rfb

// tightGradient is Tight's gradient filter. Each colour channel travels as
// its difference from a prediction made from the pixels to the left, above
// and above-left (zero outside the rectangle), so photos and shading become
// small numbers that zlib packs well. The decoder and the encoder share this
// one implementation so that they cannot disagree on the prediction.
//
// The channels are those of the TPIXEL: the R, G and B bytes when TPIXELs
// are 3 bytes, otherwise the pixel format's own channels. Sums wrap at each
// channel's maximum plus one, as in TightVNC, which defined the filter.
type tightGradient struct {
	pf    PixelFormat
	rgb   bool // TPIXELs are R, G, B bytes
	tps   int
	shift [3]uint8
	max   [3]uint32
	above []uint32 // channel values of the row above, 3 a pixel
	this  []uint32
}

// start prepares the filter for a rectangle width pixels wide, at its top row.
func (g *tightGradient) start(pf PixelFormat, width int) {
	g.pf, g.rgb, g.tps = pf, pf.TightRGB(), pf.TightPixelSize()
	if g.rgb {
		g.shift, g.max = [3]uint8{16, 8, 0}, [3]uint32{255, 255, 255}
	} else {
		g.shift = [3]uint8{pf.RedShift, pf.GreenShift, pf.BlueShift}
		g.max = [3]uint32{uint32(pf.RedMax), uint32(pf.GreenMax), uint32(pf.BlueMax)}
	}
	n := 3 * width
	if cap(g.above) < n {
		g.above, g.this = make([]uint32, n), make([]uint32, n)
	}
	g.above, g.this = g.above[:n], g.this[:n]
	clear(g.above)
}

// row turns one row of TPIXELs in src into differences in dst, or back into
// TPIXELs when decode is set. dst may be src.
func (g *tightGradient) row(dst, src []byte, decode bool) {
	var left, aboveLeft [3]uint32
	for x := 0; x < len(g.this)/3; x++ {
		in := g.load(src[x*g.tps:])
		var out uint32
		for c := range 3 {
			above := g.above[3*x+c]
			predicted := min(max(int(left[c])+int(above)-int(aboveLeft[c]), 0), int(g.max[c]))
			v := in >> g.shift[c] & g.max[c]
			if decode {
				v = (v + uint32(predicted)) & g.max[c]
				out |= v << g.shift[c]
			} else {
				out |= (v - uint32(predicted)) & g.max[c] << g.shift[c]
			}
			g.this[3*x+c] = v
			left[c], aboveLeft[c] = v, above
		}
		g.store(dst[x*g.tps:], out)
	}
	g.above, g.this = g.this, g.above
}

func (g *tightGradient) load(b []byte) uint32 {
	if g.rgb {
		return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
	}
	return g.pf.Pixel(b)
}

func (g *tightGradient) store(b []byte, v uint32) {
	if g.rgb {
		b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v)
		return
	}
	g.pf.PutPixel(b, v)
}
