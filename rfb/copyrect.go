package rfb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
)

// CopyRect: the rectangle is a copy of another area of the framebuffer, given
// by its top-left corner. It costs 4 bytes for a moved window or a scroll.

// copyRectDecoder needs the desktop bounds to check the source area; the
// client keeps them current.
type copyRectDecoder struct{ bounds image.Rectangle }

func (d *copyRectDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	b, err := peek(in, 4)
	if err != nil {
		return fmt.Errorf("copyrect: %dx%d rectangle at %v: source position: %w", r.Dx(), r.Dy(), r.Min, err)
	}
	src := image.Point{int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:]))}
	in.Discard(4)
	// An empty rectangle copies nothing, so its source is never checked and
	// must not reach the framebuffer either.
	if r.Empty() {
		return nil
	}
	if !r.Sub(r.Min).Add(src).In(d.bounds) {
		return protoErr("copyrect source %v of a %dx%d rectangle lies outside the %dx%d framebuffer",
			src, r.Dx(), r.Dy(), d.bounds.Dx(), d.bounds.Dy())
	}
	fb.CopyRect(r, src)
	return nil
}

// writeCopyRect writes a CopyRect rectangle: r's content comes from src.
func writeCopyRect(w *bytes.Buffer, r image.Rectangle, src image.Point) {
	writeRectHeader(w, r, EncCopyRect)
	var b [4]byte
	binary.BigEndian.PutUint16(b[0:], uint16(src.X))
	binary.BigEndian.PutUint16(b[2:], uint16(src.Y))
	w.Write(b[:])
}
