package rfb

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"io"
	"math"
	"strings"
	"testing"
)

// Colours of hand-built test payloads, by letter.
var ztColours = map[byte][3]uint8{
	'R': {255, 0, 0}, 'G': {0, 255, 0}, 'B': {0, 0, 255},
	'W': {255, 255, 255}, 'K': {0, 0, 0}, 'Y': {255, 255, 0}, 'M': {10, 20, 30},
}

// cpix32 is the CPIXEL of a colour in Format32 (little endian, blue in the
// low byte): the low three bytes, blue first.
func cpix32(c byte) []byte {
	rgb := ztColours[c]
	return []byte{rgb[2], rgb[1], rgb[0]}
}

func joinBytes(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// zlibStream compresses each part as a server does for one rectangle: into
// one stream, flushed at the end of each part.
type zlibStream struct {
	buf bytes.Buffer
	zw  *zlib.Writer
}

func newZlibStream() *zlibStream { return newZlibStreamLevel(zlib.DefaultCompression) }

func newZlibStreamLevel(level int) *zlibStream {
	s := &zlibStream{}
	s.zw, _ = zlib.NewWriterLevel(&s.buf, level)
	return s
}

func (s *zlibStream) compress(data []byte) []byte {
	s.zw.Write(data)
	s.zw.Flush()
	out := bytes.Clone(s.buf.Bytes())
	s.buf.Reset()
	return out
}

// zrlePayload is a ZRLE payload whose tiles, uncompressed, are data.
func (s *zlibStream) zrlePayload(data []byte) []byte {
	z := s.compress(data)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(z))), z...)
}

// checkRGB compares fb's pixels with rows of colour letters drawn at at, and
// checks that the pixels around them are still black.
func checkRGB(t *testing.T, fb *Buffer, at image.Point, rows []string) {
	t.Helper()
	want := image.Rect(at.X, at.Y, at.X+len(rows[0]), at.Y+len(rows))
	for y := 0; y < fb.Height; y++ {
		for x := 0; x < fb.Width; x++ {
			var c [3]uint8 // black around the rectangle
			if (image.Point{x, y}).In(want) {
				c = ztColours[rows[y-at.Y][x-at.X]]
			}
			if r, g, b := fb.RGBAt(x, y); [3]uint8{r, g, b} != c {
				t.Fatalf("pixel (%d,%d) is %v, want %v", x, y, [3]uint8{r, g, b}, c)
			}
		}
	}
}

// runRows spells out runs of colour letters, wrapped into rows of w.
func runRows(w int, spec ...any) []string {
	var s strings.Builder
	for i := 0; i < len(spec); i += 2 {
		s.WriteString(strings.Repeat(spec[i+1].(string), spec[i].(int)))
	}
	var rows []string
	for all := s.String(); len(all) > 0; all = all[w:] {
		rows = append(rows, all[:w])
	}
	return rows
}

