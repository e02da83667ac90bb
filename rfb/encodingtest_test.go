package rfb

// Test helpers shared by the tests and fuzz targets of the lossless encodings
// (Raw, CopyRect, RRE, CoRRE, Hextile, Zlib): pixel formats, test pictures,
// decoding whole messages, and the fuzz input layout and seed corpora.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type namedFormat struct {
	name string
	pf   PixelFormat
}

func bigEndian(pf PixelFormat) PixelFormat {
	pf.BigEndian = true
	return pf
}

// losslessFormats are the pixel formats every lossless encoding must carry
// bit for bit: each size, both byte orders, and a colour map.
var losslessFormats = []namedFormat{
	{"bgr233", Format8},
	{"colour-mapped", ColourMapped()},
	{"rgb565le", Format16},
	{"rgb565be", bigEndian(Format16)},
	{"rgb888le", Format32},
	{"rgb888be", bigEndian(Format32)},
	{"bgr888le", PixelFormat{BitsPerPixel: 32, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 0, GreenShift: 8, BlueShift: 16}},
}

// picture is a test image drawn by a function of the pixel format, so each
// format gets the same scene in its own pixel values.
type picture struct {
	name string
	w, h int
	draw func(pf PixelFormat, w, h int) []uint32
}

// pixelOf maps a colour to pf: true-colour formats convert it, colour-mapped
// ones take an index derived from it.
func pixelOf(pf PixelFormat, r, g, b uint8) uint32 {
	if !pf.TrueColour {
		return uint32(r/3 + g/3 + b/3)
	}
	return pf.FromRGB(r, g, b)
}

func solidScene(pf PixelFormat, w, h int) []uint32 {
	v := make([]uint32, w*h)
	for i := range v {
		v[i] = pixelOf(pf, 30, 90, 200)
	}
	return v
}

// textScene looks like a kiosk form: white page, a blue title bar, rows of
// dark glyphs with grey edges, a red button.
func textScene(pf PixelFormat, w, h int) []uint32 {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	white, ink, grey := pixelOf(pf, 255, 255, 255), pixelOf(pf, 20, 20, 30), pixelOf(pf, 150, 150, 160)
	blue, red := pixelOf(pf, 20, 60, 180), pixelOf(pf, 220, 30, 30)
	v := make([]uint32, w*h)
	for i := range v {
		v[i] = white
	}
	set := func(x, y int, c uint32) {
		if x >= 0 && y >= 0 && x < w && y < h {
			v[y*w+x] = c
		}
	}
	for y := 0; y < min(6, h); y++ {
		for x := 0; x < w; x++ {
			set(x, y, blue)
		}
	}
	for line := 9; line+7 <= h; line += 10 {
		for cx := 2; cx+5 <= w; cx += 6 {
			if rng.IntN(6) == 0 {
				continue // a space
			}
			for gy := 0; gy < 7; gy++ {
				for gx := 0; gx < 4; gx++ {
					if rng.IntN(3) == 0 {
						set(cx+gx, line+gy, ink)
						set(cx+gx+1, line+gy, grey)
					}
				}
			}
		}
	}
	for y := h - 8; y < h-2; y++ {
		for x := w - 14; x < w-2; x++ {
			set(x, y, red)
		}
	}
	return v
}

func noiseScene(pf PixelFormat, w, h int) []uint32 {
	rng := rand.New(rand.NewPCG(uint64(w)*31, uint64(h)))
	v := make([]uint32, w*h)
	for i := range v {
		// Raw bits, padding included: lossless means every bit survives.
		v[i] = rng.Uint32() & uint32(1<<pf.BitsPerPixel-1)
	}
	return v
}

func gradientScene(pf PixelFormat, w, h int) []uint32 {
	v := make([]uint32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v[y*w+x] = pixelOf(pf, uint8(x*255/max(1, w-1)), uint8(y*255/max(1, h-1)), uint8((x+y)*3))
		}
	}
	return v
}

// twoColourScene draws black and yellow, yellow where on says so.
func twoColourScene(on func(x, y int) bool) func(pf PixelFormat, w, h int) []uint32 {
	return func(pf PixelFormat, w, h int) []uint32 {
		v := make([]uint32, w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v[y*w+x] = pixelOf(pf, 0, 0, 0)
				if on(x, y) {
					v[y*w+x] = pixelOf(pf, 255, 255, 0)
				}
			}
		}
		return v
	}
}

