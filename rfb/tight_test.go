package rfb

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"strings"
	"testing"
)

// tpix32 is the TPIXEL of a colour in a 24-bit 32 bpp format: R, G, B.
func tpix32(c byte) []byte {
	rgb := ztColours[c]
	return rgb[:]
}

// tpixels is the TPIXELs of rows of colour letters in pf.
func tpixels(pf PixelFormat, rows ...string) []byte {
	var out []byte
	for _, c := range []byte(strings.Join(rows, "")) {
		if pf.TightRGB() {
			out = append(out, tpix32(c)...)
			continue
		}
		rgb := ztColours[c]
		p := make([]byte, pf.BytesPerPixel())
		pf.PutPixel(p, pf.FromRGB(rgb[0], rgb[1], rgb[2]))
		out = append(out, p...)
	}
	return out
}

// tightBasic is a basic-compression payload: control byte, extra (filter id,
// palette), then data, through s unless it is shorter than 12 bytes.
func (s *zlibStream) tightBasic(ctl byte, extra, data []byte) []byte {
	out := append([]byte{ctl}, extra...)
	if len(data) < 12 {
		return append(out, data...)
	}
	z := s.compress(data)
	return append(appendCompactLength(out, len(z)), z...)
}

// gradientReference filters TPIXEL rows with the spec's pseudo-code, written
// out plainly: channels in arrays, V outside the rectangle zero.
func gradientReference(pf PixelFormat, w, h int, tp []byte) []byte {
	tps := pf.TightPixelSize()
	shift := []uint{uint(pf.RedShift), uint(pf.GreenShift), uint(pf.BlueShift)}
	maxv := []int{int(pf.RedMax), int(pf.GreenMax), int(pf.BlueMax)}
	if pf.TightRGB() {
		shift, maxv = []uint{16, 8, 0}, []int{255, 255, 255}
	}
	value := func(i int) uint32 {
		if pf.TightRGB() {
			return uint32(tp[i*3])<<16 | uint32(tp[i*3+1])<<8 | uint32(tp[i*3+2])
		}
		return pf.Pixel(tp[i*tps:])
	}
	V := func(x, y, c int) int {
		if x < 0 || y < 0 {
			return 0
		}
		return int(value(y*w+x) >> shift[c] & uint32(maxv[c]))
	}
	out := make([]byte, len(tp))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var d uint32
			for c := 0; c < 3; c++ {
				P := V(x-1, y, c) + V(x, y-1, c) - V(x-1, y-1, c)
				P = min(max(P, 0), maxv[c])
				d |= uint32((V(x, y, c)-P)&maxv[c]) << shift[c]
			}
			i := y*w + x
			if pf.TightRGB() {
				out[i*3], out[i*3+1], out[i*3+2] = byte(d>>16), byte(d>>8), byte(d)
			} else {
				pf.PutPixel(out[i*tps:], d)
			}
		}
	}
	return out
}

// packRows packs rows of '0'/'1' into bytes, a row padded to whole bytes.
func packRows(rows ...string) []byte {
	var out []byte
	for _, row := range rows {
		for i := 0; i < len(row); i += 8 {
			var b byte
			for j := 0; j < 8; j++ {
				b <<= 1
				if i+j < len(row) && row[i+j] == '1' {
					b |= 1
				}
			}
			out = append(out, b)
		}
	}
	return out
}

