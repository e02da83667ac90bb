package rowjpeg

import (
	"encoding/binary"
	"image"
	"slices"
)

// Colour conversion (JFIF: BT.601, full range) in 16-bit fixed point. The
// samples go to the DCT unrounded and still scaled (luma by 1<<16, chroma,
// summed over its 2x2 pixels, by 4<<16): the quantisers take the scale out.
const (
	yR, yG, yB    = 19595, 38470, 7471    // 0.299, 0.587, 0.114
	cbR, cbG, cbB = -11058, -21710, 32768 // -0.168736, -0.331264, 0.5
	crR, crG, crB = 32768, -27439, -5329  // 0.5, -0.418688, -0.081312
	yOffset       = 128 << 16             // the DCT wants samples centred on 0
	lumaScale     = 1 << 16
	chromaScale   = 4 << 16
)

// maxMCUBytes bounds what one MCU can add to the entropy-coded data: six
// blocks of at most 16+11 bits of DC and 63 AC coefficients of at most 16+10
// bits each, every byte possibly stuffed, and the accumulator's 8 bytes.
const maxMCUBytes = 6*2*(27+63*26)/8 + 8

// encodeRow entropy-codes MCU row my of img into s.out and returns it. The
// DC predictions start from zero, as after a restart marker, so the segment
// depends on this row's pixels only.
func (p *Picture) encodeRow(img *image.RGBA, my int, s *Scratch) []byte {
	w := bitWriter{buf: s.out[:0]}
	var dcY, dcCb, dcCr int32
	y0 := my * 16
	for mx := range p.cols {
		x0 := mx * 16
		var flat uint
		if y0+16 <= p.height && x0+16 <= p.width {
			flat = s.load(img.Pix, y0*img.Stride+x0*4, img.Stride)
		} else {
			flat = s.loadEdge(img, x0, y0, p.width, p.height)
		}
		if cap(w.buf)-len(w.buf) < maxMCUBytes {
			w.buf = slices.Grow(w.buf, maxMCUBytes+len(w.buf)/2)
		}
		for k := range 4 {
			dcY = w.block(&s.blk[k], flat>>k&1 != 0, &p.quant[0], &s.coef, dcY, &codes[lumDC], &codes[lumAC])
		}
		dcCb = w.block(&s.blk[4], flat&flatMCU != 0, &p.quant[1], &s.coef, dcCb, &codes[chromaDC], &codes[chromaAC])
		dcCr = w.block(&s.blk[5], flat&flatMCU != 0, &p.quant[1], &s.coef, dcCr, &codes[chromaDC], &codes[chromaAC])
	}
	w.finish()
	s.out = w.buf
	return w.buf
}

