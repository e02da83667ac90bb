package rfb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"image"
)

// CopyRect: the rectangle is a copy of another area of the framebuffer, given
// by its top-left corner. It costs 4 bytes for a moved window or a scroll.

// copyRectDecoder needs the desktop bounds to check the source area; the
// client keeps them current.
type copyRectDecoder struct{ bounds image.Rectangle }

func (d *copyRectDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	sx, err := readU16(in)
	if err != nil {
		return err
	}
	sy, err := readU16(in)
	if err != nil {
		return err
	}
	src := image.Point{int(sx), int(sy)}
	if !r.Sub(r.Min).Add(src).In(d.bounds) && !r.Empty() {
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
