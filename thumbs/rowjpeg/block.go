package rowjpeg

import "math/bits"

// quantiser is what each transformed coefficient of one component is
// multiplied by, in zig-zag order: 1/quantiser step, with the DCT's output
// scale (see dct.go) and the colour conversion's fixed-point scale folded
// in. Multiplying is what makes quantisation cheap; image/jpeg divides.
type quantiser [64]float32

// newQuantiser returns the quantiser of table q (natural order) for samples
// that come multiplied by inputScale.
func newQuantiser(q *[64]uint8, inputScale float64) (m quantiser) {
	for i, n := range zigzag {
		u, v := n/8, n%8
		m[i] = float32(1 / (float64(q[n]) * 8 * aanScale[u] * aanScale[v] * inputScale))
	}
	return m
}

// roundBias makes float-to-int truncation round to nearest: every quantised
// coefficient of an 8-bit picture lies within ±2048, so v+roundBias+0.5 is
// positive and truncation floors it.
const roundBias = 4096

// block quantises the transformed block b, entropy-codes it with the DC and
// AC codes given, and returns its quantised DC for the next block's
// prediction.
func (w *bitWriter) block(b *[64]float32, q *quantiser, prevDC int32, dc, ac *huffCodes) int32 {
	var zz [64]int32
	var nonzero uint64 // bit i: zz[i] != 0
	for i := 1; i < 64; i++ {
		v := int32(b[zigzag[i]&63]*q[i]+(roundBias+0.5)) - roundBias
		zz[i] = v
		nonzero |= uint64(uint32(v|-v)>>31) << i
	}
	d := int32(b[0]*q[0]+(roundBias+0.5)) - roundBias
	size, v := magnitude(d - prevDC)
	w.emitValue(dc[size], size, v)

	last := 0
	for nonzero != 0 {
		i := bits.TrailingZeros64(nonzero)
		nonzero &= nonzero - 1
		run := i - last - 1
		for ; run > 15; run -= 16 {
			w.emitValue(ac[0xf0], 0, 0) // ZRL: sixteen zeros
		}
		size, v := magnitude(zz[i])
		w.emitValue(ac[run<<4|int(size)], size, v)
		last = i
	}
	if last != 63 {
		w.emitValue(ac[0x00], 0, 0) // EOB
	}
	return d
}
