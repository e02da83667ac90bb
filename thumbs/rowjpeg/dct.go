package rowjpeg

import "math"

// The forward DCT is Arai, Agui and Nakajima's (1988) factorisation: 5
// multiplications and 29 additions per 8 points. It leaves coefficient
// (u, v) multiplied by 8 * aanScale[u] * aanScale[v], which costs nothing
// here: quantisation multiplies every coefficient by a reciprocal anyway,
// and the scale is folded into it (see quantiser). In float32 it is as exact
// as image/jpeg's integer DCT, and faster in Go.

const (
	aanC4  = 0.707106781186547524 // cos(4π/16)
	aanC6  = 0.382683432365089772 // cos(6π/16)
	aanC2m = 0.541196100146196984 // cos(2π/16) - cos(6π/16)
	aanC2p = 1.306562964876376527 // cos(2π/16) + cos(6π/16)
)

// aanScale[k] is what the factorisation leaves on output k of a pass:
// 1 for k = 0, √2·cos(kπ/16) otherwise.
var aanScale = func() (s [8]float64) {
	s[0] = 1
	for k := 1; k < 8; k++ {
		s[k] = math.Sqrt2 * math.Cos(float64(k)*math.Pi/16)
	}
	return s
}()

// transform transforms b (its rows in place, then its columns) and
// quantises the result with q into out, in natural order. The columns are
// quantised as they leave the DCT, while still in registers. It returns
// which coefficients are not zero: bit n for out[n].
func transform(b *[64]float32, q *quantiser, out *[64]int32) (nonzero uint64) {
	for i := 0; i < 64; i += 8 {
		r := (*[8]float32)(b[i : i+8])
		r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] = dct8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
	}
	for i := range 8 {
		y0, y1, y2, y3, y4, y5, y6, y7 := dct8(b[i], b[8+i], b[16+i], b[24+i], b[32+i], b[40+i], b[48+i], b[56+i])
		v0 := int32(y0*q[i]+(roundBias+0.5)) - roundBias
		v1 := int32(y1*q[8+i]+(roundBias+0.5)) - roundBias
		v2 := int32(y2*q[16+i]+(roundBias+0.5)) - roundBias
		v3 := int32(y3*q[24+i]+(roundBias+0.5)) - roundBias
		v4 := int32(y4*q[32+i]+(roundBias+0.5)) - roundBias
		v5 := int32(y5*q[40+i]+(roundBias+0.5)) - roundBias
		v6 := int32(y6*q[48+i]+(roundBias+0.5)) - roundBias
		v7 := int32(y7*q[56+i]+(roundBias+0.5)) - roundBias
		out[i], out[8+i], out[16+i], out[24+i], out[32+i], out[40+i], out[48+i], out[56+i] = v0, v1, v2, v3, v4, v5, v6, v7
		col := nz(v0) | nz(v1)<<8 | nz(v2)<<16 | nz(v3)<<24 | nz(v4)<<32 | nz(v5)<<40 | nz(v6)<<48 | nz(v7)<<56
		nonzero |= col << i
	}
	return nonzero
}

// roundBias makes float-to-int truncation round to nearest: every quantised
// coefficient of an 8-bit picture lies within ±2048, so v+roundBias+0.5 is
// positive and truncation floors it.
const roundBias = 4096

// nz is 1 if v is not zero, else 0.
func nz(v int32) uint64 { return uint64(uint32(v|-v) >> 31) }

// dct8 is one 8-point pass, outputs in natural order.
func dct8(x0, x1, x2, x3, x4, x5, x6, x7 float32) (y0, y1, y2, y3, y4, y5, y6, y7 float32) {
	s07, d07 := x0+x7, x0-x7
	s16, d16 := x1+x6, x1-x6
	s25, d25 := x2+x5, x2-x5
	s34, d34 := x3+x4, x3-x4

	// Even part.
	e0, e3 := s07+s34, s07-s34
	e1, e2 := s16+s25, s16-s25
	y0, y4 = e0+e1, e0-e1
	z := (e2 + e3) * aanC4
	y2, y6 = e3+z, e3-z

	// Odd part.
	o0 := d34 + d25
	o1 := d25 + d16
	o2 := d16 + d07
	z5 := (o0 - o2) * aanC6
	z2 := o0*aanC2m + z5
	z4 := o2*aanC2p + z5
	z3 := o1 * aanC4
	z11, z13 := d07+z3, d07-z3
	y5, y3 = z13+z2, z13-z2
	y1, y7 = z11+z4, z11-z4
	return
}
