package thumbs

import (
	"bytes"
	"image"
	"slices"
	"time"

	"kioskwall/rfb"
	"kioskwall/thumbs/rowjpeg"
)

// Frame is one encoded thumbnail. Its bytes are never modified after Encode
// returns them, so any number of viewers may share them.
type Frame struct {
	Rendition     string
	Seq           uint64 // increases with every change of the picture
	Width, Height int
	JPEG          []byte
}

// Thumbnailer keeps the downscaled pictures of one kiosk, one per rendition.
// It is not safe for concurrent use: its owner serialises the calls.
type Thumbnailer struct {
	pics   []*picture // in the order of the renditions given to New
	srcW   int
	srcH   int
	seq    uint64
	lut    palette
	ticker tickerWatch
	acc    []uint64 // per picture column: packed sums of some rows of a band
	sums   []uint32 // per picture column: r, g, b sums of a band
	moved  []image.Rectangle
	// undrawn is the part of the screen no Apply has brought yet since
	// the size was set: there the pictures show the blank framebuffer.
	undrawn []image.Rectangle
	now     func() time.Time
}

// picture is one rendition's downscaled screen. Pixel m of a row covers the
// source columns [xs[m], xs[m+1]), and rows likewise: a box filter, so
// text stays legible and noise does not alias.
type picture struct {
	Rendition
	rect image.Rectangle // the picture's size
	img  *image.RGBA     // nil for a picture made from half (see Encode)
	xs   []int
	ys   []int
	// maxSpan is the widest footprint in source columns.
	maxSpan int
	dirty   image.Rectangle // pixels changed since this rendition was last encoded
	// half, if set, is a picture of twice this size whose 2x2 blocks cover
	// exactly this picture's footprints (640x360 and 320x180 of a 1920x1080
	// screen): this picture is made from it when it is encoded, and not
	// kept (a quarter of a megabyte a kiosk).
	half *picture
	// jpeg keeps the encoded bands of the picture (nil until its first
	// encoding, and again after a resize).
	jpeg *rowjpeg.Picture
	// For a picture made from half: each column's weights (weigh).
	wsum  []colWeight
	wvals []uint32
}

// Change is what one Apply saw.
type Change struct {
	// Minor: every rectangle that changed a picture lay in a ticker area,
	// a small part of the screen that keeps changing on its own like a
	// clock (see tickerWatch). Nothing a person did shows in a minor
	// change, so its owner may encode it later.
	Minor bool
	// Changed: some thumbnail pixel differs from before.
	Changed bool
}

// New returns a Thumbnailer for the given renditions (DefaultRenditions when
// none are given).
func New(renditions ...Rendition) *Thumbnailer {
	if len(renditions) == 0 {
		renditions = DefaultRenditions
	}
	t := &Thumbnailer{now: time.Now}
	for _, r := range renditions {
		t.pics = append(t.pics, &picture{Rendition: r})
	}
	return t
}

// Whole reports whether every pixel of the screen has been applied since
// its size was set. Before that the pictures show a partly blank screen: a
// 1x1 probe answered before the first full frame is all there is, and a
// tile of it would show a black screen that the kiosk does not have.
func (t *Thumbnailer) Whole() bool { return t.srcW != 0 && len(t.undrawn) == 0 }

// Seq is the sequence number of the latest picture (0 before the first).
func (t *Thumbnailer) Seq() uint64 { return t.seq }

// Changed reports whether any of the named renditions (all when none are
// named) changed since it was last encoded.
func (t *Thumbnailer) Changed(names ...string) bool {
	for _, p := range t.pics {
		if !p.dirty.Empty() && wanted(p.Name, names) {
			return true
		}
	}
	return false
}

func wanted(name string, names []string) bool {
	return len(names) == 0 || slices.Contains(names, name)
}

// Tickers returns the learnt ticker areas of the screen (see Change.Minor),
// in screen pixels. A client may leave them out of its update requests
// most of the time: what they show is not news.
func (t *Thumbnailer) Tickers() []image.Rectangle {
	out := make([]image.Rectangle, len(t.ticker.known))
	for i, a := range t.ticker.known {
		out[i] = a.r
	}
	return out
}

// Master is the picture of the largest rendition.
func (t *Thumbnailer) Master() *image.RGBA {
	var best *picture
	for _, p := range t.pics {
		if best == nil || p.Width > best.Width {
			best = p
		}
	}
	return best.img
}

