package rowjpeg

import (
	"bytes"
	"encoding/binary"
	"image"
	"testing"
)

// FuzzRowJPEG plays the fuzzer's input as a picture and a series of changes,
// each encoded by splicing with a rectangle that covers it, and checks every
// output against a fresh Picture's full encoding. Input: width (2 bytes),
// height (2), quality (1), content seed (1), then 12 bytes per change (see
// fuzzChange).
func FuzzRowJPEG(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 6 {
			return
		}
		w := 1 + int(binary.LittleEndian.Uint16(data))%700
		h := 1 + int(binary.LittleEndian.Uint16(data[2:]))%400
		quality := int(data[4])
		img := fuzzPicture(w, h, data[5])
		p, err := NewPicture(w, h, quality)
		if err != nil {
			t.Fatal(err)
		}
		s := NewScratch()
		out, err := p.Encode(nil, img, image.Rectangle{}, s)
		if err != nil {
			t.Fatal(err)
		}
		for ops := data[6:]; len(ops) >= 12; ops = ops[12:] {
			cover := fuzzChange(img, ops[:12])
			if out, err = p.Encode(out[:0], img, cover, s); err != nil {
				t.Fatal(err)
			}
			if want := encodeFull(t, img, quality); !bytes.Equal(out, want) {
				t.Fatalf("%dx%d q%d: after a change covered by %v, the spliced output differs from a full encoding", w, h, quality, cover)
			}
		}
		if got := decode(t, out).Bounds().Size(); got != image.Pt(w, h) {
			t.Fatalf("decodes to %v, want %dx%d", got, w, h)
		}
	})
}

// fuzzPicture fills a w x h picture with gradients and a hashed texture,
// both set by seed.
func fuzzPicture(w, h int, seed byte) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			o := img.PixOffset(x, y)
			t := uint32(x*73856093^y*19349663) * uint32(seed|1)
			img.Pix[o] = byte(x + int(seed))
			img.Pix[o+1] = byte(y*int(seed>>4) + int(t>>29))
			img.Pix[o+2] = byte(t >> 24)
			img.Pix[o+3] = 0xff
		}
	}
	return img
}

// fuzzChange paints a rectangle of img as op says and returns the rectangle
// to tell Encode: the change, grown or moved by op's last bytes, as long as
// it still covers the change. op: x, y (2 bytes each), width, height, red,
// green, blue, a texture flag, and how much to grow the cover left and down.
func fuzzChange(img *image.RGBA, op []byte) image.Rectangle {
	x, y := int(binary.LittleEndian.Uint16(op)), int(binary.LittleEndian.Uint16(op[2:]))
	r := image.Rect(x, y, x+int(op[4]), y+int(op[5])).Intersect(img.Rect)
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			o := img.PixOffset(px, py)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2] = op[6], op[7], op[8]
			if op[9]&1 != 0 {
				img.Pix[o] ^= byte(px * py)
			}
		}
	}
	if r.Empty() && op[9]&2 != 0 {
		return image.Rect(-int(op[10]), -int(op[11]), 0, 0) // nothing changed, nothing to cover
	}
	return image.Rect(r.Min.X-int(op[10]), r.Min.Y, r.Max.X, r.Max.Y+int(op[11]))
}
