package rfb

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
)

// ZRLE (encoding 16) cuts a rectangle into 64x64 tiles and sends each raw,
// solid, as packed palette indexes, or run-length encoded with or without a
// palette. All tiles of all rectangles go through one zlib stream that lasts
// as long as the connection, so rectangles must be decoded in order. Pixels
// travel as CPIXELs: 3 bytes for 32 bpp formats whose colours fit in three.

const zrleTileSize = 64

// ZRLE subencodings, the first byte of every tile.
const (
	zrleRaw        = 0
	zrleSolid      = 1
	zrleMaxPacked  = 16 // 2..16: packed palette of that many colours
	zrlePlainRLE   = 128
	zrleMinPalRLE  = 130 // 130..255: palette RLE of subencoding-128 colours
	zrleMaxPalette = 127
)

// zrleDecoder keeps the connection's zlib stream and scratch for one tile, so
// that steady-state decoding allocates nothing.
type zrleDecoder struct {
	z    zstream
	one  [1]byte
	cpix []byte                   // CPIXELs of a raw tile or palette, or packed indexes
	tile []byte                   // the tile's PIXELs
	pal  [zrleMaxPalette * 4]byte // the tile's palette as PIXELs
}

// zrleMaxCompressed bounds the zlib data a rectangle can need. The longest
// tile is a full palette followed by one byte a pixel (palette RLE), or a
// CPIXEL and a length byte a pixel (plain RLE); the bound covers both.
func zrleMaxCompressed(r image.Rectangle, cps int) int {
	w, h := r.Dx(), r.Dy()
	tiles := ((w + zrleTileSize - 1) / zrleTileSize) * ((h + zrleTileSize - 1) / zrleTileSize)
	return deflateBound(tiles*(1+zrleMaxPalette*cps) + w*h*(cps+1))
}

