package rfb

import (
	"bufio"
	"compress/zlib"
	"errors"
	"io"
	"slices"
)

// zstream is one persistent zlib stream, as Zlib, ZRLE and Tight use them: the
// server compresses every rectangle into the same stream and flushes, and the
// client feeds each rectangle's compressed bytes in turn and inflates exactly
// what the rectangle needs.
//
// Inflated output is never sized by the server: reads ask for what the
// rectangle needs. Compressed bytes left over after a rectangle (the empty
// block of a sync flush) stay for the next one, up to a bound.
type zstream struct {
	pending []byte // compressed bytes not yet consumed
	pos     int
	zr      io.ReadCloser
	broken  error
}

// maxZLeftover bounds compressed bytes carried from one rectangle to the next.
const maxZLeftover = 64 << 10

// Read and ReadByte feed the inflater; ReadByte keeps flate from wrapping us
// in a buffered reader that would read past the current rectangle.
func (z *zstream) Read(p []byte) (int, error) {
	if z.pos >= len(z.pending) {
		return 0, io.EOF
	}
	n := copy(p, z.pending[z.pos:])
	z.pos += n
	return n, nil
}

func (z *zstream) ReadByte() (byte, error) {
	if z.pos >= len(z.pending) {
		return 0, io.EOF
	}
	b := z.pending[z.pos]
	z.pos++
	return b, nil
}

// reset starts a new stream (Tight's reset bits).
func (z *zstream) reset() {
	if z.zr != nil {
		z.zr.Close()
	}
	z.zr = nil
	z.pending = z.pending[:0]
	z.pos = 0
	z.broken = nil
}

// feed reads n compressed bytes from in. max bounds n: a server that claims
// more than the rectangle can need gets an error, not an allocation.
func (z *zstream) feed(in *bufio.Reader, n, max int) error {
	if n < 0 || n > max {
		return protoErr("compressed length %d exceeds %d, the most this rectangle can need", n, max)
	}
	left := len(z.pending) - z.pos
	if left > maxZLeftover {
		return protoErr("%d compressed bytes left unused by earlier rectangles", left)
	}
	copy(z.pending, z.pending[z.pos:])
	// slices.Grow, unlike grow, keeps the leftover bytes when it reallocates.
	z.pending = slices.Grow(z.pending[:left], n)[:left+n]
	z.pos = 0
	return readFull(in, z.pending[left:])
}

// inflate fills p with inflated bytes from the stream.
func (z *zstream) inflate(p []byte) error {
	if z.broken != nil {
		return z.broken
	}
	if len(p) == 0 {
		return nil
	}
	if z.zr == nil {
		zr, err := zlib.NewReader(z)
		if err != nil {
			z.broken = protoErr("bad zlib stream header: %v", err)
			return z.broken
		}
		z.zr = zr
	}
	if _, err := io.ReadFull(z.zr, p); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			z.broken = protoErr("compressed data ended before the rectangle was complete")
		} else {
			z.broken = protoErr("bad zlib data: %v", err)
		}
		return z.broken
	}
	return nil
}

// deflateBound is the most compressed bytes zlib can produce for n input bytes
// (stored blocks, plus header and flush), with room to spare.
func deflateBound(n int) int { return n + n/16 + 1024 }