func TestTightDecodeMethods(t *testing.T) {
	rgb16 := func(rows ...string) []byte { return tpixels(Format16, rows...) }
	tests := []struct {
		name    string
		pf      PixelFormat
		payload func(s *zlibStream) []byte
		want    []string
	}{
		{"fill", Format32, func(*zlibStream) []byte { return joinBytes([]byte{0x80}, tpix32('Y')) }, []string{"YYY", "YYY"}},
		{"fill 565", Format16, func(*zlibStream) []byte { return joinBytes([]byte{0x80}, rgb16("B")) }, []string{"BBBB"}},
		{"copy, too short to compress", Format32, func(s *zlibStream) []byte {
			return s.tightBasic(0x00, nil, tpixels(Format32, "RB"))
		}, []string{"RB"}},
		{"copy, compressed", Format32, func(s *zlibStream) []byte {
			return s.tightBasic(0x00, nil, tpixels(Format32, "RGBW", "KYMR"))
		}, []string{"RGBW", "KYMR"}},
		{"copy filter named, stream 3", Format32, func(s *zlibStream) []byte {
			return s.tightBasic(0x70, []byte{tightCopyFilter}, tpixels(Format32, "RGBW", "KYMR"))
		}, []string{"RGBW", "KYMR"}},
		{"copy 565", Format16, func(s *zlibStream) []byte {
			return s.tightBasic(0x10, nil, rgb16("RGB", "WKY"))
		}, []string{"RGB", "WKY"}},
		{"palette, 2 colours, padded rows", Format32, func(s *zlibStream) []byte {
			return s.tightBasic(0x50, joinBytes([]byte{tightPaletteFilter, 1}, tpix32('K'), tpix32('W')),
				packRows("1011000001", "0000000111"))
		}, []string{"WKWWKKKKKW", "KKKKKKKWWW"}},
		{"palette, 2 colours, compressed", Format32, func(s *zlibStream) []byte {
			return s.tightBasic(0x50, joinBytes([]byte{tightPaletteFilter, 1}, tpix32('R'), tpix32('G')),
				packRows(strings.Repeat("01", 20), strings.Repeat("1", 40), strings.Repeat("0", 40)))
		}, []string{strings.Repeat("RG", 20), strings.Repeat("G", 40), strings.Repeat("R", 40)}},
		{"palette, 3 colours", Format32, func(s *zlibStream) []byte {
			return s.tightBasic(0x60, joinBytes([]byte{tightPaletteFilter, 2}, tpix32('R'), tpix32('G'), tpix32('B')),
				[]byte{0, 1, 2, 1, 2, 2, 0, 0, 1, 1, 1, 1, 0, 2, 0, 2})
		}, []string{"RGBG", "BBRR", "GGGG", "RBRB"}},
		{"palette 565", Format16, func(s *zlibStream) []byte {
			return s.tightBasic(0x60, joinBytes([]byte{tightPaletteFilter, 2}, rgb16("R", "G", "W")), []byte{2, 1, 0})
		}, []string{"WGR"}},
		{"gradient", Format32, func(s *zlibStream) []byte {
			return s.tightBasic(0x60, []byte{tightGradientFilter}, gradientReference(Format32, 4, 3, tpixels(Format32, "WKWK", "KWKM", "WWKK")))
		}, []string{"WKWK", "KWKM", "WWKK"}},
		{"gradient, short", Format32, func(s *zlibStream) []byte {
			return s.tightBasic(0x40, []byte{tightGradientFilter}, gradientReference(Format32, 1, 3, tpixels(Format32, "M", "W", "Y")))
		}, []string{"M", "W", "Y"}},
		{"gradient 565", Format16, func(s *zlibStream) []byte {
			return s.tightBasic(0x40, []byte{tightGradientFilter}, gradientReference(Format16, 4, 3, rgb16("WKWK", "KWKR", "GYBK")))
		}, []string{"WKWK", "KWKR", "GYBK"}},
		{"gradient 565 big endian", withBigEndian(Format16), func(s *zlibStream) []byte {
			be := withBigEndian(Format16)
			return s.tightBasic(0x40, []byte{tightGradientFilter}, gradientReference(be, 3, 2, tpixels(be, "WKY", "BGR")))
		}, []string{"WKY", "BGR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := image.Rect(1, 2, 1+len(tt.want[0]), 2+len(tt.want))
			fb := NewBuffer(r.Max.X+1, r.Max.Y+1, tt.pf)
			in := bufio.NewReader(bytes.NewReader(tt.payload(newZlibStream())))
			if err := (&tightDecoder{}).decode(in, tt.pf, r, fb); err != nil {
				t.Fatal(err)
			}
			checkRGB(t, fb, r.Min, tt.want)
			if n, _ := in.Read(make([]byte, 1)); n != 0 {
				t.Error("decoder left payload bytes unread")
			}
		})
	}
}

