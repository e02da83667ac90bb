package rfb

import (
	"bytes"
	"image"
	"testing"
)

func TestRawDecode(t *testing.T) {
	tests := []struct {
		name    string
		pf      PixelFormat
		payload []byte
		want    []uint32 // 3x2 pixel values, row by row
	}{
		{"bgr233", Format8, []byte{1, 2, 3, 4, 5, 0xff}, []uint32{1, 2, 3, 4, 5, 0xff}},
		{"rgb565le", Format16, []byte{0x34, 0x12, 0, 0, 0xff, 0xff, 1, 0, 0, 1, 0x00, 0xf8},
			[]uint32{0x1234, 0, 0xffff, 1, 0x100, 0xf800}},
		{"rgb565be", bigEndian(Format16), []byte{0x12, 0x34, 0, 0, 0xff, 0xff, 0, 1, 1, 0, 0xf8, 0x00},
			[]uint32{0x1234, 0, 0xffff, 1, 0x100, 0xf800}},
		{"rgb888le", Format32, []byte{4, 3, 2, 1, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0xff},
			[]uint32{0x01020304, 0, 0xff, 0xff00, 0xff0000, 0xff000000}},
		{"rgb888be", bigEndian(Format32), []byte{1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0xff, 0, 0, 0xff, 0, 0, 0xff, 0, 0, 0},
			[]uint32{0x01020304, 0, 0xff, 0xff00, 0xff0000, 0xff000000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := image.Rect(1, 1, 4, 3)
			fb := sentinelBuffer(5, 4, tt.pf)
			if err := decodePayload(&rawDecoder{}, tt.pf, r, fb, tt.payload); err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.want {
				x, y := r.Min.X+i%3, r.Min.Y+i/3
				if got := tt.pf.Pixel(fb.Pix[fb.offset(x, y):]); got != want {
					t.Errorf("pixel (%d,%d) = %#x, want %#x", x, y, got, want)
				}
			}
			if pt, bad := outsideChanged(fb, r); bad {
				t.Errorf("pixel %v outside %v was written", pt, r)
			}
			assertTruncationsFail(t, func() decoder { return &rawDecoder{} }, tt.pf, r, tt.payload)
		})
	}
}

func TestRawRoundTrip(t *testing.T) {
	sizes := roundTrip(t, func() encoder { return rawEncoder{} }, EncodeOptions{})
	for _, f := range losslessFormats {
		for _, p := range pictures {
			if got, want := sizes[p.name+"/"+f.name], 12+p.w*p.h*f.pf.BytesPerPixel(); got != want {
				t.Errorf("%s/%s: %d bytes, want header plus pixels, %d", p.name, f.name, got, want)
			}
		}
	}
}

// Encoders take pixels from this process; a short slice must be an error that
// writes nothing, not a panic or half a rectangle.
func TestEncodersRejectShortPixels(t *testing.T) {
	encoders := map[string]encoder{
		"raw": rawEncoder{}, "rre": &rreEncoder{}, "corre": &rreEncoder{compact: true},
		"hextile": &hextileEncoder{}, "zlib": &zlibEncoder{},
	}
	for name, enc := range encoders {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if _, err := enc.encode(&out, Format16, image.Rect(0, 0, 4, 4), make([]byte, 31), EncodeOptions{}); err == nil {
				t.Error("31 bytes for a 4x4 rectangle at 16 bpp encoded without error")
			}
			if out.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", out.Len())
			}
		})
	}
}

func rawSeeds(t testing.TB) [][]byte {
	return seedInputs(t, func() encoder { return rawEncoder{} })
}

func TestRawFuzzCorpus(t *testing.T) {
	checkSeedCorpus(t, "FuzzRaw", rawSeeds(t), func() decoder { return &rawDecoder{} })
}

func FuzzRaw(f *testing.F) {
	fuzzDecoder(f, rawSeeds(f), func() decoder { return &rawDecoder{} }, func(d decoder) error {
		return scratchWithin("row", cap(d.(*rawDecoder).row), fuzzMaxSide*4)
	})
}