func TestZRLEDecodeSubencodings(t *testing.T) {
	tests := []struct {
		name  string
		tiles []byte // uncompressed
		want  []string
	}{
		{"raw", joinBytes([]byte{0}, cpix32('R'), cpix32('G'), cpix32('B'), cpix32('W'), cpix32('K'), cpix32('Y')),
			[]string{"RGB", "WKY"}},
		{"solid", joinBytes([]byte{1}, cpix32('Y')), []string{"YYY", "YYY"}},
		{"packed 1 bit, padding bits ignored", joinBytes([]byte{2}, cpix32('K'), cpix32('W'),
			[]byte{0b10110000, 0b01111111, 0b00000001, 0b11111111}),
			[]string{"WKWWKKKKKW", "KKKKKKKWWW"}},
		{"packed 2 bits, 3 colours", joinBytes([]byte{3}, cpix32('R'), cpix32('G'), cpix32('B'),
			[]byte{0b00011001, 0b00111111, 0b10101010, 0b01000000}),
			[]string{"RGBGR", "BBBBG"}},
		{"packed 4 bits, 5 colours", joinBytes([]byte{5}, cpix32('R'), cpix32('G'), cpix32('B'), cpix32('W'), cpix32('Y'),
			[]byte{0x01, 0x2f, 0x34, 0x0f}),
			[]string{"RGB", "WYR"}},
		{"packed 4 bits, 16 colours", joinBytes([]byte{16}, bytes.Repeat(cpix32('M'), 15), cpix32('G'), []byte{0xf0, 0x0f}),
			[]string{"GM", "MG"}},
		{"plain RLE, run across rows", joinBytes([]byte{128}, cpix32('R'), []byte{3}, cpix32('B'), []byte{1}),
			[]string{"RRR", "RBB"}},
		{"plain RLE, runs of 255 and 256", joinBytes([]byte{128}, cpix32('R'), []byte{254}, cpix32('G'), []byte{255, 0}, cpix32('B'), []byte{0}),
			runRows(64, 255, "R", 256, "G", 1, "B")},
		{"plain RLE, run of 511", joinBytes([]byte{128}, cpix32('R'), []byte{255, 255, 0}, cpix32('G'), []byte{64}),
			runRows(64, 511, "R", 65, "G")},
		{"palette RLE", joinBytes([]byte{131}, cpix32('R'), cpix32('G'), cpix32('B'),
			[]byte{0, 0x81, 2, 2, 0x80, 0, 0x82, 1}),
			[]string{"RGGG", "BRBB"}},
		{"palette RLE, 127 colours", joinBytes([]byte{255}, bytes.Repeat(cpix32('M'), 126), cpix32('Y'), []byte{126, 0xfe, 2}),
			[]string{"YYYY"}},
		{"two tiles across", joinBytes([]byte{1}, cpix32('R'), []byte{0}, cpix32('B')),
			[]string{strings.Repeat("R", 64) + "B"}},
		{"two tiles down", joinBytes([]byte{1}, cpix32('G'), []byte{0}, cpix32('W')),
			append(runRows(1, 64, "G"), "W")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := image.Rect(1, 2, 1+len(tt.want[0]), 2+len(tt.want))
			fb := NewBuffer(r.Max.X+1, r.Max.Y+1, Format32)
			in := bufio.NewReader(bytes.NewReader(newZlibStream().zrlePayload(tt.tiles)))
			if err := (&zrleDecoder{}).decode(in, Format32, r, fb); err != nil {
				t.Fatal(err)
			}
			checkRGB(t, fb, r.Min, tt.want)
			if n, _ := in.Read(make([]byte, 1)); n != 0 {
				t.Error("decoder left payload bytes unread")
			}
		})
	}
}

// TestZRLECompactPixels checks where each format's CPIXEL bytes go, from
// layouts written out by hand.
func TestZRLECompactPixels(t *testing.T) {
	r8g16b24 := PixelFormat{BitsPerPixel: 32, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 8, GreenShift: 16, BlueShift: 24}
	tests := []struct {
		name string
		pf   PixelFormat
		cpix []byte // colour (10, 20, 30)
		pix  []byte // the same as a PIXEL
	}{
		{"888le: low bytes", Format32, []byte{30, 20, 10}, []byte{30, 20, 10, 0}},
		{"888be: low bytes", withBigEndian(Format32), []byte{10, 20, 30}, []byte{0, 10, 20, 30}},
		{"r8g16b24le: high bytes", r8g16b24, []byte{10, 20, 30}, []byte{0, 10, 20, 30}},
		{"r8g16b24be: high bytes", withBigEndian(r8g16b24), []byte{30, 20, 10}, []byte{30, 20, 10, 0}},
		{"depth32: whole pixel", ztFormats[11].pf, []byte{30, 20, 10, 0}, []byte{30, 20, 10, 0}},
		{"565le", Format16, []byte{0xa4, 0x08}, []byte{0xa4, 0x08}},
		{"565be", withBigEndian(Format16), []byte{0x08, 0xa4}, []byte{0x08, 0xa4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := bufio.NewReader(bytes.NewReader(newZlibStream().zrlePayload(joinBytes([]byte{0}, tt.cpix, tt.cpix))))
			fb := NewBuffer(2, 1, tt.pf)
			if err := (&zrleDecoder{}).decode(in, tt.pf, fb.Bounds(), fb); err != nil {
				t.Fatal(err)
			}
			if want := joinBytes(tt.pix, tt.pix); !bytes.Equal(fb.Pix, want) {
				t.Errorf("pixels % x, want % x", fb.Pix, want)
			}
		})
	}
}