func (d *zrleDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	n, err := readU32(in)
	if err != nil {
		return err
	}
	// int(n) is negative for huge n on 32-bit platforms; feed rejects that too.
	if err := d.z.feed(in, int(n), zrleMaxCompressed(r, pf.CompactSize())); err != nil {
		return err
	}
	for y := r.Min.Y; y < r.Max.Y; y += zrleTileSize {
		for x := r.Min.X; x < r.Max.X; x += zrleTileSize {
			t := image.Rect(x, y, min(x+zrleTileSize, r.Max.X), min(y+zrleTileSize, r.Max.Y))
			if err := d.decodeTile(pf, t, fb); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *zrleDecoder) decodeTile(pf PixelFormat, t image.Rectangle, fb Framebuffer) error {
	sub, err := d.readByte()
	if err != nil {
		return err
	}
	bpp := pf.BytesPerPixel()
	d.tile = grow(d.tile, t.Dx()*t.Dy()*bpp)
	switch {
	case sub == zrleRaw:
		err = d.readPixels(pf, d.tile)
	case sub == zrleSolid:
		if err := d.readPixels(pf, d.tile[:bpp]); err != nil {
			return err
		}
		fb.FillRect(t, d.tile[:bpp])
		return nil
	case sub <= zrleMaxPacked:
		err = d.packed(pf, t, int(sub))
	case sub == zrlePlainRLE:
		err = d.plainRLE(pf, t)
	case sub >= zrleMinPalRLE:
		err = d.paletteRLE(pf, t, int(sub)-zrlePlainRLE)
	default:
		// 17..127 are unused, and 129 (reuse the last palette) exists only in TRLE.
		return protoErr("tile %v: subencoding %d is not defined in ZRLE", t, sub)
	}
	if err != nil {
		return err
	}
	fb.WritePixels(t, d.tile)
	return nil
}

func (d *zrleDecoder) readByte() (byte, error) {
	if err := d.z.inflate(d.one[:]); err != nil {
		return 0, err
	}
	return d.one[0], nil
}

// readPixels inflates CPIXELs and stores them in dst as PIXELs.
func (d *zrleDecoder) readPixels(pf PixelFormat, dst []byte) error {
	cps, bpp := pf.CompactSize(), pf.BytesPerPixel()
	if cps == bpp {
		return d.z.inflate(dst)
	}
	n := len(dst) / bpp
	d.cpix = grow(d.cpix, n*cps)
	if err := d.z.inflate(d.cpix); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		pf.ExpandCompact(dst[i*bpp:], d.cpix[i*cps:])
	}
	return nil
}

func (d *zrleDecoder) packed(pf PixelFormat, t image.Rectangle, colours int) error {
	bpp := pf.BytesPerPixel()
	if err := d.readPixels(pf, d.pal[:colours*bpp]); err != nil {
		return err
	}
	bits := zrlePackedBits(colours)
	w := t.Dx()
	rowBytes := packedRowBytes(w, bits)
	d.cpix = grow(d.cpix, rowBytes*t.Dy())
	if err := d.z.inflate(d.cpix); err != nil {
		return err
	}
	o := 0
	for y := 0; y < t.Dy(); y++ {
		row := d.cpix[y*rowBytes:]
		for x := 0; x < w; x++ {
			i := packedIndex(row, x, bits)
			if i >= colours {
				return protoErr("tile %v: pixel (%d,%d) has palette index %d in a %d-colour palette",
					t, t.Min.X+x, t.Min.Y+y, i, colours)
			}
			copy(d.tile[o:o+bpp], d.pal[i*bpp:])
			o += bpp
		}
	}
	return nil
}

// zrlePackedBits is the width of a packed palette index: 1, 2 or 4 bits.
func zrlePackedBits(colours int) int {
	switch {
	case colours <= 2:
		return 1
	case colours <= 4:
		return 2
	}
	return 4
}

func (d *zrleDecoder) plainRLE(pf PixelFormat, t image.Rectangle) error {
	bpp := pf.BytesPerPixel()
	n := t.Dx() * t.Dy()
	for i := 0; i < n; {
		if err := d.readPixels(pf, d.tile[i*bpp:(i+1)*bpp]); err != nil {
			return err
		}
		run, err := d.runLength(t, n-i)
		if err != nil {
			return err
		}
		replicatePixel(d.tile[i*bpp:(i+run)*bpp], bpp)
		i += run
	}
	return nil
}

func (d *zrleDecoder) paletteRLE(pf PixelFormat, t image.Rectangle, colours int) error {
	bpp := pf.BytesPerPixel()
	if err := d.readPixels(pf, d.pal[:colours*bpp]); err != nil {
		return err
	}
	n := t.Dx() * t.Dy()
	for i := 0; i < n; {
		b, err := d.readByte()
		if err != nil {
			return err
		}
		c := int(b & 0x7f)
		if c >= colours {
			return protoErr("tile %v: run at pixel %d has palette index %d in a %d-colour palette", t, i, c, colours)
		}
		run := 1
		if b&0x80 != 0 {
			if run, err = d.runLength(t, n-i); err != nil {
				return err
			}
		}
		copy(d.tile[i*bpp:], d.pal[c*bpp:(c+1)*bpp])
		replicatePixel(d.tile[i*bpp:(i+run)*bpp], bpp)
		i += run
	}
	return nil
}

// runLength reads a ZRLE run length: one more than the sum of its bytes, every
// byte but the last being 255. left bounds it, so a peer cannot make us read
// 255s forever or write past the tile.
func (d *zrleDecoder) runLength(t image.Rectangle, left int) (int, error) {
	n := 1
	for {
		b, err := d.readByte()
		if err != nil {
			return 0, err
		}
		n += int(b)
		if n > left {
			return 0, protoErr("tile %v: run of at least %d pixels where %d are left", t, n, left)
		}
		if b != 255 {
			return n, nil
		}
	}
}

// replicatePixel copies the first pixel of b over the rest of b.
func replicatePixel(b []byte, bpp int) {
	for done := bpp; done < len(b); done *= 2 {
		copy(b[done:], b[:done])
	}
}

// zrleEncoder holds the connection's one zlib stream. ZRLE cannot reset a
// stream, so the compression level is the one asked for at the first
// rectangle.
type zrleEncoder struct {
	zbuf bytes.Buffer
	zw   *zlib.Writer
	pal  paletteIndex
	vals []uint32 // the tile's pixel values
	out  []byte   // the tile's uncompressed encoding
}

// zlibLevel is the zlib level the client asked for, or zlib's default when
// it asked for none in range.
func zlibLevel(opts EncodeOptions) int {
	if opts.Compression < zlib.NoCompression || opts.Compression > zlib.BestCompression {
		return zlib.DefaultCompression
	}
	return opts.Compression
}

// checkPixels guards encoders against a caller passing fewer pixels than r has.
func checkPixels(enc Encoding, pf PixelFormat, r image.Rectangle, pix []byte) error {
	if need := r.Dx() * r.Dy() * pf.BytesPerPixel(); len(pix) < need {
		return fmt.Errorf("rfb: %v encoder: %d bytes of pixels for %v, which needs %d", enc, len(pix), r, need)
	}
	return nil
}

func (e *zrleEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, opts EncodeOptions) (int, error) {
	if err := checkPixels(EncZRLE, pf, r, pix); err != nil {
		return 0, err
	}
	if r.Empty() {
		return 0, nil
	}
	if e.zw == nil {
		zw, err := zlib.NewWriterLevel(&e.zbuf, zlibLevel(opts))
		if err != nil {
			return 0, err
		}
		e.zw = zw
	}
	bpp := pf.BytesPerPixel()
	stride := r.Dx() * bpp
	for y := 0; y < r.Dy(); y += zrleTileSize {
		for x := 0; x < r.Dx(); x += zrleTileSize {
			tw, th := min(zrleTileSize, r.Dx()-x), min(zrleTileSize, r.Dy()-y)
			e.out = e.encodeTile(e.out[:0], pf, pix[y*stride+x*bpp:], stride, tw, th)
			if _, err := e.zw.Write(e.out); err != nil {
				return 0, err
			}
		}
	}
	if err := e.zw.Flush(); err != nil {
		return 0, err
	}
	writeRectHeader(w, r, EncZRLE)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(e.zbuf.Len()))
	w.Write(n[:])
	w.Write(e.zbuf.Bytes())
	e.zbuf.Reset()
	return 1, nil
}

