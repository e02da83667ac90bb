package rfb

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
)

// Message is what Next returns: *Update, *Bell, *CutText or *ColourMap.
type Message interface{ serverMessage() }

// Bell is the server's bell.
type Bell struct{}

// CutText is the server's clipboard. Text longer than the configured bound
// is dropped and Truncated is set.
type CutText struct {
	Text      string
	Truncated bool
}

// ColourMap reports colour-map entries, already passed to the framebuffer.
type ColourMap struct {
	First   int
	Colours []Colour
}

func (*Update) serverMessage()    {}
func (*Bell) serverMessage()      {}
func (*CutText) serverMessage()   {}
func (*ColourMap) serverMessage() {}

// maxCursorSide bounds cursor shapes: real ones are at most 128 pixels.
const maxCursorSide = 1024

// Next reads one server message. A FramebufferUpdate is decoded into the
// framebuffer before Next returns it; the *Update is reused by the next call.
func (c *Client) Next() (Message, error) {
	t, err := c.in.ReadByte() // io.EOF here is a clean end between messages
	if err != nil {
		return nil, err
	}
	switch t {
	case 0:
		return c.readUpdate()
	case 1:
		return c.readColourMap()
	case 2:
		return &Bell{}, nil
	case 3:
		return c.readCutText()
	}
	return nil, protoErr("unknown server message type %d", t)
}

func (c *Client) readUpdate() (*Update, error) {
	start := c.rd.n.Load() - int64(c.in.Buffered()) - 1
	if pf := c.nextPF.Swap(nil); pf != nil && *pf != c.pf {
		c.pf = *pf
		if err := c.resize(c.width, c.height); err != nil {
			return nil, err
		}
	}
	if b, ok := c.cfg.Framebuffer.(UpdateBatcher); ok {
		b.BeginUpdate()
		defer b.EndUpdate()
	}
	u := &c.update
	u.Rects = u.Rects[:0]
	u.Resized = false
	if u.Encodings == nil {
		u.Encodings = make(map[Encoding]int)
	}
	clear(u.Encodings)

	// Headers are read into the client's own array: a local one would escape
	// through the io.Reader and cost an allocation per rectangle.
	rh := c.hdr[:12]
	if err := readFull(c.in, rh[:3]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(rh[1:]))
	for i := 0; i < n; i++ {
		if err := readFull(c.in, rh); err != nil {
			return nil, err
		}
		x, y := int(binary.BigEndian.Uint16(rh[0:])), int(binary.BigEndian.Uint16(rh[2:]))
		w, h := int(binary.BigEndian.Uint16(rh[4:])), int(binary.BigEndian.Uint16(rh[6:]))
		enc := Encoding(int32(binary.BigEndian.Uint32(rh[8:])))
		r := image.Rect(x, y, x+w, y+h)
		if enc == EncLastRect {
			break
		}
		if enc < 0 {
			if err := c.readPseudo(enc, r); err != nil {
				return nil, fmt.Errorf("rfb: %v rectangle %d of %d: %w", enc, i+1, n, err)
			}
			continue
		}
		d, ok := c.decoders[enc]
		if !ok {
			return nil, protoErr("rectangle %d of %d uses encoding %v, which the client did not ask for", i+1, n, enc)
		}
		if x+w > c.width || y+h > c.height {
			return nil, protoErr("%v rectangle %d of %d at %v lies outside the %dx%d framebuffer", enc, i+1, n, r, c.width, c.height)
		}
		if err := d.decode(c.in, c.pf, r, c.cfg.Framebuffer); err != nil {
			return nil, fmt.Errorf("rfb: %v rectangle %d of %d at %v: %w", enc, i+1, n, r, err)
		}
		u.Encodings[enc]++
		if !r.Empty() {
			u.Rects = append(u.Rects, r)
		}
	}
	u.Bytes = c.rd.n.Load() - int64(c.in.Buffered()) - start
	return u, nil
}