func TestZRLEStreamPersistsAcrossRectangles(t *testing.T) {
	s := newZlibStream()
	payload := joinBytes(
		s.zrlePayload(joinBytes([]byte{1}, cpix32('R'))),
		s.zrlePayload(joinBytes([]byte{0}, cpix32('G'), cpix32('B'))),
		s.zrlePayload(joinBytes([]byte{1}, cpix32('R'))), // repeats the first: a back-reference
	)
	in := bufio.NewReader(bytes.NewReader(payload))
	dec := &zrleDecoder{}
	fb := NewBuffer(2, 3, Format32)
	for y := 0; y < 3; y++ {
		if err := dec.decode(in, Format32, image.Rect(0, y, 2, y+1), fb); err != nil {
			t.Fatalf("rectangle %d: %v", y+1, err)
		}
	}
	checkRGB(t, fb, image.Point{}, []string{"RR", "GB", "RR"})
}

func TestZRLEDecodeRejects(t *testing.T) {
	z := func(tiles ...[]byte) []byte { return newZlibStream().zrlePayload(joinBytes(tiles...)) }
	tests := []struct {
		name    string
		payload []byte
		proto   bool // a ProtocolError, not a short read
	}{
		{"subencoding 17", z([]byte{17}), true},
		{"subencoding 127", z([]byte{127}), true},
		{"subencoding 129, TRLE's palette reuse", z([]byte{129}), true},
		{"packed index beyond the palette", z([]byte{3}, cpix32('R'), cpix32('G'), cpix32('B'), []byte{0b11000000, 0, 0}), true},
		{"palette RLE index beyond the palette", z([]byte{130}, cpix32('R'), cpix32('G'), []byte{2}), true},
		{"palette RLE long-run index beyond the palette", z([]byte{130}, cpix32('R'), cpix32('G'), []byte{0x85, 0}), true},
		{"plain RLE run past the tile", z([]byte{128}, cpix32('R'), []byte{6}), true},
		{"plain RLE run of endless 255s", z([]byte{128}, cpix32('R'), bytes.Repeat([]byte{255}, 100)), true},
		{"palette RLE run past the tile", z([]byte{130}, cpix32('R'), cpix32('G'), []byte{0x80, 4, 0x81, 1}), true},
		{"tile data ends early", z([]byte{0}, bytes.Repeat(cpix32('R'), 5)), true},
		{"no tile data", z(), true},
		{"length beyond what the rectangle can need", binary.BigEndian.AppendUint32(nil, 1<<20), true},
		{"length of 4 GiB", []byte{0xff, 0xff, 0xff, 0xff}, true},
		{"not zlib", joinBytes(binary.BigEndian.AppendUint32(nil, 8), []byte("not zlib")), true},
		{"length field cut short", []byte{0, 0}, false},
		{"compressed data cut short", joinBytes(binary.BigEndian.AppendUint32(nil, 100), z([]byte{1}, cpix32('R'))[4:]), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := NewBuffer(3, 2, Format32)
			err := (&zrleDecoder{}).decode(bufio.NewReader(bytes.NewReader(tt.payload)), Format32, fb.Bounds(), fb)
			checkDecodeError(t, err, tt.proto)
		})
	}
}