// Apply downscales the changed rectangles of src into every rendition's
// picture. The caller holds whatever lock guards src. Rectangles outside src
// are clipped.
func (t *Thumbnailer) Apply(src *rfb.Buffer, changed []image.Rectangle) Change {
	if src.Width == 0 || src.Height == 0 {
		return Change{}
	}
	screen := src.Bounds()
	if t.srcW == 0 || src.Width != t.srcW || src.Height != t.srcH {
		t.srcW, t.srcH = src.Width, src.Height
		for _, p := range t.pics {
			p.resize(src.Width, src.Height)
		}
		for _, p := range t.pics {
			p.half = nil
			for _, q := range t.pics {
				if q != p && q.half == nil && halves(q, p) {
					p.half, p.img = q, nil
					p.weigh()
					break
				}
			}
		}
		t.ticker = tickerWatch{}
		ch := t.Apply(src, []image.Rectangle{screen})
		ch.Changed = true // a new size is a new picture, even of the same colour
		// The whole framebuffer was rendered, but only changed came from
		// the server.
		t.undrawn = append(t.undrawn[:0], screen)
		t.draw(changed, screen)
		return ch
	}
	t.draw(changed, screen)
	t.lut.update(src)
	// Only rectangles that changed a picture are changes: servers send
	// pixels that stayed the same too (a 1x1 poke's answer, a region
	// resent), and one beside the clock's rectangle would hide the clock
	// from the ticker watch.
	t.moved = t.moved[:0]
	for _, r := range changed {
		r = r.Intersect(screen)
		if r.Empty() {
			continue
		}
		moved := false
		for _, p := range t.pics {
			if p.half != nil {
				continue
			}
			d := t.downscale(p, src, r)
			if d.Empty() {
				continue
			}
			moved = true
			for _, c := range t.pics {
				if c.half == p {
					c.halve(d)
				}
			}
		}
		if moved {
			t.moved = append(t.moved, r)
		}
	}
	if len(t.moved) == 0 {
		return Change{}
	}
	return Change{Changed: true, Minor: t.ticker.observe(t.moved, screen, t.now())}
}

// draw takes the rectangles the server sent out of the undrawn area.
func (t *Thumbnailer) draw(changed []image.Rectangle, screen image.Rectangle) {
	for _, r := range changed {
		if len(t.undrawn) == 0 {
			return
		}
		t.undrawn = rfb.Subtract(t.undrawn, r.Intersect(screen))
	}
}

func (p *picture) resize(srcW, srcH int) {
	w, h := p.fit(srcW, srcH)
	p.rect = image.Rect(0, 0, w, h)
	p.img = image.NewRGBA(p.rect)
	p.jpeg = nil
	p.xs, p.ys = spans(p.xs, w, srcW), spans(p.ys, h, srcH)
	p.maxSpan = 0
	for i := range w {
		p.maxSpan = max(p.maxSpan, p.xs[i+1]-p.xs[i])
	}
	p.dirty = p.rect
}

// spans returns where each of n cells over src units starts, and src at the
// end. fit never scales up, so every cell is at least one unit wide.
func spans(s []int, n, src int) []int {
	s = s[:0]
	for m := 0; m <= n; m++ {
		s = append(s, m*src/n)
	}
	return s
}

// downscale recomputes the pixels of p whose source footprint meets r and
// returns the area they lie in if any of them changed.
func (t *Thumbnailer) downscale(p *picture, src *rfb.Buffer, r image.Rectangle) image.Rectangle {
	mw, mh := p.img.Rect.Dx(), p.img.Rect.Dy()
	mx0, mx1 := r.Min.X*mw/t.srcW, ceilDiv(r.Max.X*mw, t.srcW)
	my0, my1 := r.Min.Y*mh/t.srcH, ceilDiv(r.Max.Y*mh, t.srcH)
	n := mx1 - mx0
	t.acc = grow(t.acc, n)
	t.sums = grow(t.sums, 3*n)
	xs := p.xs[mx0 : mx1+1]
	sx0, sx1 := xs[0], xs[n]
	bpp := src.Format.BytesPerPixel()
	// Packed sums take at most packLimit pixels a column before they are
	// added up in sums: one flush a band on any screen but a huge one.
	chunk := max(1, packLimit/p.maxSpan)
	changed := false
	for my := my0; my < my1; my++ {
		clear(t.sums)
		sy0, sy1 := p.ys[my], p.ys[my+1]
		for c0 := sy0; c0 < sy1; c0 += chunk {
			clear(t.acc)
			for sy := c0; sy < min(c0+chunk, sy1); sy++ {
				row := src.Pix[sy*src.Stride+sx0*bpp : sy*src.Stride+sx1*bpp]
				switch {
				case t.lut.valid:
					t.lut.sumRow(t.acc, row, xs)
				case t.lut.wide:
					t.lut.sumRowWide(t.acc, row, xs)
				default:
					sumRowFormat(t.acc, row, xs, src.Format)
				}
			}
			for i, v := range t.acc {
				r, g, b := unpack(v)
				t.sums[3*i] += r
				t.sums[3*i+1] += g
				t.sums[3*i+2] += b
			}
		}
		o := p.img.PixOffset(mx0, my)
		pix := p.img.Pix[o : o+4*n]
		rows := uint32(sy1 - sy0)
		var lastCnt uint32
		var m uint64
		for i := range n {
			cnt := uint32(xs[i+1]-xs[i]) * rows
			a := t.sums[3*i : 3*i+3 : 3*i+3]
			px := pix[4*i : 4*i+4 : 4*i+4]
			r, g, b := a[0]+cnt/2, a[1]+cnt/2, a[2]+cnt/2
			if cnt < 1<<16 {
				if cnt != lastCnt { // footprints take a few sizes: few divisions
					lastCnt, m = cnt, reciprocal(cnt)
				}
				r, g, b = uint32(uint64(r)*m>>reciprocalShift), uint32(uint64(g)*m>>reciprocalShift), uint32(uint64(b)*m>>reciprocalShift)
			} else {
				r, g, b = r/cnt, g/cnt, b/cnt
			}
			nr, ng, nb := uint8(r), uint8(g), uint8(b)
			if px[0] != nr || px[1] != ng || px[2] != nb || px[3] != 0xff {
				px[0], px[1], px[2], px[3] = nr, ng, nb, 0xff
				changed = true
			}
		}
	}
	if !changed {
		return image.Rectangle{}
	}
	area := image.Rect(mx0, my0, mx1, my1)
	p.dirty = p.dirty.Union(area)
	return area
}

