package rfb

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
)

// Tight (encoding 7) starts every rectangle with a compression-control byte:
// its low four bits reset zlib streams, its high four choose a solid fill, a
// JPEG image, or basic compression, where the pixels pass through an optional
// filter (palette or gradient) and then, unless they are shorter than 12
// bytes, through one of four persistent zlib streams. Pixels travel as
// TPIXELs: R, G, B bytes for 24-bit colour in 32 bpp, PIXELs otherwise.

const (
	// tightMaxWidth is the spec's limit on the width of a basic-compression
	// rectangle; decoders size their row buffers by it.
	tightMaxWidth = 2048
	// tightMinToCompress: filtered data shorter than this is sent as is.
	tightMinToCompress = 12
	// tightMaxCompact is the largest length a 3-byte compact length holds.
	tightMaxCompact = 1<<22 - 1
	// tightJPEGSlack is how far JPEG data may exceed the rectangle's size in
	// RGB: headers and tables cost a few hundred bytes, worst-case entropy
	// coding a little over the raw size.
	tightJPEGSlack = 64 << 10
)

// Compression methods (the high four bits of the control byte) and filters.
const (
	tightFill       = 0x8
	tightJPEG       = 0x9
	tightNoZlib     = 0xa // BasicCompression without zlib; 0xe with a filter id
	tightFilterFlag = 0x4 // basic compression: a filter id byte follows

	tightCopyFilter     = 0
	tightPaletteFilter  = 1
	tightGradientFilter = 2
)

// tightDecoder keeps the four zlib streams and scratch for one row, so that
// steady-state decoding allocates nothing except for JPEG.
type tightDecoder struct {
	zs   [4]zstream
	row  []byte // one row of filtered data, or TPIXELs
	pix  []byte // one row of PIXELs
	pal  [256 * 4]byte
	grad tightGradient
	jpg  []byte
}

func (d *tightDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	ctl, err := readU8(in)
	if err != nil {
		return err
	}
	// Streams are reset before anything else, whatever the method: the server
	// reset its side when it wrote this byte.
	for i := range d.zs {
		if ctl&(1<<i) != 0 {
			d.zs[i].reset()
		}
	}
	switch method := ctl >> 4; {
	case method == tightFill:
		return d.fill(in, pf, r, fb)
	case method == tightJPEG:
		return d.jpeg(in, pf, r, fb)
	case method < tightFill:
		return d.basic(in, pf, r, fb, int(method&3), method&tightFilterFlag != 0)
	case method == tightNoZlib || method == tightNoZlib|tightFilterFlag:
		return protoErr("control byte %#02x: basic compression without zlib, which the client did not ask for", ctl)
	default:
		return protoErr("control byte %#02x names no Tight compression method", ctl)
	}
}

func (d *tightDecoder) fill(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	d.row = grow(d.row, pf.TightPixelSize())
	if err := readFull(in, d.row); err != nil {
		return err
	}
	d.pix = grow(d.pix, pf.BytesPerPixel())
	pf.ExpandTight(d.pix, d.row)
	fb.FillRect(r, d.pix)
	return nil
}

// tightSource delivers a rectangle's filtered data: straight from the
// connection when it was too short to compress, otherwise inflated.
type tightSource struct {
	in *bufio.Reader
	z  *zstream
}

func (s tightSource) read(p []byte) error {
	if s.z == nil {
		return readFull(s.in, p)
	}
	return s.z.inflate(p)
}

