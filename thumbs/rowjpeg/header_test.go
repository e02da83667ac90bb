package rowjpeg

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// segments returns a JPEG's marker segments before its scan, by marker.
func segments(t *testing.T, b []byte) map[byte][]byte {
	t.Helper()
	m := map[byte][]byte{}
	for i := 2; i+4 <= len(b) && b[i] == 0xff; {
		marker, n := b[i+1], int(binary.BigEndian.Uint16(b[i+2:]))
		m[marker] = b[i : i+2+n]
		if marker == markerSOS {
			break
		}
		i += 2 + n
	}
	return m
}

// The tables are image/jpeg's, byte for byte: the sizes and quality compare
// because the encodings differ in nothing a decoder is told.
func TestTablesAreImageJPEGs(t *testing.T) {
	img := photo(33, 17, 1)
	for _, q := range []int{1, 10, 50, 75, 90, 100} {
		std, ours := segments(t, stdJPEG(t, img, q)), segments(t, encodeFull(t, img, q))
		for _, m := range []byte{markerDQT, markerDHT, markerSOF, markerSOS} {
			if std[m] == nil || !bytes.Equal(std[m], ours[m]) {
				t.Errorf("quality %d, marker %#x: %x, image/jpeg writes %x", q, m, ours[m], std[m])
			}
		}
		if dri := ours[markerDRI]; !bytes.Equal(dri, []byte{0xff, markerDRI, 0, 4, 0, 3}) {
			t.Errorf("quality %d: DRI segment %x, want a restart interval of 3 MCUs (one row)", q, dri)
		}
	}
}

// The restart markers count RST0..RST7 round, one between rows, none after
// the last.
func TestRestartMarkers(t *testing.T) {
	img := photo(16, 16*19, 1)
	out := encodeFull(t, img, 75)
	p, _ := NewPicture(16, 16*19, 75)
	var got []byte
	for i := len(p.header); i+1 < len(out); i++ {
		if out[i] == 0xff && out[i+1] != 0 {
			got = append(got, out[i+1])
		}
	}
	want := []byte{}
	for n := range 18 {
		want = append(want, markerRST+byte(n%8))
	}
	want = append(want, markerEOI)
	if !bytes.Equal(got, want) {
		t.Errorf("markers after the header: %x, want %x", got, want)
	}
}

func TestZigzag(t *testing.T) {
	want := [...]uint8{0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48}
	for i, n := range want {
		if zigzag[i] != n {
			t.Fatalf("zigzag[%d] = %d, want %d (T.81 Figure A.6)", i, zigzag[i], n)
		}
	}
	seen := map[uint8]bool{}
	for _, n := range zigzag {
		seen[n] = true
	}
	if len(seen) != 64 || zigzag[63] != 63 {
		t.Fatalf("zigzag is not a permutation of 0..63 ending at 63: %v", zigzag)
	}
}