// halves reports whether q is twice p with aligned footprints, and
// footprints that render can weigh (few distinct widths, weights that its
// reciprocals divide exactly).
func halves(q, p *picture) bool {
	if q.rect.Dx() != 2*p.rect.Dx() || q.rect.Dy() != 2*p.rect.Dy() {
		return false
	}
	widths, maxW, maxH := map[int]bool{}, 0, 0
	for x := range p.rect.Dx() {
		widths[q.xs[2*x+2]-q.xs[2*x]] = true
		maxW = max(maxW, q.xs[2*x+2]-q.xs[2*x])
	}
	for y := range p.rect.Dy() {
		maxH = max(maxH, q.ys[2*y+2]-q.ys[2*y])
	}
	if len(widths) > maxWidthSums || maxW*maxH >= 1<<16 {
		return false
	}
	for m, x := range p.xs {
		if q.xs[2*m] != x {
			return false
		}
	}
	for m, y := range p.ys {
		if q.ys[2*m] != y {
			return false
		}
	}
	return true
}

// halve marks the pixels of p under area of p.half (in its pixels) as
// changed.
func (p *picture) halve(area image.Rectangle) {
	r := image.Rect(area.Min.X/2, area.Min.Y/2, (area.Max.X+1)/2, (area.Max.Y+1)/2).Intersect(p.rect)
	p.dirty = p.dirty.Union(r)
}

// render returns p's pixels: its own, or made into dst (of p's size) from
// p.half, each the mean of its 2x2 block there weighted by the blocks'
// source footprints, so that the result is the box filter of the screen.
// Only rows [y0, y1) are made; a caller encoding only some rows need not
// pay for the others.
func (p *picture) render(dst *image.RGBA, y0, y1 int) *image.RGBA {
	if p.half == nil {
		return p.img
	}
	q := p.half
	w := p.rect.Dx()
	for y := max(y0, 0); y < min(y1, p.rect.Dy()); y++ {
		h0, h1 := uint32(q.ys[2*y+1]-q.ys[2*y]), uint32(q.ys[2*y+2]-q.ys[2*y+1])
		// Dividing by a block's weight is multiplying by its reciprocal:
		// the weights of one row take a few values, so a few reciprocals.
		var inv [maxWidthSums]uint64
		for i, ws := range p.wvals {
			inv[i] = reciprocal(ws * (h0 + h1))
		}
		a := q.img.Pix[q.img.PixOffset(0, 2*y):][:8*w]
		b := q.img.Pix[q.img.PixOffset(0, 2*y+1):][:8*w]
		px := dst.Pix[dst.PixOffset(0, y):][:4*w]
		for x := range w {
			w0, w1 := uint32(p.wsum[x].w0), uint32(p.wsum[x].w1)
			m := inv[p.wsum[x].class]
			a, b, px := a[8*x:8*x+8:8*x+8], b[8*x:8*x+8:8*x+8], px[4*x:4*x+4:4*x+4]
			half := (w0 + w1) * (h0 + h1) / 2
			for c := range 3 {
				sum := (uint32(a[c])*w0+uint32(a[4+c])*w1)*h0 + (uint32(b[c])*w0+uint32(b[4+c])*w1)*h1
				px[c] = uint8(uint64(sum+half) * m >> reciprocalShift)
			}
			px[3] = 0xff
		}
	}
	return dst
}