// basic decodes basic compression row by row, so that scratch is one row
// whatever the rectangle's height.
func (d *tightDecoder) basic(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer, stream int, hasFilter bool) error {
	w := r.Dx()
	if w > tightMaxWidth {
		return protoErr("basic compression of a rectangle %d pixels wide; Tight allows %d", w, tightMaxWidth)
	}
	filter := byte(tightCopyFilter)
	if hasFilter {
		var err error
		if filter, err = readU8(in); err != nil {
			return err
		}
	}
	tps, bpp := pf.TightPixelSize(), pf.BytesPerPixel()
	rowBytes, colours := w*tps, 0
	switch filter {
	case tightCopyFilter:
	case tightPaletteFilter:
		n, err := readU8(in)
		if err != nil {
			return err
		}
		if colours = int(n) + 1; colours < 2 {
			return protoErr("palette filter with 1 colour; a Tight palette has 2 to 256")
		}
		d.row = grow(d.row, colours*tps)
		if err := readFull(in, d.row); err != nil {
			return err
		}
		for i := 0; i < colours; i++ {
			pf.ExpandTight(d.pal[i*bpp:], d.row[i*tps:])
		}
		rowBytes = w
		if colours == 2 {
			rowBytes = packedRowBytes(w, 1)
		}
	case tightGradientFilter:
		if !pf.TrueColour || pf.BitsPerPixel == 8 {
			return protoErr("gradient filter in pixel format %v; it needs 16 or 32 bpp true colour", pf)
		}
		d.grad.start(pf, w)
	default:
		return protoErr("unknown filter %d", filter)
	}

	src := tightSource{in: in}
	if size := rowBytes * r.Dy(); size >= tightMinToCompress {
		n, err := readCompactLength(in)
		if err != nil {
			return err
		}
		if err := d.zs[stream].feed(in, n, deflateBound(size)); err != nil {
			return err
		}
		src.z = &d.zs[stream]
	}
	d.row = grow(d.row, rowBytes)
	d.pix = grow(d.pix, w*bpp)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		if err := src.read(d.row); err != nil {
			return err
		}
		var pix []byte
		switch filter {
		case tightCopyFilter:
			pix = d.expand(pf, d.row)
		case tightGradientFilter:
			d.grad.row(d.row, d.row, true)
			pix = d.expand(pf, d.row)
		default:
			if err := d.unpalette(r, y, colours, bpp); err != nil {
				return err
			}
			pix = d.pix
		}
		fb.WritePixels(image.Rect(r.Min.X, y, r.Max.X, y+1), pix)
	}
	return nil
}

// expand converts a row of TPIXELs to PIXELs, which for most formats they are.
func (d *tightDecoder) expand(pf PixelFormat, row []byte) []byte {
	if !pf.TightRGB() {
		return row
	}
	for i := 0; i < len(d.pix)/4; i++ {
		pf.ExpandTight(d.pix[i*4:], row[i*3:])
	}
	return d.pix
}

// unpalette converts row y of palette indexes in d.row to PIXELs in d.pix.
func (d *tightDecoder) unpalette(r image.Rectangle, y, colours, bpp int) error {
	for x := 0; x < r.Dx(); x++ {
		var i int
		if colours == 2 {
			i = packedIndex(d.row, x, 1)
		} else if i = int(d.row[x]); i >= colours {
			return protoErr("pixel (%d,%d) has palette index %d in a %d-colour palette", r.Min.X+x, y, i, colours)
		}
		copy(d.pix[x*bpp:(x+1)*bpp], d.pal[i*bpp:])
	}
	return nil
}

func (d *tightDecoder) jpeg(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	// rfbproto allows JPEG only at 16 and 32 bpp, but x11vnc sends it to 8 bpp
	// clients too; a true-colour pixel can be made from it all the same.
	if !pf.TrueColour {
		return protoErr("JPEG rectangle in colour-mapped pixel format %v", pf)
	}
	n, err := readCompactLength(in)
	if err != nil {
		return err
	}
	w, h := r.Dx(), r.Dy()
	if limit := w*h*3 + tightJPEGSlack; n > limit {
		return protoErr("JPEG data of %d bytes for a %dx%d rectangle; at most %d expected", n, w, h, limit)
	}
	d.jpg = grow(d.jpg, n)
	if err := readFull(in, d.jpg); err != nil {
		return err
	}
	// Check the size in the header before decoding: the decoder allocates by
	// the size the header claims.
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(d.jpg))
	if err != nil {
		return protoErr("bad JPEG data: %v", err)
	}
	if cfg.Width != w || cfg.Height != h {
		return protoErr("JPEG image is %dx%d in a %dx%d rectangle", cfg.Width, cfg.Height, w, h)
	}
	img, err := jpeg.Decode(bytes.NewReader(d.jpg))
	if err != nil {
		return protoErr("bad JPEG data: %v", err)
	}
	bpp := pf.BytesPerPixel()
	d.pix = grow(d.pix, w*bpp)
	b := img.Bounds().Min
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			cr, cg, cb := jpegRGB(img, b.X+x, b.Y+y)
			pf.PutPixel(d.pix[x*bpp:], pf.FromRGB(cr, cg, cb))
		}
		fb.WritePixels(image.Rect(r.Min.X, r.Min.Y+y, r.Max.X, r.Min.Y+y+1), d.pix)
	}
	return nil
}