func TestZRLERoundTrip(t *testing.T) {
	for _, f := range ztFormats {
		t.Run(f.name, func(t *testing.T) {
			// One encoder and one decoder for everything, as on one connection.
			enc, dec := &zrleEncoder{}, &zrleDecoder{}
			for _, img := range ztImages() {
				for _, size := range ztSizes {
					r := image.Rectangle{Max: size}.Add(image.Pt(3, 5))
					pix := ztPixels(f.pf, size.X, size.Y, img)
					var out bytes.Buffer
					n, err := enc.encode(&out, f.pf, r, pix, EncodeOptions{Quality: -1, Compression: 6})
					if err != nil {
						t.Fatal(err)
					}
					fb := NewBuffer(r.Max.X+2, r.Max.Y+1, f.pf)
					rects := decodeAll(t, dec, f.pf, fb, out.Bytes())
					if n != 1 || len(rects) != 1 || rects[0].r != r || rects[0].enc != EncZRLE {
						t.Fatalf("%s %v: encoder said %d rectangles and wrote %v, want one ZRLE %v", img.name, size, n, rects, r)
					}
					want := NewBuffer(fb.Width, fb.Height, f.pf)
					want.WritePixels(r, pix)
					if !bytes.Equal(fb.Pix, want.Pix) {
						t.Fatalf("%s %v: decoded pixels differ from the encoded ones", img.name, size)
					}
				}
			}
		})
	}
}

// TestZRLEEncoderChoosesSubencoding checks the first tile's subencoding for
// content where one choice is clearly cheapest.
func TestZRLEEncoderChoosesSubencoding(t *testing.T) {
	colour := func(i int) (r, g, b uint8) { return uint8(i), uint8(i >> 8), 77 }
	tests := []struct {
		img  func(x, y int) (r, g, b uint8)
		want byte
	}{
		{func(x, y int) (r, g, b uint8) { return 1, 2, 3 }, zrleSolid},
		{func(x, y int) (r, g, b uint8) { return colour((x + y) % 2) }, 2},                         // 1-bit packed beats runs of one
		{func(x, y int) (r, g, b uint8) { return colour((x + y) % 5) }, 5},                         // 4-bit packed
		{func(x, y int) (r, g, b uint8) { return colour(y / 8 % 2) }, zrlePlainRLE + 2},            // long runs, 2 colours
		{func(x, y int) (r, g, b uint8) { return colour((y*64 + x) / 16) }, zrlePlainRLE},          // 256 colours in runs of 16
		{func(x, y int) (r, g, b uint8) { return colour(int(ztHash(uint64(y*64 + x)))) }, zrleRaw}, // noise
	}
	for i, tt := range tests {
		pix := ztPixels(Format32, 64, 64, ztImage{at: tt.img})
		var out bytes.Buffer
		if _, err := (&zrleEncoder{}).encode(&out, Format32, image.Rect(0, 0, 64, 64), pix, EncodeOptions{Compression: 6}); err != nil {
			t.Fatal(err)
		}
		zr, err := zlib.NewReader(bytes.NewReader(out.Bytes()[16:]))
		if err != nil {
			t.Fatal(err)
		}
		var sub [1]byte
		if _, err := io.ReadFull(zr, sub[:]); err != nil {
			t.Fatal(err)
		}
		if sub[0] != tt.want {
			t.Errorf("image %d: subencoding %d, want %d", i, sub[0], tt.want)
		}
	}
}

