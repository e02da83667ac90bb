package thumbs

import "kioskwall/rfb"

// palette converts source pixels to RGB, packed for summing (see packed).
// At 8 bpp, the format a thousand thumbnail sessions use, a 256-entry table
// replaces the per-pixel shifts and scaling; it is rebuilt only when the
// format or colour map changes.
type palette struct {
	valid  bool
	pf     rfb.PixelFormat
	colmap [256]rfb.Colour
	table  [256]uint64

	// At 16 and 32 bpp true colour with at most 8 bits a channel (every
	// format kioskwall asks for), a table per channel scales component
	// values to 0-255, already in the channel's place in a packed sum; the
	// policy may pick 16 bpp for a thousand kiosks.
	wide     bool
	wideFor  rfb.PixelFormat
	channels [3][256]uint64
}

// Packed sums: the three channel sums of a run of pixels in one uint64,
// 21 bits each, so that summing a pixel is one addition instead of three.
// A field holds the sum of packLimit pixels of 255 without carrying into
// the next.
const (
	packBits  = 21
	packMask  = 1<<packBits - 1
	packLimit = packMask / 255
)

func pack(r, g, b uint8) uint64 {
	return uint64(r) | uint64(g)<<packBits | uint64(b)<<(2*packBits)
}

func unpack(v uint64) (r, g, b uint32) {
	return uint32(v & packMask), uint32(v >> packBits & packMask), uint32(v >> (2 * packBits) & packMask)
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
			p.table[i] = pack(src.Format.RGB(uint32(i)))
		} else {
			c := src.Palette[i]
			p.table[i] = pack(uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8))
		}
	}
}

// sumRow adds one row of 8 bpp pixels to the packed column sums of acc;
// column i covers source columns [xs[i], xs[i+1]), and row starts at
// column xs[0].
func (p *palette) sumRow(acc []uint64, row []byte, xs []int) {
	// Footprints two or three columns wide throughout (spans differ by at
	// most one, so the row's length tells): 1280 or 1920 pixels to 640.
	switch len(row) {
	case 3 * len(acc):
		for i := range acc {
			px := row[3*i : 3*i+3 : 3*i+3]
			acc[i] += p.table[px[0]] + p.table[px[1]] + p.table[px[2]]
		}
		return
	case 2 * len(acc):
		for i := range acc {
			px := row[2*i : 2*i+2 : 2*i+2]
			acc[i] += p.table[px[0]] + p.table[px[1]]
		}
		return
	}
	x0 := xs[0]
	for i := 0; i+1 < len(xs); i++ {
		var sum uint64
		for _, v := range row[xs[i]-x0 : xs[i+1]-x0] {
			sum += p.table[v]
		}
		acc[i] += sum
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
			p.channels[c][v] = uint64((v*255+int(m)/2)/int(m)) << (c * packBits)
		}
	}
}

// sumRowWide is sumRow for 16 and 32 bpp true colour (see updateWide).
func (p *palette) sumRowWide(acc []uint64, row []byte, xs []int) {
	pf := p.wideFor
	bpp := pf.BytesPerPixel()
	rs, gs, bs := pf.RedShift, pf.GreenShift, pf.BlueShift
	rm, gm, bm := uint32(pf.RedMax), uint32(pf.GreenMax), uint32(pf.BlueMax)
	x0 := xs[0]
	for i := 0; i+1 < len(xs); i++ {
		var sum uint64
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
			sum += p.channels[0][v>>rs&rm] + p.channels[1][v>>gs&gm] + p.channels[2][v>>bs&bm]
			px = px[bpp:]
		}
		acc[i] += sum
	}
}
