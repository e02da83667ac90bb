package rfb

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"testing"
)

// tileBytes concatenates the parts of a hand-built payload: bytes, and pixel
// byte slices.
func tileBytes(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			b = append(b, byte(p))
		case []byte:
			b = append(b, p...)
		default:
			panic(fmt.Sprintf("tileBytes: %T", p))
		}
	}
	return b
}

// xy and wh pack a subrectangle's position and size as Hextile does.
func xy(x, y int) int { return x<<4 | y }
func wh(w, h int) int { return (w-1)<<4 | (h - 1) }

func TestHextileDecode(t *testing.T) {
	const (
		raw, bg, fg, any, col = hextileRaw, hextileBackground, hextileForeground, hextileAnySubrects, hextileColoured
	)
	// px(i) is colour i as packed bytes, v(i) as a pixel value.
	type palette struct {
		px func(int) []byte
		v  func(int) uint32
	}
	tests := []struct {
		name    string
		w, h    int
		payload func(p palette) []byte
		want    func(m *refImage, p palette) // nil: the payload must fail
	}{
		{"raw tile", 3, 2,
			func(p palette) []byte { return tileBytes(raw, p.px(0), p.px(1), p.px(2), p.px(3), p.px(1), p.px(0)) },
			func(m *refImage, p palette) {
				for i, c := range []int{0, 1, 2, 3, 1, 0} {
					m.fill(i%3, i/3, 1, 1, p.v(c))
				}
			}},
		{"solid background", 5, 4,
			func(p palette) []byte { return tileBytes(bg, p.px(2)) },
			func(m *refImage, p palette) { m.fill(0, 0, 5, 4, p.v(2)) }},
		{"background carried to the next tile", 20, 3,
			func(p palette) []byte { return tileBytes(bg, p.px(2), 0) },
			func(m *refImage, p palette) { m.fill(0, 0, 20, 3, p.v(2)) }},
		{"foreground subrectangles", 16, 16,
			func(p palette) []byte {
				return tileBytes(bg|fg|any, p.px(0), p.px(1), 2, xy(1, 2), wh(3, 4), xy(15, 15), wh(1, 1))
			},
			func(m *refImage, p palette) { m.fill(1, 2, 3, 4, p.v(1)); m.fill(15, 15, 1, 1, p.v(1)) }},
		{"whole-tile subrectangle", 16, 16,
			func(p palette) []byte { return tileBytes(bg|fg|any, p.px(0), p.px(1), 1, xy(0, 0), wh(16, 16)) },
			func(m *refImage, p palette) { m.fill(0, 0, 16, 16, p.v(1)) }},
		{"coloured subrectangles, later ones win", 8, 8,
			func(p palette) []byte {
				return tileBytes(bg|any|col, p.px(0), 3, p.px(1), xy(0, 0), wh(8, 1), p.px(2), xy(2, 0), wh(2, 6), p.px(3), xy(3, 3), wh(1, 1))
			},
			func(m *refImage, p palette) {
				m.fill(0, 0, 8, 1, p.v(1))
				m.fill(2, 0, 2, 6, p.v(2))
				m.fill(3, 3, 1, 1, p.v(3))
			}},
		{"foreground carried to the next tile", 32, 4,
			func(p palette) []byte {
				return tileBytes(bg|fg|any, p.px(0), p.px(1), 1, xy(0, 0), wh(1, 1), any, 1, xy(3, 3), wh(1, 1))
			},
			func(m *refImage, p palette) { m.fill(0, 0, 1, 1, p.v(1)); m.fill(19, 3, 1, 1, p.v(1)) }},
		{"foreground carried over a solid tile", 48, 2,
			func(p palette) []byte {
				return tileBytes(bg|fg|any, p.px(0), p.px(1), 1, xy(0, 0), wh(1, 1), bg, p.px(2), any, 1, xy(1, 1), wh(2, 1))
			},
			func(m *refImage, p palette) {
				m.fill(0, 0, 1, 1, p.v(1))
				m.fill(16, 0, 32, 2, p.v(2))
				m.fill(33, 1, 2, 1, p.v(1))
			}},
		{"foreground given with coloured subrectangles is read and unused", 4, 4,
			func(p palette) []byte {
				return tileBytes(bg|fg|any|col, p.px(0), p.px(1), 1, p.px(2), xy(1, 1), wh(2, 2))
			},
			func(m *refImage, p palette) { m.fill(1, 1, 2, 2, p.v(2)) }},
		{"raw bit overrides the others", 2, 2,
			func(p palette) []byte { return tileBytes(raw|bg|any, p.px(3), p.px(2), p.px(1), p.px(0)) },
			func(m *refImage, p palette) {
				m.fill(0, 0, 1, 1, p.v(3))
				m.fill(1, 0, 1, 1, p.v(2))
				m.fill(0, 1, 1, 1, p.v(1))
				m.fill(1, 1, 1, 1, p.v(0))
			}},
		{"background kept across a raw tile, as other clients do", 48, 2,
			func(p palette) []byte {
				b := tileBytes(bg, p.px(1), raw)
				for i := 0; i < 32; i++ {
					b = append(b, p.px(2)...)
				}
				return append(b, 0)
			},
			func(m *refImage, p palette) {
				m.fill(0, 0, 16, 2, p.v(1))
				m.fill(16, 0, 16, 2, p.v(2))
				m.fill(32, 0, 16, 2, p.v(1))
			}},
		{"smaller tiles on the right and bottom edges", 17, 17,
			func(p palette) []byte {
				return tileBytes(bg, p.px(0), fg|any, p.px(1), 1, xy(0, 15), wh(1, 1), any, 1, xy(15, 0), wh(1, 1), raw, p.px(2))
			},
			func(m *refImage, p palette) {
				m.fill(16, 15, 1, 1, p.v(1))
				m.fill(15, 16, 1, 1, p.v(1))
				m.fill(16, 16, 1, 1, p.v(2))
			}},
		{"subrectangle count of zero", 3, 3,
			func(p palette) []byte { return tileBytes(bg|any, p.px(3), 0) },
			func(m *refImage, p palette) { m.fill(0, 0, 3, 3, p.v(3)) }},
		{"empty rectangle", 0, 0, func(palette) []byte { return nil }, func(*refImage, palette) {}},
		{"zero width", 0, 40, func(palette) []byte { return nil }, func(*refImage, palette) {}},

		{"undefined mask bit", 4, 4, func(p palette) []byte { return tileBytes(0x20|bg, p.px(0)) }, nil},
		{"undefined mask bit with raw", 1, 1, func(p palette) []byte { return tileBytes(0x80|raw, p.px(0)) }, nil},
		{"first tile without background", 4, 4, func(palette) []byte { return tileBytes(0) }, nil},
		{"first tile without background, with subrectangles", 4, 4,
			func(p palette) []byte { return tileBytes(fg|any, p.px(1), 1, xy(0, 0), wh(1, 1)) }, nil},
		{"foreground never given", 4, 4,
			func(p palette) []byte { return tileBytes(bg|any, p.px(0), 1, xy(0, 0), wh(1, 1)) }, nil},
		{"subrectangle one column too wide", 16, 16,
			func(p palette) []byte { return tileBytes(bg|fg|any, p.px(0), p.px(1), 1, xy(15, 0), wh(2, 1)) }, nil},
		{"subrectangle outside a narrow edge tile", 20, 3,
			func(p palette) []byte { return tileBytes(bg, p.px(0), fg|any, p.px(1), 1, xy(3, 0), wh(2, 1)) }, nil},
		{"subrectangle below a short edge tile", 5, 3,
			func(p palette) []byte { return tileBytes(bg|any|col, p.px(0), 1, p.px(1), xy(0, 2), wh(1, 2)) }, nil},
		{"bad subrectangle after good ones", 8, 8,
			func(p palette) []byte {
				return tileBytes(bg|fg|any, p.px(0), p.px(1), 3, xy(0, 0), wh(8, 8), xy(7, 7), wh(1, 1), xy(8, 0), wh(1, 1))
			}, nil},
	}
	formats := []namedFormat{{"bgr233", Format8}, {"rgb565be", bigEndian(Format16)}, {"rgb888le", Format32}, {"rgb888be", bigEndian(Format32)}}
	for _, f := range formats {
		colours := []uint32{pixelOf(f.pf, 255, 255, 255), pixelOf(f.pf, 0, 0, 0), pixelOf(f.pf, 200, 30, 30), pixelOf(f.pf, 30, 200, 90)}
		p := palette{px: func(i int) []byte { return pixelBytes(f.pf, colours[i]) }, v: func(i int) uint32 { return colours[i] }}
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				r := image.Rect(2, 1, 2+tt.w, 1+tt.h)
				payload := tt.payload(p)
				fb := sentinelBuffer(tt.w+4, tt.h+3, f.pf)
				err := decodePayload(&hextileDecoder{}, f.pf, r, fb, payload)
				if tt.want == nil {
					if !IsProtocolError(err) {
						t.Fatalf("got error %v, want a protocol error", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := newRefImage(tt.w, tt.h, p.v(0))
				tt.want(want, p)
				want.check(t, fb, r)
				assertTruncationsFail(t, func() decoder { return &hextileDecoder{} }, f.pf, r, payload)
			})
		}
	}
}