// jpegRGB reads a pixel of a decoded JPEG without the allocation At costs for
// the two kinds image/jpeg returns for colour and grey images.
func jpegRGB(img image.Image, x, y int) (r, g, b uint8) {
	switch m := img.(type) {
	case *image.YCbCr:
		ci := m.COffset(x, y)
		return color.YCbCrToRGB(m.Y[m.YOffset(x, y)], m.Cb[ci], m.Cr[ci])
	case *image.Gray:
		v := m.Pix[m.PixOffset(x, y)]
		return v, v, v
	}
	cr, cg, cb, _ := img.At(x, y).RGBA()
	return uint8(cr >> 8), uint8(cg >> 8), uint8(cb >> 8)
}

// Our encoder's limits and choices. Like TightVNC it cuts rectangles into
// pieces of at most 64K pixels (JPEG pays its headers once per piece), and
// full-colour data further into bands of at most 64 KiB before zlib, which
// keeps every decoder's inflate buffers small.
const (
	tightMaxPixels     = 64 << 10
	tightMaxData       = 64 << 10
	tightJPEGMinPixels = 32 * 32 // below this, JPEG headers cost more than they save
)

// The zlib streams our encoder uses, one per kind of data, as TightVNC does:
// mixing kinds in one stream would spoil each kind's dictionary.
const (
	tightStreamFull     = 0
	tightStreamPalette  = 1
	tightStreamGradient = 2
)

type tightEncoder struct {
	streams [3]*zlib.Writer
	zbuf    bytes.Buffer
	pal     paletteIndex
	grad    tightGradient
	vals    []uint32 // pixel values of the piece being encoded
	data    []byte   // its filtered data
	alt     []byte   // the same through the gradient filter, to compare
	head    []byte
	img     *image.RGBA
	jbuf    bytes.Buffer
}

// writer returns stream s, started at level on first use. A stream keeps
// that level for the connection and our control bytes never carry reset
// bits: Go's zlib cannot change level in mid-stream, and restarting a stream
// breaks noVNC, whose bundled inflater keeps no history after a reset, so
// the next rectangle that refers back to an earlier one fails to inflate.
func (e *tightEncoder) writer(s, level int) *zlib.Writer {
	if e.streams[s] == nil {
		e.streams[s], _ = zlib.NewWriterLevel(&e.zbuf, level) // level is valid: zlibLevel checked it
	}
	return e.streams[s]
}

func (e *tightEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, opts EncodeOptions) (int, error) {
	if err := checkPixels(EncTight, pf, r, pix); err != nil {
		return 0, err
	}
	if r.Empty() {
		return 0, nil
	}
	bpp := pf.BytesPerPixel()
	stride := r.Dx() * bpp
	n := 0
	if samePixels(pix[:r.Dy()*stride], bpp) {
		// A fill has no data, so only the width limit applies.
		for x := r.Min.X; x < r.Max.X; x += tightMaxWidth {
			e.writeFill(w, pf, image.Rect(x, r.Min.Y, min(x+tightMaxWidth, r.Max.X), r.Max.Y), pix[:bpp])
			n++
		}
		return n, nil
	}
	rows := max(1, tightMaxPixels/min(r.Dx(), tightMaxWidth))
	if rows > 16 {
		rows &^= 15 // whole JPEG MCU rows
	}
	for y := 0; y < r.Dy(); y += rows {
		for x := 0; x < r.Dx(); x += tightMaxWidth {
			piece := image.Rect(x, y, min(x+tightMaxWidth, r.Dx()), min(y+rows, r.Dy())).Add(r.Min)
			k, err := e.encodePiece(w, pf, piece, pix[y*stride+x*bpp:], stride, opts)
			if err != nil {
				return n, err
			}
			n += k
		}
	}
	return n, nil
}

