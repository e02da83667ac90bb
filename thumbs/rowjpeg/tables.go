package rowjpeg

// The standard tables of ITU T.81 Annex K, the ones image/jpeg uses, so that
// a rowjpeg picture and an image/jpeg one of the same quality compare.

// baseQuant holds Annex K.1's luminance (Table K.1) and chrominance (Table
// K.2) quantisation tables, in natural (row-major) order.
var baseQuant = [2][64]uint8{
	{
		16, 11, 10, 16, 24, 40, 51, 61,
		12, 12, 14, 19, 26, 58, 60, 55,
		14, 13, 16, 24, 40, 57, 69, 56,
		14, 17, 22, 29, 51, 87, 80, 62,
		18, 22, 37, 56, 68, 109, 103, 77,
		24, 35, 55, 64, 81, 104, 113, 92,
		49, 64, 78, 87, 103, 121, 120, 101,
		72, 92, 95, 98, 112, 100, 103, 99,
	},
	{
		17, 18, 24, 47, 99, 99, 99, 99,
		18, 21, 26, 66, 99, 99, 99, 99,
		24, 26, 56, 99, 99, 99, 99, 99,
		47, 66, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
	},
}

// huffSpec is a Huffman table as a DHT segment carries it: how many codes
// there are of each length 1..16, and the symbols in order of their codes.
type huffSpec struct {
	counts  [16]uint8
	symbols []uint8
}

// The four tables, in the order the DHT segment lists them.
const (
	lumDC = iota
	lumAC
	chromaDC
	chromaAC
)

// dhtClassID is each table's class (DC 0, AC 1) and destination, as DHT
// writes them.
var dhtClassID = [4]uint8{0x00, 0x10, 0x01, 0x11}

// huffSpecs are Annex K.3's tables (K.3 to K.6).
var huffSpecs = [4]huffSpec{
	lumDC: {
		counts:  [16]uint8{0, 1, 5, 1, 1, 1, 1, 1, 1},
		symbols: []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
	},
	lumAC: acSpec([16]uint8{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125}, []uint8{
		0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06,
		0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08,
		0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72,
		0x82,
	}),
	chromaDC: {
		counts:  [16]uint8{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		symbols: []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
	},
	chromaAC: acSpec([16]uint8{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119}, []uint8{
		0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41,
		0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91,
		0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1,
		0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1,
	}),
}

// acSpec completes an Annex K AC table from the symbols of its codes up to
// 15 bits: in both standard AC tables the 16-bit codes go to every other
// symbol (run 0-15, size 1-10) in increasing order.
func acSpec(counts [16]uint8, short []uint8) huffSpec {
	var listed [256]bool
	for _, s := range short {
		listed[s] = true
	}
	symbols := append([]uint8(nil), short...)
	for run := range 16 {
		for size := 1; size <= 10; size++ {
			if s := uint8(run<<4 | size); !listed[s] {
				symbols = append(symbols, s)
			}
		}
	}
	return huffSpec{counts: counts, symbols: symbols}
}

// zigzag[i] is the natural index of the i-th coefficient in zig-zag order:
// the anti-diagonals of the block, walked alternately up and down.
var zigzag = func() (z [64]uint8) {
	i := 0
	for d := range 15 {
		lo, hi := max(0, d-7), min(d, 7)
		for k := lo; k <= hi; k++ {
			row := k // down the anti-diagonal: row increasing
			if d%2 == 0 {
				row = lo + hi - k // up: row decreasing
			}
			z[i] = uint8(row*8 + d - row)
			i++
		}
	}
	return z
}()
