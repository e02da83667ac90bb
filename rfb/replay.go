package rfb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A recording is what Client.Record writes: a 32-byte header (magic, desktop
// size, pixel format) and then the server's messages exactly as they arrived.
// Benchmarks replay recordings of real servers through the decoders.

const replayMagic = "kioskwall-rfbrec1"

type replayHeader struct {
	Width, Height int
	Format        PixelFormat
}

func (h replayHeader) marshal() []byte {
	b := make([]byte, 0, 37)
	b = append(b, replayMagic...)
	b = binary.BigEndian.AppendUint16(b, uint16(h.Width))
	b = binary.BigEndian.AppendUint16(b, uint16(h.Height))
	pf := h.Format.Marshal()
	return append(b, pf[:]...)
}

// NewReplay returns a Client that reads a recording from r instead of a
// server. Only Next works on it; requests and input fail.
func NewReplay(r io.Reader, fb Framebuffer) (*Client, error) {
	in := bufio.NewReaderSize(r, 32<<10)
	b := make([]byte, len(replayMagic)+4+16)
	if err := readFull(in, b); err != nil {
		return nil, fmt.Errorf("rfb: reading recording header: %w", err)
	}
	if string(b[:len(replayMagic)]) != replayMagic {
		return nil, errors.New("rfb: not a kioskwall RFB recording")
	}
	b = b[len(replayMagic):]
	pf := UnmarshalPixelFormat(b[4:])
	if err := pf.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: ClientConfig{Framebuffer: fb, MaxCutText: 1 << 20}, pf: pf}
	c.rd = &countingReader{r: in}
	c.in = bufio.NewReaderSize(c.rd, 32<<10)
	c.decoders = newDecoders()
	c.copyRect = c.decoders[EncCopyRect].(*copyRectDecoder)
	if err := c.resize(int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:]))); err != nil {
		return nil, err
	}
	return c, nil
}
