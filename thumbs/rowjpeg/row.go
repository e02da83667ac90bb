package rowjpeg

import (
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
		if y0+16 <= p.height && x0+16 <= p.width {
			s.load(img.Pix, y0*img.Stride+x0*4, img.Stride)
		} else {
			s.loadEdge(img, x0, y0, p.width, p.height)
		}
		if cap(w.buf)-len(w.buf) < maxMCUBytes {
			w.buf = slices.Grow(w.buf, maxMCUBytes+len(w.buf)/2)
		}
		for k := range 4 {
			fdct(&s.blk[k])
			dcY = w.block(&s.blk[k], &p.quant[0], dcY, &codes[lumDC], &codes[lumAC])
		}
		fdct(&s.blk[4])
		dcCb = w.block(&s.blk[4], &p.quant[1], dcCb, &codes[chromaDC], &codes[chromaAC])
		fdct(&s.blk[5])
		dcCr = w.block(&s.blk[5], &p.quant[1], dcCr, &codes[chromaDC], &codes[chromaAC])
	}
	w.finish()
	s.out = w.buf
	return w.buf
}

// load converts the 16x16 RGBA pixels at pix[off:] (rows stride bytes
// apart) into the MCU's four luma blocks and its two subsampled chroma
// blocks, each chroma sample from the sums of its 2x2 pixels.
func (s *Scratch) load(pix []byte, off, stride int) {
	cb, cr := &s.blk[4], &s.blk[5]
	for j := 0; j < 16; j += 2 {
		top := pix[off+j*stride:][:64:64]
		bot := pix[off+(j+1)*stride:][:64:64]
		half := s.blk[j/8*2 : j/8*2+2 : j/8*2+2] // the luma blocks these rows meet
		row := (j % 8) * 8
		c := j / 2 * 8
		for i := 0; i < 16; i += 2 {
			a, b := top[4*i:4*i+8:4*i+8], bot[4*i:4*i+8:4*i+8]
			r0, g0, b0 := int32(a[0]), int32(a[1]), int32(a[2])
			r1, g1, b1 := int32(a[4]), int32(a[5]), int32(a[6])
			r2, g2, b2 := int32(b[0]), int32(b[1]), int32(b[2])
			r3, g3, b3 := int32(b[4]), int32(b[5]), int32(b[6])
			y := &half[i/8]
			k := row + i%8
			y[k&63] = float32(yR*r0 + yG*g0 + yB*b0 - yOffset)
			y[(k+1)&63] = float32(yR*r1 + yG*g1 + yB*b1 - yOffset)
			y[(k+8)&63] = float32(yR*r2 + yG*g2 + yB*b2 - yOffset)
			y[(k+9)&63] = float32(yR*r3 + yG*g3 + yB*b3 - yOffset)
			sr, sg, sb := r0+r1+r2+r3, g0+g1+g2+g3, b0+b1+b2+b3
			cb[(c+i/2)&63] = float32(cbR*sr + cbG*sg + cbB*sb)
			cr[(c+i/2)&63] = float32(crR*sr + crG*sg + crB*sb)
		}
	}
}

// loadEdge loads an MCU that reaches past the picture's right or bottom
// edge, repeating the last column and row as image/jpeg does.
func (s *Scratch) loadEdge(img *image.RGBA, x0, y0, width, height int) {
	n := min(16, width-x0) // columns inside the picture
	for j := range 16 {
		src := img.Pix[min(y0+j, height-1)*img.Stride+x0*4:][:4*n]
		dst := s.edge[j*64 : j*64+64]
		copy(dst, src)
		for i := n; i < 16; i++ {
			copy(dst[4*i:4*i+4], src[4*n-4:])
		}
	}
	s.load(s.edge[:], 0, 64)
}