func TestTightDecodeColourMapped(t *testing.T) {
	pf := ColourMapped()
	tests := []struct {
		name    string
		payload []byte
		want    []byte
	}{
		{"fill", []byte{0x80, 7}, []byte{7, 7, 7}},
		{"copy", []byte{0x00, 9, 8, 7}, []byte{9, 8, 7}},
		{"palette", []byte{0x50, tightPaletteFilter, 1, 200, 100, 0b01100000}, []byte{200, 100, 100}},
	}
	for _, tt := range tests {
		fb := NewBuffer(3, 1, pf)
		if err := (&tightDecoder{}).decode(bufio.NewReader(bytes.NewReader(tt.payload)), pf, fb.Bounds(), fb); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !bytes.Equal(fb.Pix, tt.want) {
			t.Errorf("%s: pixels %v, want %v", tt.name, fb.Pix, tt.want)
		}
	}
}

// TestTightDecodeResetBits checks that a reset bit restarts its stream before
// the rectangle is decoded, whatever the rectangle's method.
func TestTightDecodeResetBits(t *testing.T) {
	data := tpixels(Format32, "RGBW", "KYMR")
	tests := []struct {
		name   string
		second func(fresh *zlibStream) []byte // after a rectangle on stream 1
		third  func(fresh *zlibStream) []byte
		ok     bool
	}{
		{"reset on a fill", func(*zlibStream) []byte { return joinBytes([]byte{0x82}, tpix32('Y')) },
			func(f *zlibStream) []byte { return f.tightBasic(0x10, nil, data) }, true},
		{"reset on a JPEG", func(*zlibStream) []byte { return jpegPayload(t, 0x92, 4, 2) },
			func(f *zlibStream) []byte { return f.tightBasic(0x10, nil, data) }, true},
		{"reset on the rectangle itself", func(f *zlibStream) []byte { return f.tightBasic(0x12, nil, data) },
			func(f *zlibStream) []byte { return f.tightBasic(0x10, nil, data) }, true},
		{"other streams untouched", func(*zlibStream) []byte { return joinBytes([]byte{0x8d}, tpix32('Y')) },
			nil, true},
		{"no reset: a fresh stream is garbage", func(*zlibStream) []byte { return joinBytes([]byte{0x80}, tpix32('Y')) },
			func(f *zlibStream) []byte { return f.tightBasic(0x10, nil, data) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, fresh := newZlibStream(), newZlibStream()
			payload := joinBytes(old.tightBasic(0x10, nil, data), tt.second(fresh))
			if tt.third != nil {
				payload = append(payload, tt.third(fresh)...)
			} else {
				payload = append(payload, old.tightBasic(0x10, nil, data)...) // the old stream goes on
			}
			in := bufio.NewReader(bytes.NewReader(payload))
			dec := &tightDecoder{}
			fb := NewBuffer(4, 2, Format32)
			var err error
			for i := 0; i < 3 && err == nil; i++ {
				clear(fb.Pix)
				err = dec.decode(in, Format32, fb.Bounds(), fb)
			}
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				checkRGB(t, fb, image.Point{}, []string{"RGBW", "KYMR"})
				return
			}
			if err == nil && bytes.Equal(fb.Pix, tpixelsTo32(data)) {
				t.Error("a new stream decoded without its reset bit")
			}
		})
	}
}

// tpixelsTo32 converts RGB TPIXELs to Format32 PIXELs.
func tpixelsTo32(tp []byte) []byte {
	var out []byte
	for i := 0; i < len(tp); i += 3 {
		out = append(out, tp[i+2], tp[i+1], tp[i], 0)
	}
	return out
}

// jpegPayload is a JPEG rectangle of w x h: left half red, right half blue.
func jpegPayload(t *testing.T, ctl byte, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{255, 0, 0, 255}
			if x >= w/2 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return append(appendCompactLength([]byte{ctl}, b.Len()), b.Bytes()...)
}

