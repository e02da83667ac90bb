package rowjpeg

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// go test ./thumbs/rowjpeg -run '^$' -bench . -benchmem
//
// For each picture: image/jpeg's full encoding, rowjpeg's full encoding,
// and rowjpeg's encoding of one changed 16-pixel band (the MCU row across
// the middle: on a kiosk screen, buttons and their labels). ns/px is per
// pixel of the whole picture, so the three compare directly.

func BenchmarkEncode(b *testing.B) {
	const quality = 75
	for _, pic := range testPictures(b) {
		px := float64(pic.img.Rect.Dx() * pic.img.Rect.Dy())
		report := func(b *testing.B) {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/px, "ns/px")
		}
		b.Run(pic.name+"/imagejpeg", func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := jpeg.Encode(&buf, pic.img, &jpeg.Options{Quality: quality}); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
		b.Run(pic.name+"/rowjpeg-full", func(b *testing.B) {
			p, s, dst := warm(b, pic.img, quality)
			for b.Loop() {
				p.Invalidate()
				dst, _ = p.Encode(dst[:0], pic.img, pic.img.Rect, s)
			}
			report(b)
		})
		b.Run(pic.name+"/rowjpeg-band16", func(b *testing.B) {
			p, s, dst := warm(b, pic.img, quality)
			mid := pic.img.Rect.Dy() / 2 / 16 * 16 // the MCU row across the middle
			band := image.Rect(0, mid, pic.img.Rect.Dx(), mid+16)
			for b.Loop() {
				dst, _ = p.Encode(dst[:0], pic.img, band, s)
			}
			report(b)
		})
	}
}

// warm returns a Picture that has encoded img once, its Scratch, and an
// output buffer big enough.
func warm(tb testing.TB, img *image.RGBA, quality int) (*Picture, *Scratch, []byte) {
	p, err := NewPicture(img.Rect.Dx(), img.Rect.Dy(), quality)
	if err != nil {
		tb.Fatal(err)
	}
	s := NewScratch()
	dst, err := p.Encode(nil, img, img.Rect, s)
	if err != nil {
		tb.Fatal(err)
	}
	return p, s, dst
}
