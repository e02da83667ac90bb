package rfb

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
)

// Raw: every pixel of the rectangle, row by row, in the client's pixel format.

type rawDecoder struct{ row []byte }

// decode reads row by row so a full-screen rectangle needs only a row of scratch.
func (d *rawDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	d.row = grow(d.row, r.Dx()*pf.BytesPerPixel())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		if err := readFull(in, d.row); err != nil {
			return fmt.Errorf("raw: row %d of a %dx%d rectangle at %v: %w", y-r.Min.Y, r.Dx(), r.Dy(), r.Min, err)
		}
		fb.WritePixels(image.Rect(r.Min.X, y, r.Max.X, y+1), d.row)
	}
	return nil
}

type rawEncoder struct{}

func (rawEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, _ EncodeOptions) (int, error) {
	pix, err := packedPixels(pf, r, pix)
	if err != nil {
		return 0, fmt.Errorf("raw: %w", err)
	}
	writeRectHeader(w, r, EncRaw)
	w.Write(pix)
	return 1, nil
}

// packedPixels returns r's pixels from the front of pix. Encoders get pix from
// code in this process, so a short slice is a bug there: report it rather than
// panic halfway through a message.
func packedPixels(pf PixelFormat, r image.Rectangle, pix []byte) ([]byte, error) {
	n := r.Dx() * r.Dy() * pf.BytesPerPixel()
	if len(pix) < n {
		return nil, fmt.Errorf("%d bytes of pixels for a %dx%d rectangle at %d bytes a pixel, which needs %d",
			len(pix), r.Dx(), r.Dy(), pf.BytesPerPixel(), n)
	}
	return pix[:n], nil
}
