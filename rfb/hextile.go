package rfb

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"math/bits"
)

// Hextile splits a rectangle into 16x16 tiles, left to right and top to
// bottom; tiles in the last column and row are narrower or shorter when the
// rectangle's size is not a multiple of 16. Each tile starts with a mask of
// these sub-encoding bits.
const (
	hextileRaw         = 1 << 0 // the tile's pixels follow; the other bits are ignored
	hextileBackground  = 1 << 1 // a background pixel follows
	hextileForeground  = 1 << 2 // a foreground pixel follows
	hextileAnySubrects = 1 << 3 // a subrectangle count follows
	hextileColoured    = 1 << 4 // each subrectangle carries its own pixel
	hextileMaskBits    = 1<<5 - 1

	hextileSide = 16
)

// hextileDecoder composes each tile with subrectangles in a scratch tile and
// hands it to the framebuffer in one call.
type hextileDecoder struct {
	tile           [hextileSide * hextileSide * 4]byte
	bg, fg         [4]byte
	haveBg, haveFg bool
}

// decode is lenient where TigerVNC, noVNC and libvncclient are: the spec
// forbids carrying the background over a raw tile, and the foreground over a
// raw or coloured tile, but the colour meant is never in doubt, so the last
// one given stays in use. A tile that needs a colour no earlier tile of the
// rectangle gave is an error: there is nothing sensible to draw, and it
// usually means the stream has lost sync.
func (d *hextileDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	d.haveBg, d.haveFg = false, false
	for y := r.Min.Y; y < r.Max.Y; y += hextileSide {
		for x := r.Min.X; x < r.Max.X; x += hextileSide {
			t := image.Rect(x, y, min(x+hextileSide, r.Max.X), min(y+hextileSide, r.Max.Y))
			if err := d.decodeTile(in, pf.BytesPerPixel(), t, fb); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *hextileDecoder) decodeTile(in *bufio.Reader, bpp int, t image.Rectangle, fb Framebuffer) error {
	ioErr := func(what string, err error) error {
		return fmt.Errorf("hextile: %dx%d tile at %v: %s: %w", t.Dx(), t.Dy(), t.Min, what, err)
	}
	mask, err := readU8(in)
	if err != nil {
		return ioErr("sub-encoding", err)
	}
	// Undefined bits mean the stream is out of step; noVNC refuses them too.
	if mask&^hextileMaskBits != 0 {
		return protoErr("hextile: tile at %v has sub-encoding 0x%02x, which sets bits the spec does not define", t.Min, mask)
	}
	tw, th := t.Dx(), t.Dy()
	if mask&hextileRaw != 0 {
		p := d.tile[:tw*th*bpp]
		if err := readFull(in, p); err != nil {
			return ioErr("raw pixels", err)
		}
		fb.WritePixels(t, p)
		return nil
	}
	if mask&hextileBackground != 0 {
		if err := readFull(in, d.bg[:bpp]); err != nil {
			return ioErr("background", err)
		}
		d.haveBg = true
	} else if !d.haveBg {
		return protoErr("hextile: tile at %v relies on an earlier background, but no tile of this rectangle gave one", t.Min)
	}
	if mask&hextileForeground != 0 {
		if err := readFull(in, d.fg[:bpp]); err != nil {
			return ioErr("foreground", err)
		}
		d.haveFg = true
	}
	if mask&hextileAnySubrects == 0 {
		fb.FillRect(t, d.bg[:bpp])
		return nil
	}
	n, err := readU8(in)
	if err != nil {
		return ioErr("subrectangle count", err)
	}
	coloured := mask&hextileColoured != 0
	if !coloured && !d.haveFg && n > 0 {
		return protoErr("hextile: tile at %v relies on an earlier foreground, but no tile of this rectangle gave one", t.Min)
	}
	stride := tw * bpp
	tile := d.tile[:th*stride]
	fillRows(tile, stride, stride, th, d.bg[:bpp])
	size := 2
	if coloured {
		size += bpp
	}
	for i := 0; i < int(n); i++ {
		b, err := peek(in, size)
		if err != nil {
			return ioErr(fmt.Sprintf("subrectangle %d of %d", i, n), err)
		}
		pixel := d.fg[:bpp]
		if coloured {
			pixel, b = b[:bpp], b[bpp:]
		}
		x, y := int(b[0]>>4), int(b[0]&15)
		w, h := int(b[1]>>4)+1, int(b[1]&15)+1
		if x+w > tw || y+h > th {
			return protoErr("hextile: subrectangle %d at (%d,%d) size %dx%d lies outside the %dx%d tile at %v",
				i, x, y, w, h, tw, th, t.Min)
		}
		fillRows(tile[y*stride+x*bpp:], stride, w*bpp, h, pixel)
		in.Discard(size)
	}
	fb.WritePixels(t, tile)
	return nil
}

// fillRows sets h rows of n bytes each, stride bytes apart from the start of
// dst, to copies of pixel; n is a multiple of len(pixel).
func fillRows(dst []byte, stride, n, h int, pixel []byte) {
	row := dst[:n]
	for f := copy(row, pixel); f < n; f *= 2 {
		copy(row[f:], row[:f])
	}
	for y := 1; y < h; y++ {
		copy(dst[y*stride:y*stride+n], row)
	}
}

// hextileEncoder encodes each tile as the smallest of: solid background,
// background with one-colour subrectangles, coloured subrectangles, raw. It
// carries background and foreground from tile to tile exactly as far as the
// spec allows and no further, because clients act on those rules: noVNC, for
// one, ignores a tile with an empty mask that follows a raw tile.
type hextileEncoder struct {
	px     [hextileSide * hextileSide]uint32 // the tile's pixel values, row by row
	counts colourCounter
	// subs holds two candidate subrectangle lists, so the cheaper of a
	// two-colour tile's two readings can be kept while the other is built.
	subs  [2][hextileSide * hextileSide * (4 + 2)]byte
	pixel [4]byte

	// What the client will carry into the next tile.
	bg, fg     uint32
	bgOK, fgOK bool
}

func (e *hextileEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, _ EncodeOptions) (int, error) {
	pix, err := packedPixels(pf, r, pix)
	if err != nil {
		return 0, fmt.Errorf("hextile: %w", err)
	}
	writeRectHeader(w, r, EncHextile)
	bpp := pf.BytesPerPixel()
	stride := r.Dx() * bpp
	// The spec makes the first non-raw tile of each rectangle give its background.
	e.bgOK, e.fgOK = false, false
	for y := 0; y < r.Dy(); y += hextileSide {
		for x := 0; x < r.Dx(); x += hextileSide {
			tw, th := min(hextileSide, r.Dx()-x), min(hextileSide, r.Dy()-y)
			e.encodeTile(w, pf, pix[y*stride+x*bpp:], stride, tw, th)
		}
	}
	return 1, nil
}

// encodeTile writes the tw x th tile whose top-left pixel starts pix.
func (e *hextileEncoder) encodeTile(w *bytes.Buffer, pf PixelFormat, pix []byte, stride, tw, th int) {
	bpp := pf.BytesPerPixel()
	px := e.px[:tw*th]
	for y := 0; y < th; y++ {
		row := pix[y*stride:]
		for x := 0; x < tw; x++ {
			px[y*tw+x] = pf.Pixel(row[x*bpp:])
		}
	}
	c0, c1, colours := px[0], px[0], 1
	for _, v := range px {
		if v == c0 || (colours == 2 && v == c1) {
			continue
		}
		if colours == 2 {
			colours = 3
			break
		}
		c1, colours = v, 2
	}
	rawSize := 1 + len(px)*bpp
	switch {
	case colours == 1:
		e.writeSolid(w, pf, c0)
		return
	case colours == 2 && e.writeTwoColour(w, pf, tw, th, c0, c1, rawSize):
		return
	case colours == 3 && e.writeColoured(w, pf, tw, th, rawSize):
		return
	}
	w.WriteByte(hextileRaw)
	for y := 0; y < th; y++ {
		w.Write(pix[y*stride : y*stride+tw*bpp])
	}
	e.bgOK, e.fgOK = false, false
}

func (e *hextileEncoder) writeSolid(w *bytes.Buffer, pf PixelFormat, c uint32) {
	if e.bgOK && e.bg == c {
		w.WriteByte(0)
		return
	}
	w.WriteByte(hextileBackground)
	e.writePixel(w, pf, c)
	e.bg, e.bgOK = c, true
}

// writeTwoColour tries both colours as background and writes the cheaper
// reading, unless even that is larger than raw (rawSize bytes). Ties go to
// subrectangles, which keep the background and foreground for the next tile.
func (e *hextileEncoder) writeTwoColour(w *bytes.Buffer, pf PixelFormat, tw, th int, c0, c1 uint32, rawSize int) bool {
	type reading struct {
		bg, fg uint32
		mask   byte
		size   int
		subs   []byte
		n      int
	}
	var best reading
	for i, bg := range [2]uint32{c0, c1} {
		fg := c1
		if bg == c1 {
			fg = c0
		}
		rd := reading{bg: bg, fg: fg, mask: hextileAnySubrects, size: 2}
		if !e.bgOK || e.bg != bg {
			rd.mask |= hextileBackground
			rd.size += pf.BytesPerPixel()
		}
		if !e.fgOK || e.fg != fg {
			rd.mask |= hextileForeground
			rd.size += pf.BytesPerPixel()
		}
		var ok bool
		rd.subs, rd.n, ok = e.subrects(e.subs[i][:0], pf, tw, th, bg, false, rawSize-rd.size)
		if !ok {
			continue
		}
		rd.size += len(rd.subs)
		if best.subs == nil || rd.size < best.size {
			best = rd
		}
	}
	if best.subs == nil {
		return false
	}
	w.WriteByte(best.mask)
	if best.mask&hextileBackground != 0 {
		e.writePixel(w, pf, best.bg)
	}
	if best.mask&hextileForeground != 0 {
		e.writePixel(w, pf, best.fg)
	}
	w.WriteByte(byte(best.n))
	w.Write(best.subs)
	e.bg, e.fg, e.bgOK, e.fgOK = best.bg, best.fg, true, true
	return true
}

// writeColoured writes a tile of three or more colours as its most frequent
// colour plus coloured subrectangles, unless that is larger than raw.
func (e *hextileEncoder) writeColoured(w *bytes.Buffer, pf PixelFormat, tw, th, rawSize int) bool {
	bpp := pf.BytesPerPixel()
	bg, distinct := e.counts.dominant(e.px[:tw*th])
	mask, size := byte(hextileAnySubrects|hextileColoured), 2
	if !e.bgOK || e.bg != bg {
		mask |= hextileBackground
		size += bpp
	}
	// Every colour but the background needs a subrectangle at least.
	if size+(distinct-1)*(bpp+2) > rawSize {
		return false
	}
	subs, n, ok := e.subrects(e.subs[0][:0], pf, tw, th, bg, true, rawSize-size)
	if !ok {
		return false
	}
	w.WriteByte(mask)
	if mask&hextileBackground != 0 {
		e.writePixel(w, pf, bg)
	}
	w.WriteByte(byte(n))
	w.Write(subs)
	// The spec does not let a foreground survive a coloured tile.
	e.bg, e.bgOK, e.fgOK = bg, true, false
	return true
}

// subrects covers every pixel of the tile in e.px that is not bg with
// rectangles of one colour, appending them to dst as Hextile sends them (the
// pixel first when coloured). It gives up, ok false, past limit bytes or 255
// subrectangles. From each pixel not yet covered it takes the larger of the
// widest-then-tallest and tallest-then-widest rectangle of that pixel's
// colour; rectangles may overlap pixels of their own colour already covered,
// which costs nothing and often saves a subrectangle.
func (e *hextileEncoder) subrects(dst []byte, pf PixelFormat, tw, th int, bg uint32, coloured bool, limit int) (out []byte, n int, ok bool) {
	bpp := pf.BytesPerPixel()
	size := 2
	if coloured {
		size += bpp
	}
	px := e.px[:tw*th]
	var covered [hextileSide]uint16 // bit x of covered[y]: pixel (x,y) is drawn
	for y := 0; y < th; y++ {
		for x := 0; x < tw; x++ {
			c := px[y*tw+x]
			if c == bg || covered[y]&(1<<x) != 0 {
				continue
			}
			if n == 255 || len(dst)+size > limit {
				return nil, 0, false
			}
			w, h := bestSubrect(px, tw, th, x, y, &covered)
			span := uint16(1<<w-1) << x
			for j := y; j < y+h; j++ {
				covered[j] |= span
			}
			if coloured {
				dst = dst[:len(dst)+bpp]
				pf.PutPixel(dst[len(dst)-bpp:], c)
			}
			dst = append(dst, byte(x<<4|y), byte((w-1)<<4|(h-1)))
			n++
		}
	}
	return dst, n, true
}

// bestSubrect returns the size of the rectangle of px[y*tw+x]'s colour with
// its top-left corner at (x,y) that covers the most pixels not yet covered,
// trying the widest run first and the tallest run first.
func bestSubrect(px []uint32, tw, th, x, y int, covered *[hextileSide]uint16) (w, h int) {
	c := px[y*tw+x]
	same := func(x0, y0, x1, y1 int) bool {
		for j := y0; j < y1; j++ {
			for _, v := range px[j*tw+x0 : j*tw+x1] {
				if v != c {
					return false
				}
			}
		}
		return true
	}
	fresh := func(w, h int) int {
		span := uint16(1<<w-1) << x
		n := 0
		for j := y; j < y+h; j++ {
			n += bits.OnesCount16(span &^ covered[j])
		}
		return n
	}
	wa, ha := 1, 1
	for x+wa < tw && px[y*tw+x+wa] == c {
		wa++
	}
	for y+ha < th && same(x, y+ha, x+wa, y+ha+1) {
		ha++
	}
	wb, hb := 1, 1
	for y+hb < th && px[(y+hb)*tw+x] == c {
		hb++
	}
	for x+wb < tw && same(x+wb, y, x+wb+1, y+hb) {
		wb++
	}
	if fresh(wb, hb) > fresh(wa, ha) {
		return wb, hb
	}
	return wa, ha
}

func (e *hextileEncoder) writePixel(w *bytes.Buffer, pf PixelFormat, v uint32) {
	pf.PutPixel(e.pixel[:], v)
	w.Write(e.pixel[:pf.BytesPerPixel()])
}

// colourCounter finds a tile's most frequent colour with a small open-address
// hash table: sorting the tile instead costs a third of the encoder's time.
type colourCounter struct {
	keys   [colourSlots]uint32
	counts [colourSlots]uint16 // 0: slot free
	used   [hextileSide * hextileSide]uint16
}

// colourSlots is twice the most colours a tile can have, so probes stay short.
const (
	colourBits  = 9
	colourSlots = 1 << colourBits
)

// dominant returns the most frequent value of px (at most 256 of them), the
// first one seen among equals, and how many distinct values px holds.
func (c *colourCounter) dominant(px []uint32) (v uint32, distinct int) {
	best := uint16(0)
	for i := 0; i < len(px); {
		// Runs are common: count one at a time.
		j := i + 1
		for j < len(px) && px[j] == px[i] {
			j++
		}
		k := px[i]
		h := (k * 0x9e3779b1) >> (32 - colourBits) // Fibonacci hashing
		for c.counts[h] != 0 && c.keys[h] != k {
			h = (h + 1) % colourSlots
		}
		if c.counts[h] == 0 {
			c.keys[h] = k
			c.used[distinct] = uint16(h)
			distinct++
		}
		c.counts[h] += uint16(j - i)
		if n := c.counts[h]; n > best {
			v, best = k, n
		}
		i = j
	}
	for _, h := range c.used[:distinct] {
		c.counts[h] = 0
	}
	return v, distinct
}