// The spec wants each rectangle's first non-raw tile to give its background,
// so one rectangle's colours must not leak into the next.
func TestHextileColoursDoNotCrossRectangles(t *testing.T) {
	pf := Format32
	d := &hextileDecoder{}
	fb := NewBuffer(8, 8, pf)
	r := image.Rect(0, 0, 4, 4)
	first := tileBytes(hextileBackground|hextileForeground|hextileAnySubrects, pixelBytes(pf, 1), pixelBytes(pf, 2), 1, xy(0, 0), wh(1, 1))
	if err := decodePayload(d, pf, r, fb, first); err != nil {
		t.Fatal(err)
	}
	for name, next := range map[string][]byte{
		"background": tileBytes(0),
		"foreground": tileBytes(hextileBackground|hextileAnySubrects, pixelBytes(pf, 1), 1, xy(0, 0), wh(1, 1)),
	} {
		if err := decodePayload(d, pf, r, fb, next); !IsProtocolError(err) {
			t.Errorf("%s from the previous rectangle: got %v, want a protocol error", name, err)
		}
	}
}

// hextileSpecCheck walks an encoded Hextile payload of a w x h rectangle by
// the spec's rules, stricter than the decoder: no undefined bits, a
// background only carried over from a non-raw tile, a foreground only from a
// tile that was neither raw nor coloured, no foreground given with coloured
// subrectangles, subrectangles inside their tile. It returns the tile masks.
func hextileSpecCheck(payload []byte, pf PixelFormat, w, h int) ([]byte, error) {
	bpp := pf.BytesPerPixel()
	in := bufio.NewReader(bytes.NewReader(payload))
	next := func(n int) ([]byte, error) {
		b := make([]byte, n)
		return b, readFull(in, b)
	}
	var masks []byte
	bgValid, fgValid := false, false
	for ty := 0; ty < h; ty += 16 {
		for tx := 0; tx < w; tx += 16 {
			tw, th := min(16, w-tx), min(16, h-ty)
			at := fmt.Sprintf("tile %d at (%d,%d)", len(masks), tx, ty)
			m, err := next(1)
			if err != nil {
				return masks, fmt.Errorf("%s: %v", at, err)
			}
			mask := m[0]
			masks = append(masks, mask)
			if mask&^hextileMaskBits != 0 {
				return masks, fmt.Errorf("%s: undefined bits in mask %#x", at, mask)
			}
			if mask&hextileRaw != 0 {
				if mask != hextileRaw {
					return masks, fmt.Errorf("%s: raw with other bits, mask %#x", at, mask)
				}
				if _, err := next(tw * th * bpp); err != nil {
					return masks, fmt.Errorf("%s: %v", at, err)
				}
				bgValid, fgValid = false, false
				continue
			}
			coloured := mask&hextileColoured != 0
			if mask&hextileBackground == 0 && !bgValid {
				return masks, fmt.Errorf("%s: background carried over where the spec forbids it", at)
			}
			bgValid = true
			if mask&hextileForeground != 0 && coloured {
				return masks, fmt.Errorf("%s: foreground given with coloured subrectangles", at)
			}
			if mask&hextileAnySubrects == 0 && coloured {
				return masks, fmt.Errorf("%s: coloured without subrectangles", at)
			}
			if _, err := next(bpp * maskBit(mask&hextileBackground)); err != nil {
				return masks, fmt.Errorf("%s: %v", at, err)
			}
			if _, err := next(bpp * maskBit(mask&hextileForeground)); err != nil {
				return masks, fmt.Errorf("%s: %v", at, err)
			}
			if mask&hextileForeground != 0 {
				fgValid = true
			}
			if mask&hextileAnySubrects == 0 {
				continue
			}
			c, err := next(1)
			if err != nil {
				return masks, fmt.Errorf("%s: %v", at, err)
			}
			if !coloured && !fgValid && c[0] > 0 {
				return masks, fmt.Errorf("%s: foreground carried over where the spec forbids it", at)
			}
			for i := 0; i < int(c[0]); i++ {
				size := 2
				if coloured {
					size += bpp
				}
				s, err := next(size)
				if err != nil {
					return masks, fmt.Errorf("%s: subrectangle %d: %v", at, i, err)
				}
				s = s[size-2:]
				x, y, sw, sh := int(s[0]>>4), int(s[0]&15), int(s[1]>>4)+1, int(s[1]&15)+1
				if x+sw > tw || y+sh > th {
					return masks, fmt.Errorf("%s: subrectangle %d at (%d,%d) size %dx%d outside the %dx%d tile", at, i, x, y, sw, sh, tw, th)
				}
			}
			if coloured {
				fgValid = false
			}
		}
	}
	if n, _ := in.Discard(len(payload)); n != 0 {
		return masks, fmt.Errorf("%d bytes after the last tile", n)
	}
	return masks, nil
}