// stripesScene has vertical stripes 3 pixels wide; checkerScene alternates
// every pixel, the worst case for subrectangles.
var (
	stripesScene = twoColourScene(func(x, y int) bool { return x/3%2 == 1 })
	checkerScene = twoColourScene(func(x, y int) bool { return (x+y)%2 == 1 })
)

// pictures are the round-trip images: every kind of content, at sizes that
// are and are not multiples of Hextile's 16, and degenerate ones.
var pictures = []picture{
	{"solid", 40, 33, solidScene},
	{"text", 70, 37, textScene},
	{"text-tiles", 64, 48, textScene},
	{"noise", 33, 17, noiseScene},
	{"gradient", 50, 20, gradientScene},
	{"stripes", 48, 32, stripesScene},
	{"checker", 19, 16, checkerScene},
	{"1x1", 1, 1, gradientScene},
	{"0x0", 0, 0, solidScene},
	{"0x5", 0, 5, solidScene},
	{"7x0", 7, 0, solidScene},
}

// pack converts pixel values to the packed bytes of pf.
func pack(pf PixelFormat, vals []uint32) []byte {
	bpp := pf.BytesPerPixel()
	b := make([]byte, len(vals)*bpp)
	for i, v := range vals {
		pf.PutPixel(b[i*bpp:], v)
	}
	return b
}

func (p picture) pixels(pf PixelFormat) []byte { return pack(pf, p.draw(pf, p.w, p.h)) }

// sentinelBuffer returns a w x h buffer whose bytes follow a pattern no
// decoder writes, so tests can tell which pixels a decoder touched.
func sentinelBuffer(w, h int, pf PixelFormat) *Buffer {
	fb := NewBuffer(w, h, pf)
	for i := range fb.Pix {
		fb.Pix[i] = byte(i*7 + 0xa5)
	}
	return fb
}

// outsideChanged reports the first pixel outside r that differs from the
// pattern sentinelBuffer wrote.
func outsideChanged(fb *Buffer, r image.Rectangle) (image.Point, bool) {
	bpp := fb.Format.BytesPerPixel()
	for y := 0; y < fb.Height; y++ {
		for x := 0; x < fb.Width; x++ {
			if (image.Point{x, y}).In(r) {
				continue
			}
			for k := 0; k < bpp; k++ {
				i := fb.offset(x, y) + k
				if fb.Pix[i] != byte(i*7+0xa5) {
					return image.Point{x, y}, true
				}
			}
		}
	}
	return image.Point{}, false
}

// decodeMessage decodes data, a sequence of rectangles with their 12-byte
// headers as encoders write them, into fb. It checks that every rectangle is
// inside fb and that the decoders read the data to its last byte, and
// returns the rectangles and their encodings.
func decodeMessage(decs map[Encoding]decoder, pf PixelFormat, fb *Buffer, data []byte) ([]image.Rectangle, []Encoding, error) {
	in := bufio.NewReader(bytes.NewReader(data))
	var rects []image.Rectangle
	var encs []Encoding
	for {
		var h [12]byte
		if n, _ := in.Read(h[:1]); n == 0 {
			return rects, encs, nil
		}
		if err := readFull(in, h[1:]); err != nil {
			return rects, encs, fmt.Errorf("rectangle header %d: %w", len(rects), err)
		}
		x, y := int(binary.BigEndian.Uint16(h[0:])), int(binary.BigEndian.Uint16(h[2:]))
		r := image.Rect(x, y, x+int(binary.BigEndian.Uint16(h[4:])), y+int(binary.BigEndian.Uint16(h[6:])))
		enc := Encoding(int32(binary.BigEndian.Uint32(h[8:])))
		if !r.In(fb.Bounds()) && !r.Empty() {
			return rects, encs, fmt.Errorf("rectangle %d: %v lies outside %v", len(rects), r, fb.Bounds())
		}
		dec, ok := decs[enc]
		if !ok {
			return rects, encs, fmt.Errorf("rectangle %d: no decoder for %v", len(rects), enc)
		}
		if err := dec.decode(in, pf, r, fb); err != nil {
			return rects, encs, fmt.Errorf("rectangle %d (%v %v): %w", len(rects), enc, r, err)
		}
		rects, encs = append(rects, r), append(encs, enc)
	}
}

// decodePayload decodes one rectangle's payload (no header) and reports an
// error also when the decoder left bytes of it unread.
func decodePayload(dec decoder, pf PixelFormat, r image.Rectangle, fb Framebuffer, payload []byte) error {
	in := bufio.NewReaderSize(bytes.NewReader(payload), 16)
	if err := dec.decode(in, pf, r, fb); err != nil {
		return err
	}
	if n, _ := in.Discard(len(payload)); n > 0 {
		return fmt.Errorf("decoder left %d of %d bytes unread", n, len(payload))
	}
	return nil
}