func TestTightDecodeJPEG(t *testing.T) {
	for _, pf := range []PixelFormat{Format32, Format16, ztFormats[12].pf} {
		fb := NewBuffer(16, 16, pf)
		if err := (&tightDecoder{}).decode(bufio.NewReader(bytes.NewReader(jpegPayload(t, 0x90, 16, 16))), pf, fb.Bounds(), fb); err != nil {
			t.Fatalf("%v: %v", pf, err)
		}
		for y := 0; y < 16; y++ {
			for x := 0; x < 16; x++ {
				want := [3]int{255, 0, 0}
				if x >= 8 {
					want = [3]int{0, 0, 255}
				}
				r, g, b := fb.RGBAt(x, y)
				for c, v := range [3]int{int(r), int(g), int(b)} {
					if math.Abs(float64(v-want[c])) > 12 {
						t.Fatalf("%v: pixel (%d,%d) is %d,%d,%d, want about %v", pf, x, y, r, g, b, want)
					}
				}
			}
		}
	}
}

// TestTightCompactLengths decodes copy-filter rectangles whose zlib data is
// exactly as long as the compact length's boundaries. The zlib data is built
// by hand from stored blocks, so its length is known to the byte.
func TestTightCompactLengths(t *testing.T) {
	tests := []struct {
		length  int
		encoded []byte
	}{
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{16383, []byte{0xff, 0x7f}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{4194303, []byte{0xff, 0xff, 0xff}},
	}
	pf := ColourMapped()
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.length), func(t *testing.T) {
			w, h, blocks := storedLayout(tt.length)
			data := make([]byte, w*h)
			for i := range data {
				data[i] = byte(i * 7 % 251)
			}
			z := storedZlib(data, blocks)
			if len(z) != tt.length {
				t.Fatalf("test bug: zlib data is %d bytes, want %d", len(z), tt.length)
			}
			in := bufio.NewReader(bytes.NewReader(joinBytes([]byte{0x00}, tt.encoded, z)))
			fb := NewBuffer(w, h, pf)
			if err := (&tightDecoder{}).decode(in, pf, fb.Bounds(), fb); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fb.Pix, data) {
				t.Error("decoded pixels differ from the data")
			}
			if n, _ := in.Read(make([]byte, 1)); n != 0 {
				t.Error("decoder left payload bytes unread")
			}
		})
	}
}

// storedLayout finds a rectangle of w x h one-byte pixels and a number of
// stored blocks that make zlib data exactly length bytes long: 2 bytes of
// header, 5 a block, and the data.
func storedLayout(length int) (w, h, blocks int) {
	for blocks = 1; ; blocks++ {
		n := length - 2 - 5*blocks
		if n <= 0 {
			panic("no layout")
		}
		if (n+0xffff-1)/0xffff > blocks {
			continue
		}
		for w = min(n, tightMaxWidth); w > 0 && n/w <= 0xffff; w-- {
			if n%w == 0 {
				return w, n / w, blocks
			}
		}
	}
}

