package rfb

import (
	"bytes"
	"encoding/binary"
	"image"
	"testing"
)

func TestCopyRectDecode(t *testing.T) {
	const w, h = 12, 10
	tests := []struct {
		name    string
		r       image.Rectangle
		src     image.Point
		wantErr bool
	}{
		{"apart", image.Rect(6, 5, 10, 9), image.Pt(0, 0), false},
		{"overlap moving down", image.Rect(2, 3, 8, 9), image.Pt(2, 1), false},
		{"overlap moving up", image.Rect(2, 1, 8, 7), image.Pt(2, 3), false},
		{"overlap moving right", image.Rect(3, 2, 11, 4), image.Pt(1, 2), false},
		{"overlap moving left", image.Rect(1, 2, 9, 4), image.Pt(3, 2), false},
		{"diagonal overlap", image.Rect(1, 1, 9, 8), image.Pt(3, 2), false},
		{"onto itself", image.Rect(2, 2, 5, 5), image.Pt(2, 2), false},
		{"source at the far corner", image.Rect(0, 0, 3, 2), image.Pt(w-3, h-2), false},
		{"whole framebuffer", image.Rect(0, 0, w, h), image.Pt(0, 0), false},
		{"empty rectangle, any source", image.Rect(4, 4, 4, 7), image.Pt(60000, 60000), false},
		{"source one past the right edge", image.Rect(0, 0, 3, 2), image.Pt(w-2, 0), true},
		{"source one past the bottom edge", image.Rect(0, 0, 3, 2), image.Pt(0, h-1), true},
		{"source far away", image.Rect(0, 0, 1, 1), image.Pt(65535, 65535), true},
	}
	for _, f := range []namedFormat{{"bgr233", Format8}, {"rgb565be", bigEndian(Format16)}, {"rgb888le", Format32}} {
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				fb := NewBuffer(w, h, f.pf)
				before := make([]uint32, w*h)
				for i := range before {
					before[i] = uint32(i*37+11) & uint32(1<<f.pf.BitsPerPixel-1)
					f.pf.PutPixel(fb.Pix[i*f.pf.BytesPerPixel():], before[i])
				}
				var payload [4]byte
				binary.BigEndian.PutUint16(payload[0:], uint16(tt.src.X))
				binary.BigEndian.PutUint16(payload[2:], uint16(tt.src.Y))
				err := decodePayload(&copyRectDecoder{bounds: fb.Bounds()}, f.pf, tt.r, fb, payload[:])
				if tt.wantErr {
					if !IsProtocolError(err) {
						t.Fatalf("got error %v, want a protocol error", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				// Every pixel of r shows what was at its source before the copy.
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						want := before[y*w+x]
						if p := image.Pt(x, y); p.In(tt.r) {
							s := p.Sub(tt.r.Min).Add(tt.src)
							want = before[s.Y*w+s.X]
						}
						if got := f.pf.Pixel(fb.Pix[fb.offset(x, y):]); got != want {
							t.Fatalf("pixel (%d,%d) = %#x, want %#x", x, y, got, want)
						}
					}
				}
			})
		}
	}
}

func TestCopyRectTruncated(t *testing.T) {
	d := &copyRectDecoder{bounds: image.Rect(0, 0, 8, 8)}
	assertTruncationsFail(t, func() decoder { return d }, Format8, image.Rect(0, 0, 2, 2), []byte{0, 1, 0, 2})
}

func copyRectSeeds() [][]byte {
	var seeds [][]byte
	for _, s := range []struct {
		format, w, h, offset int
		src                  image.Point
	}{
		{fuzzFormatIndex("rgb888le"), 10, 8, 1 | 2<<3, image.Pt(30, 40)},
		{fuzzFormatIndex("bgr233"), 64, 64, 7 | 7<<3, image.Pt(0, 0)},
		{fuzzFormatIndex("rgb565be"), 5, 60, 0, image.Pt(3, 2)},
	} {
		var out bytes.Buffer
		writeCopyRect(&out, image.Rect(0, 0, s.w, s.h), s.src)
		seeds = append(seeds, fuzzInput(s.format, s.w, s.h, s.offset, out.Bytes()[12:], out.Bytes()[12:]))
	}
	return seeds
}

func TestCopyRectFuzzCorpus(t *testing.T) {
	checkSeedCorpus(t, "FuzzCopyRect", copyRectSeeds(), func() decoder { return &copyRectDecoder{} })
}

func FuzzCopyRect(f *testing.F) {
	fuzzDecoder(f, copyRectSeeds(), func() decoder { return &copyRectDecoder{} }, nil)
}
