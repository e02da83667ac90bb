package rfb

// Placeholder until the RRE/CoRRE decoder lands.

import (
	"bufio"
	"errors"
	"image"
)

type rreDecoder struct{ compact bool }

func (d *rreDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	return errors.New("rfb: rre not implemented yet")
}