// roundTrip encodes every picture in every lossless format with enc, decodes
// the result into a larger framebuffer with the client's decoders and
// compares the pixels; it returns the encoded sizes by picture and format.
func roundTrip(t *testing.T, newEnc func() encoder, opts EncodeOptions) map[string]int {
	t.Helper()
	sizes := map[string]int{}
	for _, f := range losslessFormats {
		for _, p := range pictures {
			name := p.name + "/" + f.name
			t.Run(name, func(t *testing.T) {
				pix := p.pixels(f.pf)
				r := image.Rect(3, 2, 3+p.w, 2+p.h)
				var out bytes.Buffer
				n, err := newEnc().encode(&out, f.pf, r, pix, opts)
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				sizes[name] = out.Len()
				fb := sentinelBuffer(p.w+5, p.h+4, f.pf)
				rects, _, err := decodeMessage(newDecoders(), f.pf, fb, out.Bytes())
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if len(rects) != n {
					t.Errorf("encoder reported %d rectangles, wrote %d", n, len(rects))
				}
				if got := fb.ReadPixels(nil, r); !bytes.Equal(got, pix) {
					t.Errorf("decoded pixels differ from the picture at %v", firstDiff(got, pix, f.pf, p.w))
				}
				if pt, bad := outsideChanged(fb, r); bad {
					t.Errorf("pixel %v outside %v was written", pt, r)
				}
			})
		}
	}
	return sizes
}

// firstDiff names the first differing pixel of two packed images w wide.
func firstDiff(got, want []byte, pf PixelFormat, w int) string {
	if len(got) != len(want) {
		return fmt.Sprintf("lengths %d and %d", len(got), len(want))
	}
	bpp := pf.BytesPerPixel()
	for i := 0; i < len(got); i += bpp {
		if !bytes.Equal(got[i:i+bpp], want[i:i+bpp]) {
			p := i / bpp
			return fmt.Sprintf("(%d,%d): got %#x, want %#x", p%w, p/w, pf.Pixel(got[i:]), pf.Pixel(want[i:]))
		}
	}
	return "nowhere"
}

// assertTruncationsFail decodes every strict prefix of payload, which decodes
// whole, and expects an error for each.
func assertTruncationsFail(t *testing.T, newDec func() decoder, pf PixelFormat, r image.Rectangle, payload []byte) {
	t.Helper()
	for n := 0; n < len(payload); n++ {
		fb := NewBuffer(r.Max.X, r.Max.Y, pf)
		if err := newDec().decode(bufio.NewReaderSize(bytes.NewReader(payload[:n]), 16), pf, r, fb); err == nil {
			t.Fatalf("payload cut to %d of %d bytes decoded without error", n, len(payload))
		}
	}
}

// Fuzz inputs: data[0] picks the pixel format, data[1] and data[2] the
// rectangle's width and height (0..64), data[3] its offset (0..7 each way) in
// a 72x72 framebuffer; the rest is the payload of up to four rectangles of
// that size in a row, so state kept across rectangles is exercised.
const (
	fuzzHeader   = 4
	fuzzMaxSide  = 64
	fuzzFBSide   = fuzzMaxSide + 8
	fuzzMaxRects = 4
)

func fuzzInput(format, w, h, offset int, payloads ...[]byte) []byte {
	b := []byte{byte(format), byte(w), byte(h), byte(offset)}
	for _, p := range payloads {
		b = append(b, p...)
	}
	return b
}

// fuzzDecoder is the body of the decoder fuzz targets: seeds, then
// fuzzDecode with a fresh decoder per input. check, if not nil, looks at the
// decoder's scratch buffers after each rectangle.
func fuzzDecoder(f *testing.F, seeds [][]byte, newDec func() decoder, check func(decoder) error) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := newDec()
		fuzzDecode(t, data, dec, func() error {
			if check == nil {
				return nil
			}
			return check(dec)
		})
	})
}

