package rowjpeg

import "math/bits"

// quantiser is what each transformed coefficient of one component is
// multiplied by, in natural order: 1/quantiser step, with the DCT's output
// scale (see dct.go) and the colour conversion's fixed-point scale folded
// in. Multiplying is what makes quantisation cheap; image/jpeg divides.
type quantiser [64]float32

// newQuantiser returns the quantiser of table q (natural order) for samples
// that come multiplied by inputScale.
func newQuantiser(q *[64]uint8, inputScale float64) (m quantiser) {
	for n := range m {
		u, v := n/8, n%8
		m[n] = float32(1 / (float64(q[n]) * 8 * aanScale[u] * aanScale[v] * inputScale))
	}
	return m
}

// toZigzag[k][v] maps byte k of a natural-order coefficient mask, of value
// v, to the same coefficients' bits in zig-zag order: eight look-ups
// reorder a whole mask.
var toZigzag = func() (t [8][256]uint64) {
	for i, n := range zigzag {
		for v := range 256 {
			if v>>(n%8)&1 != 0 {
				t[n/8][v] |= 1 << i
			}
		}
	}
	return t
}()

// block transforms, quantises and entropy-codes b with the DC and AC codes
// given, and returns its quantised DC for the next block's prediction. coef
// is scratch space. A flat block (all samples equal) is not transformed:
// its transform, every butterfly an exact float operation on equal values,
// would give a DC of 64 times the sample and AC coefficients of exactly 0.
func (w *bitWriter) block(b *[64]float32, flat bool, q *quantiser, coef *[64]int32, prevDC int32, dc, ac *huffCodes) int32 {
	var nonzero uint64 // bit n: coef[n] != 0
	if flat {
		coef[0] = int32(64*b[0]*q[0]+(roundBias+0.5)) - roundBias
	} else {
		nonzero = transform(b, q, coef)
	}
	acc, n := w.acc, w.n
	size, v := magnitude(coef[0] - prevDC)
	code, k := codeValue(dc[size], size, v)
	acc, n = w.put(acc, n, code, k)

	m := toZigzag[0][uint8(nonzero)] | toZigzag[1][uint8(nonzero>>8)] |
		toZigzag[2][uint8(nonzero>>16)] | toZigzag[3][uint8(nonzero>>24)] |
		toZigzag[4][uint8(nonzero>>32)] | toZigzag[5][uint8(nonzero>>40)] |
		toZigzag[6][uint8(nonzero>>48)] | toZigzag[7][uint8(nonzero>>56)]
	m &^= 1 // the DC is done
	last := 0
	for m != 0 {
		i := bits.TrailingZeros64(m)
		m &= m - 1
		run := i - last - 1
		for ; run > 15; run -= 16 {
			code, k := codeValue(ac[0xf0], 0, 0) // ZRL: sixteen zeros
			acc, n = w.put(acc, n, code, k)
		}
		size, v := magnitude(coef[zigzag[i]&63])
		code, k := codeValue(ac[run<<4|int(size)], size, v)
		acc, n = w.put(acc, n, code, k)
		last = i
	}
	if last != 63 {
		code, k := codeValue(ac[0x00], 0, 0) // EOB
		acc, n = w.put(acc, n, code, k)
	}
	w.acc, w.n = acc, n
	return coef[0]
}
