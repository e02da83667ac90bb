package rfb

// Placeholder until the Hextile decoder and encoder land.

import (
	"bufio"
	"bytes"
	"errors"
	"image"
)

type hextileDecoder struct{}

func (d *hextileDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	return errors.New("rfb: hextile not implemented yet")
}

type hextileEncoder struct{}

func (e *hextileEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, opts EncodeOptions) (int, error) {
	return 0, errors.New("rfb: hextile not implemented yet")
}
