package rfb

import (
	"bytes"
	"encoding/binary"
	"image"
	"testing"
)

type testSubrect struct {
	v          uint32
	x, y, w, h int
}

// rrePayload builds an RRE (or, compact, CoRRE) payload by the spec's layout.
func rrePayload(pf PixelFormat, compact bool, count int, bg uint32, subs []testSubrect) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(count))
	b = append(b, pixelBytes(pf, bg)...)
	for _, s := range subs {
		b = append(b, pixelBytes(pf, s.v)...)
		if compact {
			b = append(b, byte(s.x), byte(s.y), byte(s.w), byte(s.h))
			continue
		}
		for _, c := range []int{s.x, s.y, s.w, s.h} {
			b = binary.BigEndian.AppendUint16(b, uint16(c))
		}
	}
	return b
}

func TestRREDecode(t *testing.T) {
	const w, h = 9, 7 // the rectangle; 63 pixels
	r := image.Rect(2, 1, 2+w, 1+h)
	const A, B, C = 1, 2, 3 // colours, mapped per format below
	tests := []struct {
		name  string
		count int // -1: len(subs)
		subs  []testSubrect
		err   bool
	}{
		{"background only", -1, nil, false},
		{"one subrectangle", -1, []testSubrect{{B, 1, 2, 3, 4}}, false},
		{"later subrectangles win", -1, []testSubrect{{B, 0, 0, 5, 5}, {C, 2, 2, 5, 3}, {A, 3, 3, 1, 1}}, false},
		{"touching the right and bottom edges", -1, []testSubrect{{B, 6, 4, 3, 3}}, false},
		{"covering everything", -1, []testSubrect{{C, 0, 0, w, h}}, false},
		{"empty subrectangles draw nothing", -1, []testSubrect{{B, 3, 3, 0, 2}, {C, 9, 7, 0, 0}}, false},
		{"one pixel per subrectangle", -1, func() []testSubrect {
			var s []testSubrect
			for i := 0; i < w*h; i++ {
				s = append(s, testSubrect{uint32(1 + i%3), i % w, i / w, 1, 1})
			}
			return s
		}(), false},
		{"more subrectangles than pixels", w*h + 1, nil, true},
		{"count near 2^32", 1<<32 - 1, nil, true},
		{"one column too wide", -1, []testSubrect{{B, 7, 0, 3, 1}}, true},
		{"one row too tall", -1, []testSubrect{{B, 0, 5, 1, 3}}, true},
		{"starting past the right edge", -1, []testSubrect{{B, w, 0, 1, 1}}, true},
		{"far outside", -1, []testSubrect{{B, 200, 250, 255, 255}}, true},
		{"bad one after good ones", -1, []testSubrect{{B, 0, 0, 1, 1}, {C, 1, 1, 1, 1}, {B, 8, 6, 2, 1}}, true},
	}
	formats := []namedFormat{{"bgr233", Format8}, {"rgb565be", bigEndian(Format16)}, {"rgb888le", Format32}}
	for _, compact := range []bool{false, true} {
		for _, f := range formats {
			colour := map[uint32]uint32{A: pixelOf(f.pf, 250, 250, 250), B: pixelOf(f.pf, 200, 0, 0), C: pixelOf(f.pf, 0, 0, 200)}
			for _, tt := range tests {
				name := map[bool]string{false: "rre/", true: "corre/"}[compact] + f.name + "/" + tt.name
				t.Run(name, func(t *testing.T) {
					subs := make([]testSubrect, len(tt.subs))
					want := newRefImage(w, h, colour[A])
					for i, s := range tt.subs {
						s.v = colour[s.v]
						subs[i] = s
						if !tt.err {
							want.fill(s.x, s.y, s.w, s.h, s.v)
						}
					}
					count := tt.count
					if count < 0 {
						count = len(subs)
					}
					payload := rrePayload(f.pf, compact, count, colour[A], subs)
					fb := sentinelBuffer(w+4, h+3, f.pf)
					err := decodePayload(&rreDecoder{compact: compact}, f.pf, r, fb, payload)
					if tt.err {
						if !IsProtocolError(err) {
							t.Fatalf("got error %v, want a protocol error", err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					want.check(t, fb, r)
					assertTruncationsFail(t, func() decoder { return &rreDecoder{compact: compact} }, f.pf, r, payload)
				})
			}
		}
	}
}

func TestRRERoundTrip(t *testing.T) {
	sizes := roundTrip(t, func() encoder { return &rreEncoder{} }, EncodeOptions{})
	// The most common colour is the background and runs merge down the
	// rows: a solid picture is just a background, and stripes 3 pixels wide
	// need one subrectangle per stripe of the other colour.
	for _, f := range losslessFormats {
		bpp := f.pf.BytesPerPixel()
		if got, want := sizes["solid/"+f.name], 12+4+bpp; got != want {
			t.Errorf("solid/%s: %d bytes, want %d", f.name, got, want)
		}
		if got, want := sizes["stripes/"+f.name], 12+4+bpp+8*(bpp+8); got != want {
			t.Errorf("stripes/%s: %d bytes, want %d (8 subrectangles)", f.name, got, want)
		}
	}
}

func TestCoRRERoundTrip(t *testing.T) {
	roundTrip(t, func() encoder { return &rreEncoder{compact: true} }, EncodeOptions{})
}

// CoRRE's one-byte sizes need rectangles of at most 255x255.
func TestCoRRESplitsLargeRectangles(t *testing.T) {
	for _, p := range []picture{{"wide", 300, 20, textScene}, {"tall", 20, 256, gradientScene}, {"large", 511, 300, textScene}, {"exact", 255, 255, noiseScene}} {
		t.Run(p.name, func(t *testing.T) {
			pf := Format16
			pix := p.pixels(pf)
			r := image.Rect(1, 1, 1+p.w, 1+p.h)
			var out bytes.Buffer
			n, err := (&rreEncoder{compact: true}).encode(&out, pf, r, pix, EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := ((p.w + 254) / 255) * ((p.h + 254) / 255)
			if n != want {
				t.Errorf("encoder reported %d rectangles, want %d", n, want)
			}
			fb := sentinelBuffer(p.w+2, p.h+2, pf)
			rects, encs, err := decodeMessage(newDecoders(), pf, fb, out.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if len(rects) != want {
				t.Errorf("wrote %d rectangles, want %d", len(rects), want)
			}
			var union image.Rectangle
			for i, rr := range rects {
				if rr.Dx() > 255 || rr.Dy() > 255 || encs[i] != EncCoRRE {
					t.Errorf("rectangle %d is %v in %v; want CoRRE of at most 255x255", i, rr, encs[i])
				}
				union = union.Union(rr)
			}
			if union != r {
				t.Errorf("rectangles cover %v, want %v", union, r)
			}
			if got := fb.ReadPixels(nil, r); !bytes.Equal(got, pix) {
				t.Errorf("decoded pixels differ at %v", firstDiff(got, pix, pf, p.w))
			}
		})
	}
}

func rreSeeds(t testing.TB, compact bool) [][]byte {
	return seedInputs(t, func() encoder { return &rreEncoder{compact: compact} })
}

func TestRREFuzzCorpus(t *testing.T) {
	checkSeedCorpus(t, "FuzzRRE", rreSeeds(t, false), func() decoder { return &rreDecoder{} })
	checkSeedCorpus(t, "FuzzCoRRE", rreSeeds(t, true), func() decoder { return &rreDecoder{compact: true} })
}

func FuzzRRE(f *testing.F) {
	fuzzDecoder(f, rreSeeds(f, false), func() decoder { return &rreDecoder{} }, nil)
}

func FuzzCoRRE(f *testing.F) {
	fuzzDecoder(f, rreSeeds(f, true), func() decoder { return &rreDecoder{compact: true} }, nil)
}
