package rfb

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
)

// Zlib: a u32 length, then that many bytes of one zlib stream that lasts the
// whole connection; they inflate to the rectangle's Raw encoding.

// zlibChunk is how many inflated bytes the decoder hands to the framebuffer
// at a time: whole rows, about this many, so a full-screen rectangle needs
// little scratch.
const zlibChunk = 16 << 10

type zlibDecoder struct {
	z   zstream
	buf []byte
}

func (d *zlibDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	n, err := readU32(in)
	if err != nil {
		return fmt.Errorf("zlib: %dx%d rectangle at %v: length: %w", r.Dx(), r.Dy(), r.Min, err)
	}
	rowBytes := r.Dx() * pf.BytesPerPixel()
	raw := rowBytes * r.Dy()
	if err := d.z.feed(in, int(n), deflateBound(raw)); err != nil {
		return fmt.Errorf("zlib: %dx%d rectangle at %v: %w", r.Dx(), r.Dy(), r.Min, err)
	}
	if raw == 0 {
		return nil
	}
	rows := max(1, min(r.Dy(), zlibChunk/rowBytes))
	d.buf = grow(d.buf, rows*rowBytes)
	for y := r.Min.Y; y < r.Max.Y; y += rows {
		chunk := image.Rect(r.Min.X, y, r.Max.X, min(y+rows, r.Max.Y))
		p := d.buf[:chunk.Dy()*rowBytes]
		if err := d.z.inflate(p); err != nil {
			return fmt.Errorf("zlib: %dx%d rectangle at %v, row %d: %w", r.Dx(), r.Dy(), r.Min, y-r.Min.Y, err)
		}
		fb.WritePixels(chunk, p)
	}
	return nil
}

// zlibEncoder writes Zlib rectangles for tests and fuzz seeds. Its level is
// fixed by the first rectangle's options: the stream outlives a rectangle,
// and a new level would need a new stream the client cannot know about.
type zlibEncoder struct {
	zw  *zlib.Writer
	out bytes.Buffer
}

func (e *zlibEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, opts EncodeOptions) (int, error) {
	pix, err := packedPixels(pf, r, pix)
	if err != nil {
		return 0, fmt.Errorf("zlib: %w", err)
	}
	if e.zw == nil {
		level := opts.Compression
		if level < zlib.NoCompression || level > zlib.BestCompression {
			level = zlib.DefaultCompression
		}
		if e.zw, err = zlib.NewWriterLevel(&e.out, level); err != nil {
			return 0, fmt.Errorf("zlib: %w", err)
		}
	}
	e.out.Reset()
	if _, err := e.zw.Write(pix); err != nil {
		return 0, fmt.Errorf("zlib: %w", err)
	}
	// A sync flush ends the rectangle's data on a byte boundary, so the
	// client can inflate all of it from what this rectangle carries.
	if err := e.zw.Flush(); err != nil {
		return 0, fmt.Errorf("zlib: %w", err)
	}
	writeRectHeader(w, r, EncZlib)
	var length [4]byte
	binary.BigEndian.PutUint32(length[:], uint32(e.out.Len()))
	w.Write(length[:])
	w.Write(e.out.Bytes())
	return 1, nil
}
