package rfb

import (
	"bufio"
	"bytes"
	"errors"
	"image"
	"io"
	"math"
	"testing"
)

// Test material shared by the ZRLE and Tight tests: pixel formats, screen-like
// images, and a reader for the rectangles an encoder writes.

// ztFormats are the pixel formats the ZRLE and Tight round trips go through:
// every CPIXEL and TPIXEL layout, both byte orders, unusual shifts.
var ztFormats = []struct {
	name string
	pf   PixelFormat
}{
	{"bgr233", Format8},
	{"colour-mapped", ColourMapped()},
	{"565le", Format16},
	{"565be", withBigEndian(Format16)},
	{"555le", Format15},
	{"888le", Format32},
	{"888be", withBigEndian(Format32)},
	{"r0g8b16le", PixelFormat{BitsPerPixel: 32, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 0, GreenShift: 8, BlueShift: 16}},
	{"r0g8b16be", PixelFormat{BitsPerPixel: 32, Depth: 24, BigEndian: true, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 0, GreenShift: 8, BlueShift: 16}},
	// Colours in the most significant three bytes: CPIXELs are the top bytes.
	{"r8g16b24le", PixelFormat{BitsPerPixel: 32, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 8, GreenShift: 16, BlueShift: 24}},
	{"r8g16b24be", PixelFormat{BitsPerPixel: 32, Depth: 24, BigEndian: true, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 8, GreenShift: 16, BlueShift: 24}},
	// Depth 32: neither a 3-byte CPIXEL nor a 3-byte TPIXEL.
	{"depth32", PixelFormat{BitsPerPixel: 32, Depth: 32, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 16, GreenShift: 8, BlueShift: 0}},
	// 10 bits a channel: 32 bpp true colour whose TPIXEL is the PIXEL.
	{"r10g10b10", PixelFormat{BitsPerPixel: 32, Depth: 30, TrueColour: true, RedMax: 1023, GreenMax: 1023, BlueMax: 1023, RedShift: 20, GreenShift: 10, BlueShift: 0}},
}

func withBigEndian(pf PixelFormat) PixelFormat {
	pf.BigEndian = true
	return pf
}

// ztImage is a picture as a function from a pixel to its colour.
type ztImage struct {
	name string
	at   func(x, y int) (r, g, b uint8)
}

// ztImages are the kinds of content a kiosk screen shows, plus the extremes.
func ztImages() []ztImage {
	return []ztImage{
		{"solid", func(x, y int) (r, g, b uint8) { return 40, 90, 200 }},
		{"text", ztText},
		{"few-colours", func(x, y int) (r, g, b uint8) {
			c := [][3]uint8{{255, 255, 255}, {0, 0, 128}, {255, 191, 0}, {0, 160, 0}, {200, 0, 0}}[(x/7+y/5)%5]
			return c[0], c[1], c[2]
		}},
		{"two-colours", func(x, y int) (r, g, b uint8) {
			if (x+y)%3 == 0 {
				return 0, 0, 0
			}
			return 250, 250, 250
		}},
		{"noise", func(x, y int) (r, g, b uint8) {
			v := ztHash(uint64(y)<<32 | uint64(x))
			return uint8(v), uint8(v >> 8), uint8(v >> 16)
		}},
		{"gradient", func(x, y int) (r, g, b uint8) { return uint8(x * 3), uint8(y * 2), uint8(x + y) }},
		{"photo", ztPhoto},
	}
}

// ztHash is splitmix64's finaliser: cheap, repeatable pseudo-random bits.
func ztHash(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// ztText looks like dark text with anti-aliased edges on a light page: a
// handful of colours in short runs.
func ztText(x, y int) (r, g, b uint8) {
	cx, cy := x%9, y%14
	glyph := uint32(x/9*7+y/14*13) * 2654435761
	if cy >= 11 || cx >= 7 || glyph>>(cx*3+cy%4)&3 == 0 {
		return 250, 250, 245
	}
	if (cx+cy)%4 == 0 {
		return 150, 150, 160 // anti-aliased edge
	}
	return 20, 20, 40
}

// ztPhoto is smooth shading with a little grain, like a photograph.
func ztPhoto(x, y int) (r, g, b uint8) {
	fx, fy := float64(x), float64(y)
	grain := float64(uint32(x*7919+y*104729)*2654435761>>29) - 3.5
	ch := func(v float64) uint8 { return uint8(min(max(v+grain, 0), 255)) }
	return ch(128 + 100*math.Sin(fx/23+fy/41)), ch(128 + 90*math.Cos(fx/37-fy/19)), ch(100 + 60*math.Sin((fx+fy)/29))
}

// ztPixels renders img at size w x h in pf. Colour-mapped formats get an
// index derived from the colour, so few colours stay few.
func ztPixels(pf PixelFormat, w, h int, img ztImage) []byte {
	bpp := pf.BytesPerPixel()
	pix := make([]byte, w*h*bpp)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b := img.at(x, y)
			v := uint32(r ^ g>>1 ^ b>>2)
			if pf.TrueColour {
				v = pf.FromRGB(r, g, b)
			}
			pf.PutPixel(pix[(y*w+x)*bpp:], v)
		}
	}
	return pix
}