// samePixels reports whether every pixel in pix equals the first.
func samePixels(pix []byte, bpp int) bool {
	for i := bpp; i < len(pix); i += bpp {
		if !bytes.Equal(pix[i:i+bpp], pix[:bpp]) {
			return false
		}
	}
	return true
}

// encodePiece writes one piece of at most tightMaxPixels pixels whose first
// pixel starts pix, rows stride bytes apart, choosing by its colours: fill,
// palette, JPEG (when allowed and there are too many colours for a palette),
// else full colour.
func (e *tightEncoder) encodePiece(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, stride int, opts EncodeOptions) (int, error) {
	bpp, tps := pf.BytesPerPixel(), pf.TightPixelSize()
	pw, ph := r.Dx(), r.Dy()
	e.vals = appendPixelValues(e.vals[:0], pf, pix, stride, pw, ph)
	e.pal.reset(256)
	fits := true
	for _, v := range e.vals {
		if _, fits = e.pal.add(v); !fits {
			break
		}
	}
	level := zlibLevel(opts)
	colours := e.pal.n
	switch {
	case fits && colours == 1:
		e.writeFill(w, pf, r, pix[:bpp])
		return 1, nil
	case fits && 1+colours*tps+tightPaletteDataSize(pw, ph, colours) < len(e.vals)*tps:
		e.writePalette(w, pf, r, level)
		return 1, nil
	case !fits && opts.Quality >= 0 && pf.TrueColour && pf.BitsPerPixel >= 16 && len(e.vals) >= tightJPEGMinPixels:
		return 1, e.writeJPEG(w, pf, r, opts.Quality)
	}
	rows := max(1, tightMaxData/(pw*tps))
	n := 0
	for y := 0; y < ph; y += rows {
		band := image.Rect(r.Min.X, r.Min.Y+y, r.Max.X, min(r.Min.Y+y+rows, r.Max.Y))
		e.writeFullColour(w, pf, band, e.vals[y*pw:(y+band.Dy())*pw], level)
		n++
	}
	return n, nil
}

// tightPaletteDataSize is the size of palette-filtered data: a bit a pixel
// for two colours, else a byte.
func tightPaletteDataSize(w, h, colours int) int {
	if colours == 2 {
		return packedRowBytes(w, 1) * h
	}
	return w * h
}

func (e *tightEncoder) writeFill(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pixel []byte) {
	writeRectHeader(w, r, EncTight)
	var t [4]byte
	pf.ShrinkTight(t[:], pixel)
	e.head = append(append(e.head[:0], tightFill<<4), t[:pf.TightPixelSize()]...)
	w.Write(e.head)
}

// writePalette writes e.vals, whose colours are in e.pal, with the palette filter.
func (e *tightEncoder) writePalette(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, level int) {
	colours := e.pal.n
	e.data = e.data[:0]
	if colours == 2 {
		for y := 0; y < r.Dy(); y++ {
			e.data = e.pal.appendPacked(e.data, e.vals[y*r.Dx():(y+1)*r.Dx()], 1)
		}
	} else {
		for _, v := range e.vals {
			i, _ := e.pal.add(v)
			e.data = append(e.data, byte(i))
		}
	}
	e.head = append(e.head[:0], byte(colours-1))
	var p, t [4]byte
	for _, v := range e.pal.colours[:colours] {
		pf.PutPixel(p[:], v)
		pf.ShrinkTight(t[:], p[:])
		e.head = append(e.head, t[:pf.TightPixelSize()]...)
	}
	e.writeBasic(w, r, tightStreamPalette, tightPaletteFilter, e.head, e.data, level)
}