func (c *Client) readPseudo(enc Encoding, r image.Rectangle) error {
	switch enc {
	case EncDesktopSize:
		return c.desktopResized(r.Dx(), r.Dy())
	case EncExtendedDesktopSize:
		var b [4]byte
		if err := readFull(c.in, b[:]); err != nil {
			return err
		}
		if err := discard(c.in, int(b[0])*16); err != nil {
			return err
		}
		// y carries the status of a client-requested change; non-zero means
		// refused, and the size did not change. Servers also send this
		// rectangle with every non-incremental request (a liveness probe
		// included): only a new size is a resize.
		if r.Min.Y != 0 || (r.Dx() == c.width && r.Dy() == c.height) {
			return nil
		}
		return c.desktopResized(r.Dx(), r.Dy())
	case EncDesktopName:
		name, err := readReason(c.in)
		if err != nil {
			return err
		}
		c.name = name
		return nil
	case EncCursor:
		return c.readCursor(r)
	}
	return protoErr("the client did not ask for this pseudo-encoding")
}

func (c *Client) desktopResized(w, h int) error {
	if err := c.resize(w, h); err != nil {
		return err
	}
	c.update.Resized = true
	return nil
}

// readCursor keeps the pointer shape beside the framebuffer.
func (c *Client) readCursor(r image.Rectangle) error {
	w, h := r.Dx(), r.Dy()
	if w > maxCursorSide || h > maxCursorSide {
		return protoErr("cursor of %dx%d is larger than %dx%d", w, h, maxCursorSide, maxCursorSide)
	}
	bpp := c.pf.BytesPerPixel()
	maskRow := (w + 7) / 8
	c.scratch = grow(c.scratch, w*h*bpp+maskRow*h)
	if err := readFull(c.in, c.scratch); err != nil {
		return err
	}
	if w == 0 || h == 0 {
		c.cursor = nil
		return nil
	}
	pix, mask := c.scratch[:w*h*bpp], c.scratch[w*h*bpp:]
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if mask[y*maskRow+x/8]&(0x80>>(x%8)) == 0 {
				continue
			}
			cr, cg, cb := c.pf.RGB(c.pf.Pixel(pix[(y*w+x)*bpp:]))
			img.SetRGBA(x, y, color.RGBA{cr, cg, cb, 0xff})
		}
	}
	c.cursor = &Cursor{Hotspot: r.Min, Image: img}
	return nil
}

func (c *Client) readColourMap() (*ColourMap, error) {
	var b [5]byte
	if err := readFull(c.in, b[:]); err != nil {
		return nil, err
	}
	first, n := int(binary.BigEndian.Uint16(b[1:])), int(binary.BigEndian.Uint16(b[3:]))
	if first+n > 256 {
		return nil, protoErr("colour map entries %d..%d beyond the 256 an 8-bit palette holds", first, first+n-1)
	}
	raw := make([]byte, 6*n)
	if err := readFull(c.in, raw); err != nil {
		return nil, err
	}
	cm := &ColourMap{First: first, Colours: make([]Colour, n)}
	for i := range cm.Colours {
		cm.Colours[i] = Colour{
			R: binary.BigEndian.Uint16(raw[6*i:]),
			G: binary.BigEndian.Uint16(raw[6*i+2:]),
			B: binary.BigEndian.Uint16(raw[6*i+4:]),
		}
	}
	c.cfg.Framebuffer.SetColourMap(first, cm.Colours)
	return cm, nil
}

func (c *Client) readCutText() (*CutText, error) {
	var b [7]byte
	if err := readFull(c.in, b[:]); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(b[3:]))
	if n > int64(c.cfg.MaxCutText) {
		if err := discardN(c, n); err != nil {
			return nil, err
		}
		return &CutText{Truncated: true}, nil
	}
	text := make([]byte, n)
	if err := readFull(c.in, text); err != nil {
		return nil, err
	}
	return &CutText{Text: latin1(text)}, nil
}

// discardN skips n bytes, which may exceed an int on 32-bit machines.
func discardN(c *Client, n int64) error {
	for n > 0 {
		step := int(min(n, 1<<20))
		if err := discard(c.in, step); err != nil {
			return err
		}
		n -= int64(step)
	}
	return nil
}

// latin1 decodes the classic protocol's ISO 8859-1 text.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
