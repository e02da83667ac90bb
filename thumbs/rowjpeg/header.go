package rowjpeg

import "encoding/binary"

// Markers (ITU T.81 Table B.1).
const (
	markerSOI = 0xd8
	markerEOI = 0xd9
	markerRST = 0xd0 // RST0; RSTn is markerRST+n, n = 0..7
	markerSOF = 0xc0 // baseline DCT
	markerDHT = 0xc4
	markerDQT = 0xdb
	markerDRI = 0xdd
	markerSOS = 0xda
)

// scaledQuant returns the Annex K tables scaled for quality as image/jpeg
// scales them (the IJG formula), in natural order.
func scaledQuant(quality int) (q [2][64]uint8) {
	quality = min(max(quality, 1), 100)
	scale := 200 - 2*quality
	if quality < 50 {
		scale = 5000 / quality
	}
	for t := range q {
		for i, base := range baseQuant[t] {
			q[t][i] = uint8(min(max((int(base)*scale+50)/100, 1), 255))
		}
	}
	return q
}

// appendHeader appends everything before the entropy-coded data: SOI, the
// quantisation tables in zig-zag order, a baseline 4:2:0 frame, the Annex K
// Huffman tables, a restart interval of one MCU row, and the scan header.
func appendHeader(b []byte, width, height int, quant *[2][64]uint8) []byte {
	b = append(b, 0xff, markerSOI)

	b = appendMarker(b, markerDQT, 2*(1+64))
	for t := range quant {
		b = append(b, uint8(t))
		for _, n := range zigzag {
			b = append(b, quant[t][n])
		}
	}

	b = appendMarker(b, markerSOF, 6+3*3)
	b = append(b, 8) // bits per sample
	b = binary.BigEndian.AppendUint16(b, uint16(height))
	b = binary.BigEndian.AppendUint16(b, uint16(width))
	b = append(b, 3,
		1, 0x22, 0, // Y: 2x2 sampling, quantisation table 0
		2, 0x11, 1, // Cb
		3, 0x11, 1) // Cr

	n := 0
	for _, s := range huffSpecs {
		n += 1 + 16 + len(s.symbols)
	}
	b = appendMarker(b, markerDHT, n)
	for i, s := range huffSpecs {
		b = append(b, dhtClassID[i])
		b = append(b, s.counts[:]...)
		b = append(b, s.symbols...)
	}

	b = appendMarker(b, markerDRI, 2)
	b = binary.BigEndian.AppendUint16(b, uint16(mcuCount(width)))

	b = appendMarker(b, markerSOS, 1+3*2+3)
	return append(b, 3,
		1, 0x00, // Y: DC table 0, AC table 0
		2, 0x11, // Cb: tables 1
		3, 0x11, // Cr
		0, 63, 0) // the whole spectrum, no successive approximation
}

// appendMarker appends a marker and the length field of a segment whose
// parameters take n bytes.
func appendMarker(b []byte, marker byte, n int) []byte {
	b = append(b, 0xff, marker)
	return binary.BigEndian.AppendUint16(b, uint16(2+n))
}

// mcuCount is how many 16-pixel MCUs cover n pixels.
func mcuCount(n int) int { return (n + Band - 1) / Band }