// fuzzDecode decodes a fuzz input with dec and fails the test if the decoder
// wrote outside its rectangle or if check, which looks at the decoder's
// scratch buffers, finds one larger than the rectangle can need. It returns
// the first decoding error.
func fuzzDecode(t *testing.T, data []byte, dec decoder, check func() error) error {
	if len(data) < fuzzHeader {
		return nil
	}
	f := losslessFormats[int(data[0])%len(losslessFormats)]
	w, h := int(data[1])%(fuzzMaxSide+1), int(data[2])%(fuzzMaxSide+1)
	ox, oy := int(data[3]&7), int(data[3]>>3&7)
	r := image.Rect(ox, oy, ox+w, oy+h)
	fb := sentinelBuffer(fuzzFBSide, fuzzFBSide, f.pf)
	if crd, ok := dec.(*copyRectDecoder); ok {
		crd.bounds = fb.Bounds()
	}
	in := bufio.NewReaderSize(bytes.NewReader(data[fuzzHeader:]), 16)
	var err error
	for i := 0; i < fuzzMaxRects && err == nil; i++ {
		if _, perr := in.Peek(1); perr != nil {
			break
		}
		err = dec.decode(in, f.pf, r, fb)
		if pt, bad := outsideChanged(fb, r); bad {
			t.Fatalf("%s %v: rectangle %d wrote pixel %v outside the rectangle", f.name, r, i, pt)
		}
		if cerr := check(); cerr != nil {
			t.Fatalf("%s %v: rectangle %d: %v", f.name, r, i, cerr)
		}
	}
	return err
}

// fuzzFormatIndex returns the index of the named format in losslessFormats.
func fuzzFormatIndex(name string) int {
	for i, f := range losslessFormats {
		if f.name == name {
			return i
		}
	}
	panic("no format " + name)
}

// seedInputs encodes small pictures in a few formats with newEnc and returns
// fuzz inputs whose payloads are one to three rectangles from one encoder.
func seedInputs(t testing.TB, newEnc func() encoder) [][]byte {
	var seeds [][]byte
	for _, fname := range []string{"bgr233", "rgb565be", "rgb888le"} {
		fi := fuzzFormatIndex(fname)
		pf := losslessFormats[fi].pf
		for _, pic := range []picture{
			{"text", 21, 18, textScene},
			{"stripes", 17, 16, stripesScene},
			{"noise", 5, 3, noiseScene},
			{"solid", 9, 9, solidScene},
		} {
			enc := newEnc()
			r := image.Rect(1, 2, 1+pic.w, 2+pic.h)
			var payloads [][]byte
			for _, draw := range []func(PixelFormat, int, int) []uint32{pic.draw, gradientScene, pic.draw} {
				var out bytes.Buffer
				if _, err := enc.encode(&out, pf, r, pack(pf, draw(pf, pic.w, pic.h)), EncodeOptions{Compression: 6}); err != nil {
					t.Fatalf("seed %s/%s: %v", pic.name, fname, err)
				}
				payloads = append(payloads, out.Bytes()[12:])
			}
			offset := r.Min.X | r.Min.Y<<3
			seeds = append(seeds, fuzzInput(fi, pic.w, pic.h, offset, payloads[0]))
			if pic.name == "text" || pic.name == "noise" {
				seeds = append(seeds, fuzzInput(fi, pic.w, pic.h, offset, payloads...))
			}
		}
	}
	return seeds
}

