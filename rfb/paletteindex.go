package rfb

// paletteIndex numbers the distinct pixel values of an area, for the encoders
// that palettise (ZRLE, Tight). It is a small open-addressing hash table rather
// than a map so that counting the colours of every tile allocates nothing, and
// it gives up as soon as an area has more colours than the caller can use.
type paletteIndex struct {
	colours [256]uint32 // in order of first appearance
	slotOf  [256]uint16 // where each colour sits in slots, so reset is O(colours)
	n       int
	max     int
	slots   [paletteSlots]uint16 // 0: empty; otherwise 1 + index into colours
}

// paletteSlots is a power of two at least four times the largest palette, so
// that linear probes stay short.
const paletteSlots = 1024

// reset empties the index and sets how many colours add accepts (at most 256).
func (p *paletteIndex) reset(max int) {
	for _, s := range p.slotOf[:p.n] {
		p.slots[s] = 0
	}
	p.n, p.max = 0, min(max, len(p.colours))
}

// add returns the index of v, adding v if it is new. ok is false when v is new
// and the palette already holds max colours.
func (p *paletteIndex) add(v uint32) (index int, ok bool) {
	h := (v * 0x9e3779b1) >> (32 - 10) // Fibonacci hashing spreads neighbouring values
	for {
		s := p.slots[h]
		if s == 0 {
			if p.n == p.max {
				return 0, false
			}
			p.colours[p.n] = v
			p.slotOf[p.n] = uint16(h)
			p.n++
			p.slots[h] = uint16(p.n)
			return p.n - 1, true
		}
		if p.colours[s-1] == v {
			return int(s - 1), true
		}
		h = (h + 1) & (paletteSlots - 1)
	}
}

// appendPixelValues appends the pixel values of a w x h area whose first
// pixel starts pix, rows stride bytes apart: what the palettising encoders
// count, compare and look up.
func appendPixelValues(vals []uint32, pf PixelFormat, pix []byte, stride, w, h int) []uint32 {
	bpp := pf.BytesPerPixel()
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+w*bpp]
		for x := 0; x < len(row); x += bpp {
			vals = append(vals, pf.Pixel(row[x:]))
		}
	}
	return vals
}

// ZRLE and Tight pack small palette indexes into bytes, the leftmost pixel in
// the most significant bits, each row padded to a whole byte.

// packedRowBytes is the size of a row of w indexes of bits bits each.
func packedRowBytes(w, bits int) int { return (w*bits + 7) / 8 }

// appendPacked appends the indexes of one row of pixel values, packed; every
// value must already be in the palette.
func (p *paletteIndex) appendPacked(b []byte, row []uint32, bits int) []byte {
	var acc byte
	n := 0
	for _, v := range row {
		i, _ := p.add(v)
		acc = acc<<bits | byte(i)
		if n += bits; n == 8 {
			b = append(b, acc)
			acc, n = 0, 0
		}
	}
	if n > 0 {
		b = append(b, acc<<(8-n))
	}
	return b
}

// packedIndex is the index of pixel x in a packed row.
func packedIndex(row []byte, x, bits int) int {
	bit := x * bits
	return int(row[bit/8]>>(8-bits-bit%8)) & (1<<bits - 1)
}