// storedZlib is a zlib stream of data in the given number of stored,
// non-final blocks (so no checksum), the last ones possibly empty.
func storedZlib(data []byte, blocks int) []byte {
	z := []byte{0x78, 0x01}
	per := (len(data) + blocks - 1) / blocks
	for i := 0; i < blocks; i++ {
		part := data[min(i*per, len(data)):min((i+1)*per, len(data))]
		n := len(part)
		z = append(z, 0, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		z = append(z, part...)
	}
	return z
}

// TestTightLeftoverSurvivesLargerRectangle: when a rectangle's data ends
// exactly as the inflater's 32 KiB window fills, the flush marker after it is
// left for the next rectangle, and must survive that rectangle's bigger
// payload growing the buffer.
func TestTightLeftoverSurvivesLargerRectangle(t *testing.T) {
	pf := ColourMapped()
	s := newZlibStreamLevel(zlib.NoCompression)
	first, second := bytes.Repeat([]byte{1}, 2048*16), bytes.Repeat([]byte{2}, 2048*20)
	in := bufio.NewReader(bytes.NewReader(joinBytes(s.tightBasic(0x00, nil, first), s.tightBasic(0x00, nil, second))))
	dec := &tightDecoder{}
	fb := NewBuffer(2048, 36, pf)
	for _, r := range []image.Rectangle{image.Rect(0, 0, 2048, 16), image.Rect(0, 16, 2048, 36)} {
		if err := dec.decode(in, pf, r, fb); err != nil {
			t.Fatalf("rectangle %v: %v", r, err)
		}
	}
	if !bytes.Equal(fb.Pix, joinBytes(first, second)) {
		t.Error("decoded pixels differ from the data")
	}
}

func TestTightDecodeRejects(t *testing.T) {
	z := newZlibStream
	jpeg8x8 := jpegPayload(t, 0x90, 8, 8)
	tests := []struct {
		name    string
		pf      PixelFormat
		w       int
		payload []byte
		proto   bool
	}{
		{"basic without zlib", Format32, 3, []byte{0xa0, 0, 0, 0}, true},
		{"basic without zlib, filter", Format32, 3, []byte{0xe0, 0}, true},
		{"method 0xb", Format32, 3, []byte{0xb0}, true},
		{"method 0xc", Format32, 3, []byte{0xc0}, true},
		{"method 0xf", Format32, 3, []byte{0xff}, true},
		{"filter 3", Format32, 3, []byte{0x40, 3}, true},
		{"palette of 1 colour", Format32, 3, joinBytes([]byte{0x40, 1, 0}, tpix32('R')), true},
		{"palette index beyond the palette", Format32, 3,
			joinBytes([]byte{0x40, 1, 2}, tpix32('R'), tpix32('G'), tpix32('B'), []byte{0, 1, 2, 3, 0, 0}), true},
		{"gradient at 8 bpp", Format8, 3, []byte{0x40, 2, 0, 0, 0, 0, 0, 0}, true},
		{"gradient colour-mapped", ColourMapped(), 3, []byte{0x40, 2, 0, 0, 0, 0, 0, 0}, true},
		{"JPEG colour-mapped", ColourMapped(), 3, []byte{0x90, 0}, true},
		{"JPEG of the wrong size", Format32, 3, jpeg8x8, true},
		{"JPEG that is not", Format32, 3, []byte{0x90, 5, 'h', 'e', 'l', 'l', 'o'}, true},
		{"JPEG longer than the rectangle can need", Format32, 3, []byte{0x90, 0xff, 0xff, 0xff}, true},
		{"basic on 2049 pixels", Format32, 2049, []byte{0x00, 0x80, 0x01}, true},
		{"zlib longer than the data can need", Format32, 3, []byte{0x00, 0xff, 0x7f}, true},
		{"not zlib", Format32, 3, joinBytes([]byte{0x00, 8}, []byte("not zlib")), true},
		{"zlib data ends early", Format32, 3, z().tightBasic(0x00, nil, bytes.Repeat([]byte{1}, 12)), true},
		{"fill cut short", Format32, 3, []byte{0x80, 1, 2}, false},
		{"raw data cut short", Format32, 1, []byte{0x00, 1, 2}, false},
		{"palette cut short", Format32, 3, []byte{0x40, 1, 1, 0, 0}, false},
		{"compact length cut short", Format32, 3, []byte{0x00, 0x80}, false},
		{"zlib data cut short", Format32, 3, []byte{0x00, 20, 0x78, 0x9c}, false},
		{"nothing", Format32, 3, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := image.Rect(0, 0, tt.w, 2)
			fb := NewBuffer(tt.w, 2, tt.pf)
			err := (&tightDecoder{}).decode(bufio.NewReader(bytes.NewReader(tt.payload)), tt.pf, r, fb)
			checkDecodeError(t, err, tt.proto)
		})
	}
}