// load converts the 16x16 RGBA pixels at pix[off:] (rows stride bytes
// apart) into the MCU's four luma blocks and its two subsampled chroma
// blocks, each chroma sample from the sums of its 2x2 pixels. It returns
// which luma blocks are of one colour (bit k for block k), and flatMCU if
// the whole MCU is: those blocks need no transform (see block), and only
// the first sample of a flat luma block is set. Flat blocks are common on
// kiosk screens (two thirds of a 640x360 thumbnail's), and finding them
// costs a sixteenth of converting them.
//
// Two horizontal neighbours are read as one uint64 and converted together,
// each channel of each in a 32-bit lane: no lane overflows (255 * 65536 <
// 1<<32), so one multiplication serves both.
func (s *Scratch) load(pix []byte, off, stride int) (flat uint) {
	const lanes = 0x000000ff_000000ff
	var first [4]uint64 // each luma block's first pixel, in both lanes
	for k := range 4 {
		at := off + k/2*8*stride + k%2*32 // the block's top left pixel
		p := uint64(binary.LittleEndian.Uint32(pix[at:]))
		first[k] = p | p<<32
		y := &s.blk[k]
		c := k/2*32 + k%2*4 // the block's first chroma sample
		if oneColour(pix, at, stride, first[k]) {
			flat |= 1 << k
			r, g, b := int32(p&0xff), int32(p>>8&0xff), int32(p>>16&0xff)
			y[0] = float32(yR*r + yG*g + yB*b - yOffset)
			cb, cr := float32(cbR*4*r+cbG*4*g+cbB*4*b), float32(crR*4*r+crG*4*g+crB*4*b)
			for j := c; j < c+32; j += 8 {
				s.blk[4][j&63], s.blk[4][(j+1)&63], s.blk[4][(j+2)&63], s.blk[4][(j+3)&63] = cb, cb, cb, cb
				s.blk[5][j&63], s.blk[5][(j+1)&63], s.blk[5][(j+2)&63], s.blk[5][(j+3)&63] = cr, cr, cr, cr
			}
			continue
		}
		for j := 0; j < 8; j += 2 {
			top := pix[at+j*stride:][:32:32]
			bot := pix[at+(j+1)*stride:][:32:32]
			yt, yb := (*[8]float32)(y[8*j:8*j+8]), (*[8]float32)(y[8*j+8:8*j+16])
			cbj, crj := (*[4]float32)(s.blk[4][c+4*j:c+4*j+4]), (*[4]float32)(s.blk[5][c+4*j:c+4*j+4])
			for i := range 4 {
				t := binary.LittleEndian.Uint64(top[8*i:])
				u := binary.LittleEndian.Uint64(bot[8*i:])
				tr, tg, tb := t&lanes, t>>8&lanes, t>>16&lanes
				ur, ug, ub := u&lanes, u>>8&lanes, u>>16&lanes
				ty := yR*tr + yG*tg + yB*tb
				uy := yR*ur + yG*ug + yB*ub
				yt[2*i] = float32(int32(uint32(ty)) - yOffset)
				yt[2*i+1] = float32(int32(ty>>32) - yOffset)
				yb[2*i] = float32(int32(uint32(uy)) - yOffset)
				yb[2*i+1] = float32(int32(uy>>32) - yOffset)
				sr, sg, sb := tr+ur, tg+ug, tb+ub
				r, g, b := int32(uint32(sr)+uint32(sr>>32)), int32(uint32(sg)+uint32(sg>>32)), int32(uint32(sb)+uint32(sb>>32))
				cbj[i] = float32(cbR*r + cbG*g + cbB*b)
				crj[i] = float32(crR*r + crG*g + crB*b)
			}
		}
	}
	if flat == 0b1111 && (first[0]^first[1]|first[0]^first[2]|first[0]^first[3])&rgbMask == 0 {
		flat |= flatMCU
	}
	return flat
}

// flatMCU is load's flag for an MCU of one colour.
const flatMCU = 1 << 4

// rgbMask keeps the colour of two pixels in a uint64: alpha is ignored.
const rgbMask = 0x00ffffff_00ffffff

// oneColour reports whether the 8x8 pixels at pix[at:] (rows stride bytes
// apart) all have the colour of two (a pixel in both lanes).
func oneColour(pix []byte, at, stride int, two uint64) bool {
	var diff uint64
	for j := range 8 {
		row := pix[at+j*stride:][:32:32]
		diff |= (binary.LittleEndian.Uint64(row) ^ two) | (binary.LittleEndian.Uint64(row[8:]) ^ two) |
			(binary.LittleEndian.Uint64(row[16:]) ^ two) | (binary.LittleEndian.Uint64(row[24:]) ^ two)
	}
	return diff&rgbMask == 0
}

// loadEdge loads an MCU that reaches past the picture's right or bottom
// edge, repeating the last column and row as image/jpeg does.
func (s *Scratch) loadEdge(img *image.RGBA, x0, y0, width, height int) (flat uint) {
	n := min(16, width-x0) // columns inside the picture
	for j := range 16 {
		src := img.Pix[min(y0+j, height-1)*img.Stride+x0*4:][:4*n]
		dst := s.edge[j*64 : j*64+64]
		copy(dst, src)
		for i := n; i < 16; i++ {
			copy(dst[4*i:4*i+4], src[4*n-4:])
		}
	}
	return s.load(s.edge[:], 0, 64)
}
