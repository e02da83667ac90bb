package rowjpeg

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"testing"
)

// psnr is the peak signal-to-noise ratio of b against a over R, G and B, in
// dB (+Inf when they are equal).
func psnr(a *image.RGBA, b image.Image) float64 {
	var sum float64
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			o := a.PixOffset(x, y)
			r, g, bl, _ := b.At(x-a.Rect.Min.X+b.Bounds().Min.X, y-a.Rect.Min.Y+b.Bounds().Min.Y).RGBA()
			for c, v := range [3]uint32{r >> 8, g >> 8, bl >> 8} {
				d := float64(a.Pix[o+c]) - float64(v)
				sum += d * d
			}
		}
	}
	mse := sum / float64(3*a.Rect.Dx()*a.Rect.Dy())
	return 10 * math.Log10(255*255/mse)
}

func stdJPEG(tb testing.TB, img image.Image, quality int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodeFull(tb testing.TB, img *image.RGBA, quality int) []byte {
	tb.Helper()
	p, err := NewPicture(img.Rect.Dx(), img.Rect.Dy(), quality)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := p.Encode(nil, img, img.Rect, NewScratch())
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func decode(tb testing.TB, b []byte) image.Image {
	tb.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("image/jpeg cannot decode the output: %v", err)
	}
	return img
}

// Against image/jpeg at the same quality, on the pictures kiosks show: the
// same quality (PSNR within 0.3 dB) for the same bytes (within 5%).
func TestQualityAndSizeMatchImageJPEG(t *testing.T) {
	for _, pic := range testPictures(t) {
		for _, q := range []int{50, 75, 90} {
			std := stdJPEG(t, pic.img, q)
			ours := encodeFull(t, pic.img, q)
			dec := decode(t, ours)
			if dec.Bounds().Size() != pic.img.Rect.Size() {
				t.Fatalf("%s q%d: decodes to %v, want %v", pic.name, q, dec.Bounds().Size(), pic.img.Rect.Size())
			}
			pStd, pOurs := psnr(pic.img, decode(t, std)), psnr(pic.img, dec)
			ratio := float64(len(ours)) / float64(len(std))
			t.Logf("%-12s q%d: image/jpeg %6d bytes %.2f dB, rowjpeg %6d bytes (%+.1f%%) %.2f dB (%+.2f)",
				pic.name, q, len(std), pStd, len(ours), 100*(ratio-1), pOurs, pOurs-pStd)
			if pOurs < pStd-0.3 {
				t.Errorf("%s q%d: PSNR %.2f dB, image/jpeg's %.2f dB: more than 0.3 dB worse", pic.name, q, pOurs, pStd)
			}
			if ratio < 0.95 || ratio > 1.05 {
				t.Errorf("%s q%d: %d bytes, image/jpeg's %d: not within 5%%", pic.name, q, len(ours), len(std))
			}
		}
	}
}