// tightRoundTrip encodes pix (the pixels of r) with enc, decodes the result
// with dec into a fresh buffer and returns it and the rectangles written,
// after checking they tile r exactly within Tight's limits.
func tightRoundTrip(t *testing.T, enc *tightEncoder, dec *tightDecoder, pf PixelFormat, r image.Rectangle, pix []byte, opts EncodeOptions) (*Buffer, []ztRect) {
	t.Helper()
	var out bytes.Buffer
	n, err := enc.encode(&out, pf, r, pix, opts)
	if err != nil {
		t.Fatal(err)
	}
	fb := NewBuffer(r.Max.X+2, r.Max.Y+1, pf)
	rects := decodeAll(t, dec, pf, fb, out.Bytes())
	if n != len(rects) {
		t.Fatalf("encoder said %d rectangles and wrote %d", n, len(rects))
	}
	covered := make([]int, r.Dx()*r.Dy())
	for _, rect := range rects {
		if rect.enc != EncTight || !rect.r.In(r) || rect.r.Empty() || rect.r.Dx() > tightMaxWidth {
			t.Fatalf("encoder wrote %v %v for %v", rect.enc, rect.r, r)
		}
		for y := rect.r.Min.Y; y < rect.r.Max.Y; y++ {
			for x := rect.r.Min.X; x < rect.r.Max.X; x++ {
				covered[(y-r.Min.Y)*r.Dx()+x-r.Min.X]++
			}
		}
	}
	for i, k := range covered {
		if k != 1 {
			t.Fatalf("pixel %v written by %d rectangles", image.Pt(r.Min.X+i%r.Dx(), r.Min.Y+i/r.Dx()), k)
		}
	}
	return fb, rects
}

