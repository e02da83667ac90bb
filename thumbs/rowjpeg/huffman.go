package rowjpeg

import "math/bits"

// huffCode packs a symbol's code: the code in the high bits, its length in
// the low 8, so one load gives both.
type huffCode uint32

// huffCodes is a table's code for every symbol (a symbol outside the table
// has length 0 and never occurs in a baseline picture).
type huffCodes [256]huffCode

// codes are the canonical codes of huffSpecs (ITU T.81 Annex C): codes of
// each length count up from the previous length's next code, doubled.
var codes = func() (t [4]huffCodes) {
	for i, spec := range huffSpecs {
		code, k := uint32(0), 0
		for length := 1; length <= 16; length++ {
			for range spec.counts[length-1] {
				t[i][spec.symbols[k]] = huffCode(code<<8 | uint32(length))
				code++
				k++
			}
			code <<= 1
		}
	}
	return t
}()

// bitWriter gathers entropy-coded bits in a 64-bit accumulator and writes
// them 32 at a time, with a zero byte stuffed after every 0xFF (T.81 F.1.2.3).
// Callers keep at least maxMCUBytes free in buf before each MCU, so the
// appends never grow it in the middle of one.
type bitWriter struct {
	acc uint64 // the low n bits are pending, the oldest highest
	n   uint
	buf []byte
}

// codeValue returns the bits of a symbol's code followed by the size low
// bits of its value's magnitude code (T.81 F.1.2.1), and how many they are:
// at most 16+11.
func codeValue(c huffCode, size uint, v uint32) (uint64, uint) {
	return uint64(uint32(c>>8)<<size | v&(1<<size-1)), uint(c&0xff) + size
}

// put adds the low k bits of v to the accumulator acc holding n bits, and
// returns it. The accumulator is passed in and out so that block can keep
// it in registers while it codes a block.
func (w *bitWriter) put(acc uint64, n uint, v uint64, k uint) (uint64, uint) {
	acc = acc<<k | v
	if n += k; n >= 32 {
		n = w.flush(acc, n)
	}
	return acc, n
}

// flush writes out the oldest 32 of the n bits in acc, each byte 0xFF
// followed by a stuffed zero, and returns how many bits are left. It is
// called once every 32 bits: kept out of line, it leaves put small enough
// to inline.
//
//go:noinline
func (w *bitWriter) flush(acc uint64, n uint) uint {
	n -= 32
	v := uint32(acc >> n)
	// A byte of v is 0xFF exactly when that byte of ^v is zero.
	if x := ^v; (x-0x01010101)&^x&0x80808080 == 0 {
		w.buf = append(w.buf, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		return n
	}
	for shift := 24; shift >= 0; shift -= 8 {
		b := byte(v >> shift)
		w.buf = append(w.buf, b)
		if b == 0xff {
			w.buf = append(w.buf, 0)
		}
	}
	return n
}

// finish pads the last byte with 1 bits, as T.81 asks before a marker, and
// writes out everything pending.
func (w *bitWriter) finish() {
	if pad := (8 - w.n%8) % 8; pad > 0 {
		w.acc = w.acc<<pad | (1<<pad - 1)
		w.n += pad
	}
	for w.n >= 8 {
		w.n -= 8
		b := byte(w.acc >> w.n)
		w.buf = append(w.buf, b)
		if b == 0xff {
			w.buf = append(w.buf, 0)
		}
	}
	w.acc = 0
}

// magnitude returns the size category of v and the bits that code it: v
// itself when positive, v-1 when negative (T.81 F.1.2.1), in the low size
// bits.
func magnitude(v int32) (size uint, code uint32) {
	sign := v >> 31
	a := (v ^ sign) - sign
	return uint(bits.Len32(uint32(a))), uint32(v + sign)
}
