package rfb

// Placeholder until the Zlib decoder lands.

import (
	"bufio"
	"errors"
	"image"
)

type zlibDecoder struct{}

func (d *zlibDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	return errors.New("rfb: zlib not implemented yet")
}
