package rowjpeg

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// transform against the DCT's definition, quantised by steps of 1 (with
// the scale the factorisation leaves).
func TestTransform(t *testing.T) {
	var one [64]uint8
	for i := range one {
		one[i] = 1
	}
	q := newQuantiser(&one, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	for range 20 {
		var b [64]float32
		var x [64]float64
		for i := range b {
			x[i] = float64(rng.IntN(256) - 128)
			b[i] = float32(x[i])
		}
		var out [64]int32
		nonzero := transform(&b, &q, &out)
		for u := range 8 {
			for v := range 8 {
				var sum float64
				for i := range 8 {
					for j := range 8 {
						sum += x[8*i+j] * math.Cos(float64(2*i+1)*float64(u)*math.Pi/16) * math.Cos(float64(2*j+1)*float64(v)*math.Pi/16)
					}
				}
				want := sum / 4 * alpha(u) * alpha(v)
				n := 8*u + v
				if got := out[n]; math.Abs(float64(got)-want) > 0.5+1e-3 {
					t.Fatalf("coefficient (%d,%d) = %v, want %v", u, v, got, want)
				}
				if (out[n] != 0) != (nonzero>>n&1 != 0) {
					t.Fatalf("coefficient (%d,%d) = %d, but its nonzero bit is %d", u, v, out[n], nonzero>>n&1)
				}
			}
		}
	}
}

func alpha(k int) float64 {
	if k == 0 {
		return 1 / math.Sqrt2
	}
	return 1
}

// A block of one colour is coded without its transform, to the same bits:
// load finds such blocks and MCUs, and block's shortcut is exact.
func TestFlatBlocksCodeAsTransformed(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	q := scaledQuant(75)
	quant := [2]quantiser{newQuantiser(&q[0], lumaScale), newQuantiser(&q[1], chromaScale)}
	s := NewScratch()
	for range 200 {
		img := image.NewRGBA(image.Rect(0, 0, 16, 16))
		c := [3]uint8{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))}
		fillRect(img, img.Rect, c)
		wantFlat := uint(0b1111 | flatMCU)
		if rng.IntN(2) == 0 { // one pixel off: its block and the MCU are not flat
			img.Pix[4*rng.IntN(256)+rng.IntN(3)] ^= 1 << rng.IntN(8)
			wantFlat = 0
		}
		flat := s.load(img.Pix, 0, img.Stride)
		if wantFlat != 0 && flat != wantFlat || wantFlat == 0 && (flat&flatMCU != 0 || flat == 0b1111) {
			t.Fatalf("colour %v: load says flat %05b", c, flat)
		}
		for k := range 6 {
			if k < 4 && flat>>k&1 == 0 || k >= 4 && flat&flatMCU == 0 {
				continue
			}
			qt := &quant[min(k/4, 1)]
			var b [64]float32 // what the block holds: load sets only the first sample of a flat luma block
			for i := range b {
				b[i] = s.blk[k][0]
			}
			if k >= 4 && s.blk[k] != b {
				t.Fatalf("colour %v: chroma block %d of a flat MCU is not flat: %v", c, k, s.blk[k])
			}
			var short, long bitWriter
			var coef [64]int32
			dcShort := short.block(&b, true, qt, &coef, 0, &codes[lumDC], &codes[lumAC])
			dcLong := long.block(&b, false, qt, &coef, 0, &codes[lumDC], &codes[lumAC])
			short.finish()
			long.finish()
			if dcShort != dcLong || string(short.buf) != string(long.buf) {
				t.Fatalf("colour %v, block %d: flat coding gives DC %d %x, the transform DC %d %x", c, k, dcShort, short.buf, dcLong, long.buf)
			}
		}
	}
}