// maskBit is 1 when a mask bit is set.
func maskBit(b byte) int {
	if b != 0 {
		return 1
	}
	return 0
}

func TestHextileRoundTrip(t *testing.T) {
	roundTrip(t, func() encoder { return &hextileEncoder{} }, EncodeOptions{})
}

func TestHextileEncoderFollowsSpec(t *testing.T) {
	for _, f := range losslessFormats {
		for _, p := range append(pictures, picture{"tile states", 80, 16, tileStatesScene}) {
			t.Run(p.name+"/"+f.name, func(t *testing.T) {
				var out bytes.Buffer
				if _, err := (&hextileEncoder{}).encode(&out, f.pf, image.Rect(0, 0, p.w, p.h), p.pixels(f.pf), EncodeOptions{}); err != nil {
					t.Fatal(err)
				}
				masks, err := hextileSpecCheck(out.Bytes()[12:], f.pf, p.w, p.h)
				if err != nil {
					t.Fatal(err)
				}
				// Never worse than raw tiles.
				bpp, rawTiles := f.pf.BytesPerPixel(), 0
				for y := 0; y < p.h; y += 16 {
					for x := 0; x < p.w; x += 16 {
						rawTiles += 1 + min(16, p.w-x)*min(16, p.h-y)*bpp
					}
				}
				if out.Len()-12 > rawTiles {
					t.Errorf("%d bytes of tiles, more than the %d of raw tiles", out.Len()-12, rawTiles)
				}
				switch p.name {
				case "solid":
					// One background, then empty masks.
					if want := 1 + bpp + len(masks) - 1; out.Len()-12 != want {
						t.Errorf("solid picture: %d bytes of tiles, want %d", out.Len()-12, want)
					}
				case "stripes":
					// Same two colours, same subrectangle count either way
					// round: every tile after the first reuses both.
					for i, m := range masks[1:] {
						if m != hextileAnySubrects {
							t.Errorf("tile %d has mask %#x, want only AnySubrects", i+1, m)
						}
					}
				case "tile states":
					want := []byte{hextileRaw, hextileBackground, hextileForeground | hextileAnySubrects,
						hextileAnySubrects | hextileColoured, hextileForeground | hextileAnySubrects}
					if f.pf.BitsPerPixel == 8 {
						break // noise of 8-bit pixels repeats colours; tile 0 may not be raw
					}
					if !bytes.Equal(masks, want) {
						t.Errorf("masks %#x, want %#x", masks, want)
					}
				}
			})
		}
	}
}