// ztSizes cross tile (64) and row-alignment boundaries.
var ztSizes = []image.Point{{1, 1}, {7, 3}, {64, 64}, {65, 2}, {67, 33}, {130, 65}, {3, 140}}

// ztRect is a rectangle read back from an encoder's output.
type ztRect struct {
	r   image.Rectangle
	enc Encoding
	ctl []byte // the payload's first two bytes, or fewer if it is shorter
}

// decodeAll decodes every rectangle in out with dec into fb and returns them.
func decodeAll(t testing.TB, dec decoder, pf PixelFormat, fb Framebuffer, out []byte) []ztRect {
	t.Helper()
	in := bufio.NewReader(bytes.NewReader(out))
	var rects []ztRect
	for {
		if _, err := in.Peek(1); err != nil {
			return rects
		}
		var h [12]byte
		if err := readFull(in, h[:]); err != nil {
			t.Fatalf("rectangle %d: header: %v", len(rects)+1, err)
		}
		x, y := int(h[0])<<8|int(h[1]), int(h[2])<<8|int(h[3])
		w, hh := int(h[4])<<8|int(h[5]), int(h[6])<<8|int(h[7])
		rect := ztRect{r: image.Rect(x, y, x+w, y+hh), enc: Encoding(int32(uint32(h[8])<<24 | uint32(h[9])<<16 | uint32(h[10])<<8 | uint32(h[11])))}
		b, _ := in.Peek(2)
		rect.ctl = bytes.Clone(b)
		if err := dec.decode(in, pf, rect.r, fb); err != nil {
			t.Fatalf("rectangle %d %v: %v", len(rects)+1, rect.r, err)
		}
		rects = append(rects, rect)
	}
}

// checkDecodeError checks that a decoder rejected bad input: with a
// ProtocolError when proto is set, else with io.ErrUnexpectedEOF (the input
// ended early).
func checkDecodeError(t *testing.T, err error, proto bool) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatal("decoded without error")
	case proto && !IsProtocolError(err):
		t.Errorf("error %q is not a protocol error", err)
	case !proto && !errors.Is(err, io.ErrUnexpectedEOF):
		t.Errorf("error %q is not io.ErrUnexpectedEOF", err)
	}
}

// ztFuzzInput builds a fuzz input: width, height and format index, then the
// payloads (headers stripped) of rects rectangles of img that enc writes.
func ztFuzzInput(enc encoder, format, w, h int, img ztImage, opts EncodeOptions, rects int) []byte {
	pf := ztFormats[format].pf
	pix := ztPixels(pf, w, h, img)
	in := []byte{byte(w), byte(h), byte(format)}
	for i := 0; i < rects; i++ {
		var out bytes.Buffer
		n, err := enc.encode(&out, pf, image.Rect(0, 0, w, h), pix, opts)
		if err != nil || n != 1 {
			panic("fuzz seed: encoder wrote more than one rectangle or failed")
		}
		in = append(in, out.Bytes()[12:]...)
	}
	return in
}

// ztFuzzDecode decodes up to 8 rectangles of the size and format data's first
// three bytes give, in sequence through one decoder, so that persistent zlib
// streams carry state from one to the next.
func ztFuzzDecode(dec decoder, data []byte) {
	if len(data) < 3 {
		return
	}
	w, h := int(data[0])%97, int(data[1])%97
	pf := ztFormats[int(data[2])%len(ztFormats)].pf
	fb := NewBuffer(96, 96, pf)
	in := bufio.NewReader(bytes.NewReader(data[3:]))
	r := image.Rect(0, 0, w, h)
	for i := 0; i < 8; i++ {
		if _, err := in.Peek(1); err != nil {
			return
		}
		if err := dec.decode(in, pf, r, fb); err != nil {
			return
		}
	}
}