// maxWidthSums bounds the distinct column weights a half-made picture may
// have (weigh); a source whose footprints vary more is not made from half.
const maxWidthSums = 8

// colWeight is a column of a half-made picture: the source widths of its
// two columns in the half, and which of the picture's distinct sums
// (wvals) they make.
type colWeight struct {
	w0, w1 uint16
	class  uint8
}

// weigh records each column's weights for render.
func (p *picture) weigh() {
	q := p.half
	p.wsum, p.wvals = p.wsum[:0], p.wvals[:0]
	for x := range p.rect.Dx() {
		w0, w1 := q.xs[2*x+1]-q.xs[2*x], q.xs[2*x+2]-q.xs[2*x+1]
		i := slices.Index(p.wvals, uint32(w0+w1))
		if i < 0 {
			i = len(p.wvals)
			p.wvals = append(p.wvals, uint32(w0+w1))
		}
		p.wsum = append(p.wsum, colWeight{uint16(w0), uint16(w1), uint8(i)})
	}
}

// reciprocalShift and reciprocal divide by multiplying: for n < 2^16 and
// every x < 256n (a rounded sum of byte values weighted by n),
// x*reciprocal(n)>>reciprocalShift is exactly x/n. The reciprocal is too
// large by less than one, so the product is too large by less than
// x/2^40 < 1/n, which cannot carry past the next multiple of 1/n.
const reciprocalShift = 40

func reciprocal(n uint32) uint64 { return (1<<reciprocalShift + uint64(n) - 1) / uint64(n) }

// sumRowFormat adds one source row to the packed column sums of acc,
// converting every pixel through its format: the path of formats the
// tables of palette do not cover.
func sumRowFormat(acc []uint64, row []byte, xs []int, pf rfb.PixelFormat) {
	bpp := pf.BytesPerPixel()
	x0 := xs[0]
	for i := 0; i+1 < len(xs); i++ {
		for sx := xs[i]; sx < xs[i+1]; sx++ {
			acc[i] += pack(pf.RGB(pf.Pixel(row[(sx-x0)*bpp:])))
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// Encoder holds the scratch memory for encoding: one per encoding worker,
// shared by every kiosk that worker serves.
type Encoder struct {
	buf     []byte
	jpeg    *rowjpeg.Scratch
	scratch map[image.Point]*image.RGBA // pictures made at encoding, by size
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	return &Encoder{jpeg: rowjpeg.NewScratch(), scratch: map[image.Point]*image.RGBA{}}
}

func (e *Encoder) picture(r image.Rectangle) *image.RGBA {
	img := e.scratch[r.Size()]
	if img == nil {
		img = image.NewRGBA(r)
		e.scratch[r.Size()] = img
	}
	return img
}

// Encode returns a Frame for each of the named renditions (all when none are
// named) that changed since it was last encoded, and nil when none did.
// Renditions not named keep their changes for a later call, so a rendition
// nobody looks at costs no JPEG. Only the 16-pixel bands of a picture that
// changed are encoded again (rowjpeg), so a clock costs a band, not a tile.
func (t *Thumbnailer) Encode(e *Encoder, names ...string) ([]Frame, error) {
	if !t.Changed(names...) {
		return nil, nil
	}
	t.seq++
	var frames []Frame
	for _, p := range t.pics {
		if p.dirty.Empty() || !wanted(p.Name, names) {
			continue
		}
		if p.jpeg == nil {
			j, err := rowjpeg.NewPicture(p.rect.Dx(), p.rect.Dy(), p.Quality)
			if err != nil {
				return nil, err
			}
			p.jpeg, p.dirty = j, p.rect // its first encoding reads every row
		}
		// The bands rowjpeg encodes again, and only they, are made.
		y0, y1 := p.dirty.Min.Y/rowjpeg.Band*rowjpeg.Band, min(ceilDiv(p.dirty.Max.Y, rowjpeg.Band)*rowjpeg.Band, p.rect.Dy())
		img := p.render(e.picture(p.rect), y0, y1)
		var err error
		if e.buf, err = p.jpeg.Encode(e.buf[:0], img, p.dirty, e.jpeg); err != nil {
			return nil, err
		}
		frames = append(frames, Frame{Rendition: p.Name, Seq: t.seq, Width: p.rect.Dx(), Height: p.rect.Dy(),
			JPEG: bytes.Clone(e.buf)})
		p.dirty = image.Rectangle{}
	}
	return frames, nil
}