// checkSeedCorpus keeps the committed corpus of a fuzz target in step with
// its seeds: with RFB_WRITE_FUZZ_CORPUS=1 it rewrites testdata/fuzz/<name>/
// seed-* from seeds; otherwise it checks that every committed seed is in Go's
// corpus format and decodes without error.
func checkSeedCorpus(t *testing.T, name string, seeds [][]byte, newDec func() decoder) {
	dir := filepath.Join("testdata", "fuzz", name)
	if os.Getenv("RFB_WRITE_FUZZ_CORPUS") == "1" {
		old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
		for _, f := range old {
			os.Remove(f)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	if len(files) == 0 {
		t.Fatalf("no committed seed corpus in %s; run with RFB_WRITE_FUZZ_CORPUS=1", dir)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		head, value, ok := strings.Cut(strings.TrimSpace(string(body)), "\n")
		if !ok || head != "go test fuzz v1" || !strings.HasPrefix(value, "[]byte(") || !strings.HasSuffix(value, ")") {
			t.Fatalf("%s is not a Go fuzz corpus file of one []byte", file)
		}
		data, err := strconv.Unquote(value[len("[]byte(") : len(value)-1])
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := fuzzDecode(t, []byte(data), newDec(), func() error { return nil }); err != nil {
			t.Errorf("%s: seed does not decode: %v", file, err)
		}
	}
}

// scratchWithin reports a scratch buffer that grew past what a fuzz
// rectangle can need.
func scratchWithin(name string, size, limit int) error {
	if size > limit {
		return fmt.Errorf("%s scratch holds %d bytes; a rectangle of at most %dx%d needs %d", name, size, fuzzMaxSide, fuzzMaxSide, limit)
	}
	return nil
}

// refImage is an expected picture painted by the test itself, independently
// of any decoder, as pixel values.
type refImage struct {
	w, h int
	v    []uint32
}

func newRefImage(w, h int, bg uint32) *refImage {
	m := &refImage{w: w, h: h, v: make([]uint32, w*h)}
	m.fill(0, 0, w, h, bg)
	return m
}

func (m *refImage) fill(x, y, w, h int, v uint32) {
	for j := y; j < y+h; j++ {
		for i := x; i < x+w; i++ {
			m.v[j*m.w+i] = v
		}
	}
}

// check compares the pixels of r in fb with m.
func (m *refImage) check(t *testing.T, fb *Buffer, r image.Rectangle) {
	t.Helper()
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; x++ {
			got := fb.Format.Pixel(fb.Pix[fb.offset(r.Min.X+x, r.Min.Y+y):])
			if want := m.v[y*m.w+x]; got != want {
				t.Fatalf("pixel (%d,%d) of the rectangle = %#x, want %#x", x, y, got, want)
			}
		}
	}
	if pt, bad := outsideChanged(fb, r); bad {
		t.Fatalf("pixel %v outside %v was written", pt, r)
	}
}

// pixelBytes returns v packed in pf.
func pixelBytes(pf PixelFormat, v uint32) []byte {
	b := make([]byte, pf.BytesPerPixel())
	pf.PutPixel(b, v)
	return b
}

// Lossless decoders must not allocate per rectangle once warm: a wall decodes
// thousands of rectangles a second.
//
// The Zlib case sends stored blocks: compress/flate allocates link tables for
// every dynamic Huffman block with codes over 9 bits, a cost of the standard
// inflater that no decoder on top of it can avoid; the test logs it.
func TestDecodeAllocs(t *testing.T) {
	tests := []struct {
		name    string
		enc     encoder
		dec     decoder
		pf      PixelFormat
		pic     picture
		level   int
		logOnly bool
	}{
		{"raw", rawEncoder{}, &rawDecoder{}, Format32, picture{"text", 64, 48, textScene}, 0, false},
		{"rre", &rreEncoder{}, &rreDecoder{}, Format16, picture{"text", 64, 48, textScene}, 0, false},
		{"corre", &rreEncoder{compact: true}, &rreDecoder{compact: true}, Format8, picture{"text", 64, 48, textScene}, 0, false},
		{"hextile", &hextileEncoder{}, &hextileDecoder{}, Format32, picture{"tile states", 80, 48, tileStatesScene}, 0, false},
		{"hextile-text", &hextileEncoder{}, &hextileDecoder{}, bigEndian(Format16), picture{"text", 70, 37, textScene}, 0, false},
		{"zlib", &zlibEncoder{}, &zlibDecoder{}, Format32, picture{"text", 200, 120, textScene}, 0, false},
		{"zlib-deflated", &zlibEncoder{}, &zlibDecoder{}, Format32, picture{"text", 200, 120, textScene}, 6, true},
	}
	const runs = 50
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := image.Rect(0, 0, tt.pic.w, tt.pic.h)
			pix := tt.pic.pixels(tt.pf)
			// AllocsPerRun runs once more than asked, to warm up.
			var all bytes.Buffer
			for i := 0; i < runs+1; i++ {
				var out bytes.Buffer
				if _, err := tt.enc.encode(&out, tt.pf, r, pix, EncodeOptions{Compression: tt.level}); err != nil {
					t.Fatal(err)
				}
				all.Write(out.Bytes()[12:])
			}
			in := bufio.NewReader(bytes.NewReader(all.Bytes()))
			fb := NewBuffer(r.Dx(), r.Dy(), tt.pf)
			var err error
			allocs := testing.AllocsPerRun(runs, func() {
				if e := tt.dec.decode(in, tt.pf, r, fb); e != nil && err == nil {
					err = e
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.logOnly:
				t.Logf("%v allocations per rectangle", allocs)
			case allocs != 0:
				t.Errorf("%v allocations per rectangle, want 0", allocs)
			}
			if got := fb.ReadPixels(nil, r); !bytes.Equal(got, pix) {
				t.Errorf("last rectangle decoded wrong at %s", firstDiff(got, pix, tt.pf, r.Dx()))
			}
		})
	}
}