// tileStatesScene is five 16x16 tiles that walk the encoder through its
// states: noise (raw), solid white (background again after raw), a black
// square on white (foreground given), white with two colours (coloured),
// another black square (the foreground must be given again).
func tileStatesScene(pf PixelFormat, w, h int) []uint32 {
	v := noiseScene(pf, w, h)
	white, black, red := pixelOf(pf, 255, 255, 255), pixelOf(pf, 0, 0, 0), pixelOf(pf, 255, 0, 0)
	for y := 0; y < h; y++ {
		for x := 16; x < w; x++ {
			c := white
			switch tile, tx, ty := x/16, x%16, y; {
			case tile == 2 && tx >= 4 && tx < 8 && ty >= 4 && ty < 8:
				c = black
			case tile == 3 && tx < 3 && ty < 2:
				c = black
			case tile == 3 && tx > 12 && ty > 12:
				c = red
			case tile == 4 && tx >= 9 && tx < 11 && ty >= 1 && ty < 15:
				c = black
			}
			v[y*w+x] = c
		}
	}
	return v
}

// On text the encoder must do far better than raw.
func TestHextileCompressesText(t *testing.T) {
	for _, f := range losslessFormats {
		p := picture{"text", 160, 96, textScene}
		var out bytes.Buffer
		if _, err := (&hextileEncoder{}).encode(&out, f.pf, image.Rect(0, 0, p.w, p.h), p.pixels(f.pf), EncodeOptions{}); err != nil {
			t.Fatal(err)
		}
		raw := p.w * p.h * f.pf.BytesPerPixel()
		t.Logf("%s: %d bytes, raw %d", f.name, out.Len(), raw)
		if out.Len() > raw*2/3 {
			t.Errorf("%s: %d bytes for text, raw is %d", f.name, out.Len(), raw)
		}
	}
}

func hextileSeeds(t testing.TB) [][]byte {
	return seedInputs(t, func() encoder { return &hextileEncoder{} })
}

func TestHextileFuzzCorpus(t *testing.T) {
	checkSeedCorpus(t, "FuzzHextile", hextileSeeds(t), func() decoder { return &hextileDecoder{} })
}

func FuzzHextile(f *testing.F) {
	fuzzDecoder(f, hextileSeeds(f), func() decoder { return &hextileDecoder{} }, nil)
}

func BenchmarkHextileEncode(b *testing.B) {
	pf := Format32
	p := picture{"text", 1280, 720, textScene}
	pix := p.pixels(pf)
	r := image.Rect(0, 0, p.w, p.h)
	e := &hextileEncoder{}
	var out bytes.Buffer
	b.SetBytes(int64(len(pix)))
	for b.Loop() {
		out.Reset()
		e.encode(&out, pf, r, pix, EncodeOptions{})
	}
}