// writeFullColour writes vals, the pixels of r, as TPIXELs, through the
// gradient filter when that promises to compress better.
func (e *tightEncoder) writeFullColour(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, vals []uint32, level int) {
	tps := pf.TightPixelSize()
	e.data = grow(e.data, len(vals)*tps)
	var p [4]byte
	for i, v := range vals {
		pf.PutPixel(p[:], v)
		pf.ShrinkTight(e.data[i*tps:], p[:])
	}
	// Only for 3-byte TPIXELs: decoders disagree on the gradient's channels
	// in other formats (TigerVNC predicts in 8-bit RGB, TightVNC per channel).
	if pf.TightRGB() && len(e.data) >= tightMinToCompress {
		rowBytes := r.Dx() * tps
		e.alt = grow(e.alt, len(e.data))
		e.grad.start(pf, r.Dx())
		for o := 0; o < len(e.data); o += rowBytes {
			e.grad.row(e.alt[o:o+rowBytes], e.data[o:o+rowBytes], false)
		}
		if gradientPays(e.data, e.alt, rowBytes) {
			e.writeBasic(w, r, tightStreamGradient, tightGradientFilter, nil, e.alt, level)
			return
		}
	}
	e.writeBasic(w, r, tightStreamFull, tightCopyFilter, nil, e.data, level)
}

// gradientPays guesses whether gradient-filtered data compresses better
// than plain RGB bytes, from how far each plain byte is from the same
// channel of the pixel to its left against how far each filtered byte is
// from zero. Measured on screen-like images, the filter wins by 3x or more
// on photos and shading (ratio 0.6 and below) and loses on text and
// grainy flat areas (0.9 and above).
func gradientPays(plain, filtered []byte, rowBytes int) bool {
	var fromLeft, fromZero int
	for i := range plain {
		if i%rowBytes >= 3 {
			fromLeft += absDiff8(plain[i], plain[i-3])
		}
		fromZero += absDiff8(filtered[i], 0)
	}
	return 4*fromZero < 3*fromLeft
}

// absDiff8 is |a-b| with the difference taken modulo 256, as zlib sees it.
func absDiff8(a, b byte) int {
	d := int(int8(a - b))
	if d < 0 {
		return -d
	}
	return d
}

// writeBasic writes a basic-compression rectangle: control byte, filter id
// (unless copy), head (the palette), then data, compressed on stream s unless
// it is too short.
func (e *tightEncoder) writeBasic(w *bytes.Buffer, r image.Rectangle, s int, filter byte, head, data []byte, level int) {
	writeRectHeader(w, r, EncTight)
	ctl := byte(s) << 4
	if filter == tightCopyFilter {
		w.WriteByte(ctl)
	} else {
		w.WriteByte(ctl | tightFilterFlag<<4)
		w.WriteByte(filter)
	}
	w.Write(head)
	if len(data) < tightMinToCompress {
		w.Write(data)
		return
	}
	// Writes to a bytes.Buffer cannot fail.
	zw := e.writer(s, level)
	zw.Write(data)
	zw.Flush()
	e.head = appendCompactLength(e.head[:0], e.zbuf.Len())
	w.Write(e.head)
	w.Write(e.zbuf.Bytes())
	e.zbuf.Reset()
}

// writeJPEG writes e.vals, the pixels of r, as a JPEG image. quality is on
// the 0..100 scale of TigerVNC's fine quality levels.
func (e *tightEncoder) writeJPEG(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, quality int) error {
	bounds := image.Rect(0, 0, r.Dx(), r.Dy())
	if n := 4 * len(e.vals); e.img == nil || cap(e.img.Pix) < n {
		e.img = image.NewRGBA(bounds)
	} else {
		*e.img = image.RGBA{Pix: e.img.Pix[:n], Stride: 4 * r.Dx(), Rect: bounds}
	}
	for i, v := range e.vals {
		p := e.img.Pix[4*i : 4*i+4]
		p[0], p[1], p[2] = pf.RGB(v)
		p[3] = 0xff
	}
	e.jbuf.Reset()
	if err := jpeg.Encode(&e.jbuf, e.img, &jpeg.Options{Quality: min(max(quality, 1), 100)}); err != nil {
		return fmt.Errorf("rfb: tight encoder: JPEG of %v: %w", r, err)
	}
	if e.jbuf.Len() > tightMaxCompact {
		return fmt.Errorf("rfb: tight encoder: JPEG of %v is %d bytes, more than a compact length holds", r, e.jbuf.Len())
	}
	writeRectHeader(w, r, EncTight)
	e.head = appendCompactLength(append(e.head[:0], tightJPEG<<4), e.jbuf.Len())
	w.Write(e.head)
	w.Write(e.jbuf.Bytes())
	return nil
}
