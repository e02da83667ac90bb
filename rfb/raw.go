package rfb

import (
	"bufio"
	"bytes"
	"image"
)

// Raw: every pixel of the rectangle, row by row, in the client's pixel format.

type rawDecoder struct{ row []byte }

// decode reads row by row so a full-screen rectangle needs only a row of scratch.
func (d *rawDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	d.row = grow(d.row, r.Dx()*pf.BytesPerPixel())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		if err := readFull(in, d.row); err != nil {
			return err
		}
		fb.WritePixels(image.Rect(r.Min.X, y, r.Max.X, y+1), d.row)
	}
	return nil
}

type rawEncoder struct{}

func (rawEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, _ EncodeOptions) (int, error) {
	writeRectHeader(w, r, EncRaw)
	w.Write(pix[:r.Dx()*r.Dy()*pf.BytesPerPixel()])
	return 1, nil
}