func TestZRLEEncoderOptionsAndEdges(t *testing.T) {
	pix := ztPixels(Format32, 100, 50, ztImage{at: ztText})
	r := image.Rect(0, 0, 100, 50)
	size := func(level int) int {
		var out bytes.Buffer
		if _, err := (&zrleEncoder{}).encode(&out, Format32, r, pix, EncodeOptions{Compression: level}); err != nil {
			t.Fatal(err)
		}
		return out.Len()
	}
	if stored, best := size(0), size(9); stored <= best {
		t.Errorf("level 0 wrote %d bytes, level 9 %d: the level is not applied", stored, best)
	}
	if def, odd := size(6), size(42); def != odd {
		t.Errorf("level 42 wrote %d bytes, level 6 %d: out-of-range levels should mean 6", odd, def)
	}

	var out bytes.Buffer
	if n, err := (&zrleEncoder{}).encode(&out, Format32, image.Rect(4, 4, 4, 9), nil, EncodeOptions{}); n != 0 || err != nil || out.Len() != 0 {
		t.Errorf("empty rectangle: %d rectangles, %d bytes, error %v; want nothing", n, out.Len(), err)
	}
	if _, err := (&zrleEncoder{}).encode(&out, Format32, r, pix[:100], EncodeOptions{}); err == nil {
		t.Error("encoding from too few pixels: no error")
	}
}

// TestZRLEDecodeAllocs checks that steady-state decoding allocates nothing.
// The stream is stored, not deflated: compress/flate allocates link tables
// for every dynamic Huffman block with codes over 9 bits, a cost of the
// standard inflater that no decoder on top of it can avoid.
func TestZRLEDecodeAllocs(t *testing.T) {
	for _, img := range ztImages() {
		t.Run(img.name, func(t *testing.T) {
			pf, r := Format32, image.Rect(0, 0, 200, 150)
			out := encodeScrolling(t, &zrleEncoder{}, pf, r, img, EncodeOptions{Quality: -1, Compression: 0}, 40)
			if allocs := decodeAllocs(t, &zrleDecoder{}, pf, r, out, nil); allocs != 0 {
				t.Errorf("%.1f allocations per rectangle, want 0", allocs)
			}
		})
	}
}

// decodeAllocs decodes the rectangles in out, all of them r, and returns the
// allocations per rectangle once warm. check, if set, sees each payload's
// first bytes.
func decodeAllocs(t *testing.T, dec decoder, pf PixelFormat, r image.Rectangle, out []byte, check func(payload []byte)) float64 {
	t.Helper()
	fb := NewBuffer(r.Max.X, r.Max.Y, pf)
	in := bufio.NewReader(bytes.NewReader(out))
	var err error
	next := func() {
		if err == nil {
			if err = discard(in, 12); err == nil {
				if check != nil {
					b, _ := in.Peek(2)
					check(b)
				}
				err = dec.decode(in, pf, r, fb)
			}
		}
	}
	for range 5 {
		next()
	}
	// AllocsPerRun counts every goroutine's allocations, and goroutines of
	// earlier tests may still be winding down: the least of three windows
	// is the decoder's own figure.
	allocs := math.Inf(1)
	for range 3 {
		allocs = min(allocs, testing.AllocsPerRun(10, next))
	}
	if err != nil {
		t.Fatal(err)
	}
	return allocs
}

// encodeScrolling encodes n rectangles of img, scrolled a pixel further each
// time, with one encoder, as a server sends a changing screen.
func encodeScrolling(t *testing.T, enc encoder, pf PixelFormat, r image.Rectangle, img ztImage, opts EncodeOptions, n int) []byte {
	t.Helper()
	var out bytes.Buffer
	for i := range n {
		scrolled := ztImage{at: func(x, y int) (uint8, uint8, uint8) { return img.at(x, y+i) }}
		if _, err := enc.encode(&out, pf, r, ztPixels(pf, r.Dx(), r.Dy(), scrolled), opts); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

func FuzzZRLE(f *testing.F) {
	images := ztImages()
	for i := range ztFormats {
		w, h := 1+i*37%48, 1+i*53%48
		f.Add(ztFuzzInput(&zrleEncoder{}, i, w, h, images[i%len(images)], EncodeOptions{Quality: -1, Compression: 6}, 3))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ztFuzzDecode(&zrleDecoder{}, data)
	})
}
