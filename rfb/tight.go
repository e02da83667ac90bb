package rfb

// Placeholder until the decoder and encoder land.

import (
	"bufio"
	"bytes"
	"errors"
	"image"
)

type tightDecoder struct{}

func (d *tightDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	return errors.New("rfb: tight not implemented yet")
}

type tightEncoder struct{}

func (e *tightEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, opts EncodeOptions) (int, error) {
	return 0, errors.New("rfb: tight not implemented yet")
}