func TestTightRoundTripLossless(t *testing.T) {
	for _, f := range ztFormats {
		t.Run(f.name, func(t *testing.T) {
			enc, dec := &tightEncoder{}, &tightDecoder{}
			// JPEG is not allowed at 8 bpp: asking for it must change nothing.
			opts := EncodeOptions{Quality: -1, Compression: 6}
			if f.pf.BitsPerPixel == 8 {
				opts.Quality = 80
			}
			for _, img := range ztImages() {
				for _, size := range ztSizes {
					r := image.Rectangle{Max: size}.Add(image.Pt(3, 5))
					pix := ztPixels(f.pf, size.X, size.Y, img)
					fb, _ := tightRoundTrip(t, enc, dec, f.pf, r, pix, opts)
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

// psnr is the peak signal-to-noise ratio of b against a over r, in dB.
func psnr(a, b *Buffer, r image.Rectangle) float64 {
	var se float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab := a.RGBAt(x, y)
			br, bg, bb := b.RGBAt(x, y)
			for _, d := range []float64{float64(ar) - float64(br), float64(ag) - float64(bg), float64(ab) - float64(bb)} {
				se += d * d
			}
		}
	}
	mse := se / float64(3*r.Dx()*r.Dy())
	return 10 * math.Log10(255*255/mse)
}

func TestTightJPEGRoundTrip(t *testing.T) {
	tests := []struct {
		pf      PixelFormat
		quality int
		minPSNR float64
	}{
		{Format32, 80, 30},
		{withBigEndian(Format32), 80, 30},
		{Format16, 80, 28}, // 565 rounding adds to JPEG's loss
		{Format32, 20, 25},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v q%d", tt.pf, tt.quality), func(t *testing.T) {
			r := image.Rect(0, 0, 300, 180)
			pix := ztPixels(tt.pf, r.Dx(), r.Dy(), ztImage{at: ztPhoto})
			fb, rects := tightRoundTrip(t, &tightEncoder{}, &tightDecoder{}, tt.pf, r, pix, EncodeOptions{Quality: tt.quality, Compression: 6})
			for _, rect := range rects {
				if rect.ctl[0]>>4 != tightJPEG {
					t.Errorf("rectangle %v has control byte %#02x, want JPEG", rect.r, rect.ctl[0])
				}
			}
			src := NewBuffer(fb.Width, fb.Height, tt.pf)
			src.WritePixels(r, pix)
			if got := psnr(src, fb, r); got < tt.minPSNR {
				t.Errorf("PSNR %.1f dB, want at least %.0f", got, tt.minPSNR)
			}
		})
	}
}

// TestTightEncoderChoices checks the method and filter the encoder picks for
// content where the choice is clear.
func TestTightEncoderChoices(t *testing.T) {
	photo := ztImage{at: ztPhoto}
	noise := ztImages()[4]
	tests := []struct {
		name    string
		pf      PixelFormat
		img     ztImage
		quality int
		want    func(ctl []byte) bool
	}{
		{"solid: fill", Format32, ztImages()[0], -1, func(c []byte) bool { return c[0] == 0x80 }},
		{"two colours: 1-bit palette on stream 1", Format32, ztImages()[3], -1,
			func(c []byte) bool { return c[0] == 0x50 && c[1] == tightPaletteFilter }},
		{"text: palette", Format16, ztImages()[1], 80, func(c []byte) bool { return c[0] == 0x50 && c[1] == tightPaletteFilter }},
		{"photo, JPEG allowed: JPEG", Format32, photo, 80, func(c []byte) bool { return c[0] == 0x90 }},
		{"photo, lossless: gradient on stream 2", Format32, photo, -1,
			func(c []byte) bool { return c[0] == 0x60 && c[1] == tightGradientFilter }},
		{"noise, lossless: copy on stream 0", Format32, noise, -1, func(c []byte) bool { return c[0] == 0x00 }},
		{"photo at 16 bpp, lossless: copy", Format16, photo, -1, func(c []byte) bool { return c[0] == 0x00 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := image.Rect(0, 0, 96, 64)
			_, rects := tightRoundTrip(t, &tightEncoder{}, &tightDecoder{}, tt.pf, r,
				ztPixels(tt.pf, r.Dx(), r.Dy(), tt.img), EncodeOptions{Quality: tt.quality, Compression: 6})
			for _, rect := range rects {
				if !tt.want(rect.ctl) {
					t.Errorf("rectangle %v starts % x", rect.r, rect.ctl)
				}
			}
		})
	}
}

func TestTightEncoderSplits(t *testing.T) {
	tests := []struct {
		name    string
		size    image.Point
		img     ztImage
		quality int
		check   func(t *testing.T, rects []ztRect)
	}{
		{"wide noise", image.Pt(3000, 40), ztImages()[4], -1, func(t *testing.T, rects []ztRect) {
			for _, r := range rects {
				if data := r.r.Dx() * r.r.Dy() * 3; data > tightMaxData {
					t.Errorf("rectangle %v carries %d bytes before zlib", r.r, data)
				}
			}
		}},
		{"wide photo as JPEG", image.Pt(2100, 100), ztImage{at: ztPhoto}, 70, func(t *testing.T, rects []ztRect) {
			for _, r := range rects {
				if px := r.r.Dx() * r.r.Dy(); px > tightMaxPixels {
					t.Errorf("rectangle %v has %d pixels", r.r, px)
				}
			}
		}},
		{"wide solid: fills at most 2048 wide", image.Pt(5000, 300), ztImages()[0], -1, func(t *testing.T, rects []ztRect) {
			if len(rects) != 3 {
				t.Errorf("%d rectangles, want 3", len(rects))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := image.Rectangle{Max: tt.size}
			pix := ztPixels(Format32, r.Dx(), r.Dy(), tt.img)
			fb, rects := tightRoundTrip(t, &tightEncoder{}, &tightDecoder{}, Format32, r, pix, EncodeOptions{Quality: tt.quality, Compression: 1})
			tt.check(t, rects)
			if tt.quality < 0 && !bytes.Equal(fb.ReadPixels(nil, r), pix) {
				t.Error("decoded pixels differ from the encoded ones")
			}
		})
	}
}

// TestTightEncoderKeepsStreamLevels checks that a level change never restarts
// a stream (no reset bits: noVNC cannot follow them) and that a stream first
// used after the change starts at the new level.
func TestTightEncoderKeepsStreamLevels(t *testing.T) {
	r := image.Rect(0, 0, 64, 32)
	few := ztPixels(Format16, 64, 32, ztImages()[2])          // palette, stream 1
	photo := ztPixels(Format16, 64, 32, ztImage{at: ztPhoto}) // copy at 16 bpp, stream 0
	enc, dec := &tightEncoder{}, &tightDecoder{}
	for i, s := range []struct {
		pix   []byte
		level int
	}{{few, 6}, {few, 0}, {photo, 0}, {photo, 9}, {few, 42}} {
		fb, rects := tightRoundTrip(t, enc, dec, Format16, r, s.pix, EncodeOptions{Quality: -1, Compression: s.level})
		if reset := rects[0].ctl[0] & 0x0f; reset != 0 {
			t.Errorf("step %d: reset bits %04b", i, reset)
		}
		if !bytes.Equal(fb.ReadPixels(nil, r), s.pix) {
			t.Errorf("step %d: decoded pixels differ from the encoded ones", i)
		}
	}
	// The copy stream started at level 0: stored blocks, as large as the data.
	var out bytes.Buffer
	if _, err := enc.encode(&out, Format16, r, photo, EncodeOptions{Quality: -1, Compression: 9}); err != nil {
		t.Fatal(err)
	}
	if data := r.Dx() * r.Dy() * 2; out.Len() < data {
		t.Errorf("copy stream wrote %d bytes for %d bytes of pixels; it should have kept level 0", out.Len(), data)
	}
}

func TestTightEncoderEdges(t *testing.T) {
	var out bytes.Buffer
	if n, err := (&tightEncoder{}).encode(&out, Format32, image.Rect(4, 4, 9, 4), nil, EncodeOptions{}); n != 0 || err != nil || out.Len() != 0 {
		t.Errorf("empty rectangle: %d rectangles, %d bytes, error %v; want nothing", n, out.Len(), err)
	}
	if _, err := (&tightEncoder{}).encode(&out, Format32, image.Rect(0, 0, 10, 10), make([]byte, 399), EncodeOptions{}); err == nil {
		t.Error("encoding from too few pixels: no error")
	}
}

// TestTightDecodeAllocs checks that the lossless paths allocate nothing once
// warm. As for ZRLE, the zlib data is stored rather than deflated, so that
// compress/flate's own allocations do not hide ours.
func TestTightDecodeAllocs(t *testing.T) {
	images := ztImages()
	tests := []struct {
		name string
		img  ztImage
		ctl  byte
	}{
		{"fill", images[0], 0x80},
		{"copy", images[4], 0x00},
		{"palette, 2 colours", images[3], 0x50},
		{"palette", images[2], 0x50},
		{"gradient", ztImage{at: ztPhoto}, 0x60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf, r := Format32, image.Rect(0, 0, 120, 90)
			out := encodeScrolling(t, &tightEncoder{}, pf, r, tt.img, EncodeOptions{Quality: -1, Compression: 0}, 40)
			wrong := 0
			allocs := decodeAllocs(t, &tightDecoder{}, pf, r, out, func(payload []byte) {
				if payload[0]&0xf0 != tt.ctl {
					wrong++
				}
			})
			if wrong > 0 {
				t.Fatalf("%d rectangles were not of the method under test", wrong)
			}
			if allocs != 0 {
				t.Errorf("%.1f allocations per rectangle, want 0", allocs)
			}
		})
	}
}

func FuzzTight(f *testing.F) {
	images := ztImages()
	for i := range ztFormats {
		w, h := 1+i*37%48, 1+i*53%48
		for j, q := range []int{-1, 60} {
			f.Add(ztFuzzInput(&tightEncoder{}, i, w, h, images[(i+j)%len(images)], EncodeOptions{Quality: q, Compression: 6}, 3))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ztFuzzDecode(&tightDecoder{}, data)
	})
}

// TestTightJPEGAt8bpp: x11vnc sends JPEG to 8 bpp true-colour clients,
// although rfbproto allows it only at 16 and 32 bpp; the decoder takes it.
func TestTightJPEGAt8bpp(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 250, 10, 10, 255
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	payload := appendCompactLength([]byte{0x90}, jb.Len())
	payload = append(payload, jb.Bytes()...)
	fb := NewBuffer(16, 16, Format8)
	if err := (&tightDecoder{}).decode(bufio.NewReader(bytes.NewReader(payload)), Format8, fb.Bounds(), fb); err != nil {
		t.Fatal(err)
	}
	if r, g, b := fb.RGBAt(8, 8); r < 200 || g > 60 || b > 60 {
		t.Errorf("red JPEG decoded at 8 bpp as %d,%d,%d", r, g, b)
	}
}