// encodeTile appends the cheapest encoding of a tw x th tile whose first
// pixel starts pix, with rows stride bytes apart. Cheapest is measured before
// zlib, which keeps the choice one pass over the tile.
func (e *zrleEncoder) encodeTile(out []byte, pf PixelFormat, pix []byte, stride, tw, th int) []byte {
	cps := pf.CompactSize()
	e.vals = appendPixelValues(e.vals[:0], pf, pix, stride, tw, th)
	e.pal.reset(zrleMaxPalette)
	fits := true
	plainCost, palRunCost := 0, 0
	for i := 0; i < len(e.vals); {
		run := runAt(e.vals, i)
		plainCost += cps + runLengthBytes(run)
		palRunCost++
		if run > 1 {
			palRunCost += runLengthBytes(run)
		}
		if fits {
			_, fits = e.pal.add(e.vals[i])
		}
		i += run
	}
	colours := e.pal.n
	if fits && colours == 1 {
		return appendCompact(append(out, zrleSolid), pf, e.vals[0])
	}

	best, cost := zrleRaw, len(e.vals)*cps
	if plainCost < cost {
		best, cost = zrlePlainRLE, plainCost
	}
	if fits {
		if c := colours*cps + palRunCost; c < cost {
			best, cost = zrleMinPalRLE, c
		}
		if colours <= zrleMaxPacked {
			if c := colours*cps + packedRowBytes(tw, zrlePackedBits(colours))*th; c < cost {
				best = zrleMaxPacked
			}
		}
	}

	switch best {
	case zrleRaw:
		out = append(out, zrleRaw)
		for _, v := range e.vals {
			out = appendCompact(out, pf, v)
		}
	case zrlePlainRLE:
		out = append(out, zrlePlainRLE)
		for i := 0; i < len(e.vals); {
			run := runAt(e.vals, i)
			out = appendRunLength(appendCompact(out, pf, e.vals[i]), run)
			i += run
		}
	case zrleMinPalRLE:
		out = e.appendPalette(append(out, byte(zrlePlainRLE+colours)), pf)
		for i := 0; i < len(e.vals); {
			run := runAt(e.vals, i)
			c, _ := e.pal.add(e.vals[i])
			if run == 1 {
				out = append(out, byte(c))
			} else {
				out = appendRunLength(append(out, byte(c)|0x80), run)
			}
			i += run
		}
	default:
		out = e.appendPalette(append(out, byte(colours)), pf)
		bits := zrlePackedBits(colours)
		for y := 0; y < th; y++ {
			out = e.pal.appendPacked(out, e.vals[y*tw:(y+1)*tw], bits)
		}
	}
	return out
}

func (e *zrleEncoder) appendPalette(out []byte, pf PixelFormat) []byte {
	for _, v := range e.pal.colours[:e.pal.n] {
		out = appendCompact(out, pf, v)
	}
	return out
}

// runAt is the length of the run of equal values starting at vals[i].
func runAt(vals []uint32, i int) int {
	j := i + 1
	for j < len(vals) && vals[j] == vals[i] {
		j++
	}
	return j - i
}

// runLengthBytes is how many bytes ZRLE needs for a run of n.
func runLengthBytes(n int) int { return (n-1)/255 + 1 }

func appendRunLength(b []byte, n int) []byte {
	for n--; n >= 255; n -= 255 {
		b = append(b, 255)
	}
	return append(b, byte(n))
}

// appendCompact appends pixel value v as a CPIXEL.
func appendCompact(b []byte, pf PixelFormat, v uint32) []byte {
	var p, c [4]byte
	pf.PutPixel(p[:], v)
	pf.ShrinkCompact(c[:], p[:])
	return append(b, c[:pf.CompactSize()]...)
}
