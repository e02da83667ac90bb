package rfb

// Placeholder until the decoder and encoder land.

import (
	"bufio"
	"bytes"
	"errors"
	"image"
)

type zrleDecoder struct{}

func (d *zrleDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	return errors.New("rfb: zrle not implemented yet")
}

type zrleEncoder struct{}

func (e *zrleEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, opts EncodeOptions) (int, error) {
	return 0, errors.New("rfb: zrle not implemented yet")
}
