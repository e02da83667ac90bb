package rfb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
)

// ProtocolError reports a peer that broke the protocol: a length out of range,
// a rectangle outside the framebuffer, an unknown message. The session cannot
// continue after one.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "rfb: protocol error: " + e.Msg }

// protoErr formats a ProtocolError.
func protoErr(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// IsProtocolError reports whether err (or what it wraps) is a ProtocolError.
func IsProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// readFull reads len(p) bytes; a short read is reported as io.ErrUnexpectedEOF.
func readFull(in io.Reader, p []byte) error {
	_, err := io.ReadFull(in, p)
	if err == io.EOF && len(p) > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

func readU8(in *bufio.Reader) (uint8, error) {
	b, err := in.ReadByte()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}

// readU32 peeks into the reader's buffer instead of reading into a local
// array: an array handed to io.ReadFull escapes to the heap, and it runs for
// every rectangle, which must not allocate.
func readU32(in *bufio.Reader) (uint32, error) {
	b, err := peek(in, 4)
	if err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint32(b)
	_, err = in.Discard(4)
	return v, err
}

// peek returns the next n bytes without consuming them; n is at most the
// reader's buffer size (16 bytes or more). A short read is io.ErrUnexpectedEOF.
func peek(in *bufio.Reader, n int) ([]byte, error) {
	b, err := in.Peek(n)
	if len(b) < n && err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}

// discard skips n bytes.
func discard(in *bufio.Reader, n int) error {
	m, err := in.Discard(n)
	if m < n && err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// grow returns buf resized to n bytes, reusing its memory when it can.
func grow(buf []byte, n int) []byte {
	if cap(buf) < n {
		return make([]byte, n)
	}
	return buf[:n]
}

// writeRectHeader writes the 12-byte rectangle header of a FramebufferUpdate.
func writeRectHeader(w *bytes.Buffer, r image.Rectangle, enc Encoding) {
	var b [12]byte
	binary.BigEndian.PutUint16(b[0:], uint16(r.Min.X))
	binary.BigEndian.PutUint16(b[2:], uint16(r.Min.Y))
	binary.BigEndian.PutUint16(b[4:], uint16(r.Dx()))
	binary.BigEndian.PutUint16(b[6:], uint16(r.Dy()))
	binary.BigEndian.PutUint32(b[8:], uint32(int32(enc)))
	w.Write(b[:])
}

// readCompactLength reads Tight's 1-3 byte compact length (at most 2^22-1).
func readCompactLength(in *bufio.Reader) (int, error) {
	n := 0
	for i := 0; i < 3; i++ {
		b, err := readU8(in)
		if err != nil {
			return 0, err
		}
		if i == 2 {
			return n | int(b)<<14, nil
		}
		n |= int(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			break
		}
	}
	return n, nil
}

// appendCompactLength appends n in Tight's compact length form.
func appendCompactLength(b []byte, n int) []byte {
	b = append(b, byte(n&0x7f))
	if n > 0x7f {
		b[len(b)-1] |= 0x80
		b = append(b, byte(n>>7&0x7f))
		if n > 0x3fff {
			b[len(b)-1] |= 0x80
			b = append(b, byte(n>>14))
		}
	}
	return b
}
