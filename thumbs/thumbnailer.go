package thumbs

import (
	"bytes"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"

	"kioskwall/rfb"
)

// Frame is one encoded thumbnail. Its bytes are never modified after Encode
// returns them, so any number of viewers may share them.
type Frame struct {
	Rendition     string
	Seq           uint64 // increases with every change of the picture
	Width, Height int
	JPEG          []byte
}

// Thumbnailer keeps the downscaled picture of one kiosk. It is not safe for
// concurrent use: one kiosk session owns it.
type Thumbnailer struct {
	renditions []Rendition
	largest    Rendition
	srcW       int
	srcH       int
	master     *image.RGBA
	dirty      image.Rectangle // master pixels changed since the last Encode
	seq        uint64

	acc []uint32 // per master column: r, g, b sums and pixel counts of one row band
	lut palette
}

// New returns a Thumbnailer for the given renditions (DefaultRenditions when
// none are given).
func New(renditions ...Rendition) *Thumbnailer {
	if len(renditions) == 0 {
		renditions = DefaultRenditions
	}
	t := &Thumbnailer{renditions: renditions, largest: renditions[0]}
	for _, r := range renditions {
		if r.Width > t.largest.Width {
			t.largest = r
		}
	}
	return t
}

// Seq is the sequence number of the latest picture (0 before the first).
func (t *Thumbnailer) Seq() uint64 { return t.seq }

// Changed reports whether the picture changed since the last Encode.
func (t *Thumbnailer) Changed() bool { return !t.dirty.Empty() }

// Master is the downscaled picture itself, at the largest rendition's size.
func (t *Thumbnailer) Master() *image.RGBA { return t.master }

// Apply downscales the changed rectangles of src into the master picture. The
// caller holds whatever lock guards src. Rectangles outside src are clipped.
func (t *Thumbnailer) Apply(src *rfb.Buffer, changed []image.Rectangle) {
	if src.Width == 0 || src.Height == 0 {
		return
	}
	if t.master == nil || src.Width != t.srcW || src.Height != t.srcH {
		t.srcW, t.srcH = src.Width, src.Height
		w, h := t.largest.fit(src.Width, src.Height)
		t.master = image.NewRGBA(image.Rect(0, 0, w, h))
		changed = []image.Rectangle{src.Bounds()}
	}
	t.lut.update(src)
	for _, r := range changed {
		t.downscale(src, r.Intersect(src.Bounds()))
	}
}

// downscale recomputes the master pixels whose source footprint meets r, each
// as the average of its footprint (a box filter: text stays legible, noise
// does not alias).
func (t *Thumbnailer) downscale(src *rfb.Buffer, r image.Rectangle) {
	if r.Empty() {
		return
	}
	mw, mh := t.master.Rect.Dx(), t.master.Rect.Dy()
	// Master pixel m covers source [m*src/mw, (m+1)*src/mw).
	mx0, mx1 := r.Min.X*mw/t.srcW, ceilDiv(r.Max.X*mw, t.srcW)
	my0, my1 := r.Min.Y*mh/t.srcH, ceilDiv(r.Max.Y*mh, t.srcH)
	sx0, sx1 := mx0*t.srcW/mw, mx1*t.srcW/mw
	t.acc = grow32(t.acc, 4*(mx1-mx0))
	bpp := src.Format.BytesPerPixel()
	changed := false
	for my := my0; my < my1; my++ {
		clear(t.acc)
		sy0, sy1 := my*t.srcH/mh, max((my+1)*t.srcH/mh, my*t.srcH/mh+1)
		for sy := sy0; sy < sy1; sy++ {
			row := src.Pix[sy*src.Stride+sx0*bpp : sy*src.Stride+sx1*bpp]
			mx, next := mx0, (mx0+1)*t.srcW/mw
			a := t.acc
			for sx := sx0; sx < sx1; sx++ {
				for sx >= next && mx < mx1-1 {
					mx++
					next = (mx + 1) * t.srcW / mw
					a = a[4:]
				}
				cr, cg, cb := t.lut.rgb(src.Format, row[(sx-sx0)*bpp:])
				a[0] += uint32(cr)
				a[1] += uint32(cg)
				a[2] += uint32(cb)
				a[3]++
			}
		}
		o := t.master.PixOffset(mx0, my)
		for i := 0; i < mx1-mx0; i++ {
			n := t.acc[4*i+3]
			if n == 0 {
				continue
			}
			p := t.master.Pix[o+4*i : o+4*i+4 : o+4*i+4]
			nr, ng, nb := uint8((t.acc[4*i]+n/2)/n), uint8((t.acc[4*i+1]+n/2)/n), uint8((t.acc[4*i+2]+n/2)/n)
			if p[0] != nr || p[1] != ng || p[2] != nb || p[3] != 0xff {
				p[0], p[1], p[2], p[3] = nr, ng, nb, 0xff
				changed = true
			}
		}
	}
	if changed {
		t.dirty = t.dirty.Union(image.Rect(mx0, my0, mx1, my1))
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func grow32(b []uint32, n int) []uint32 {
	if cap(b) < n {
		return make([]uint32, n)
	}
	return b[:n]
}

// Encoder holds the scratch memory for encoding: one per encoding worker,
// shared by every kiosk that worker serves, so a thousand kiosks do not each
// keep a scaled copy per rendition.
type Encoder struct {
	scaled map[image.Point]*image.RGBA
	buf    bytes.Buffer
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder { return &Encoder{scaled: map[image.Point]*image.RGBA{}} }

// Encode returns a Frame per rendition if the picture changed since the last
// call, and nil otherwise.
func (t *Thumbnailer) Encode(e *Encoder) ([]Frame, error) {
	if t.dirty.Empty() {
		return nil, nil
	}
	t.seq++
	frames := make([]Frame, 0, len(t.renditions))
	for _, r := range t.renditions {
		w, h := r.fit(t.srcW, t.srcH)
		img := t.master
		if w != t.master.Rect.Dx() || h != t.master.Rect.Dy() {
			img = e.scratch(w, h)
			draw.ApproxBiLinear.Scale(img, img.Rect, t.master, t.master.Rect, draw.Src, nil)
		}
		e.buf.Reset()
		if err := jpeg.Encode(&e.buf, img, &jpeg.Options{Quality: r.Quality}); err != nil {
			return nil, err
		}
		frames = append(frames, Frame{Rendition: r.Name, Seq: t.seq, Width: w, Height: h,
			JPEG: bytes.Clone(e.buf.Bytes())})
	}
	t.dirty = image.Rectangle{}
	return frames, nil
}

func (e *Encoder) scratch(w, h int) *image.RGBA {
	k := image.Pt(w, h)
	img, ok := e.scaled[k]
	if !ok {
		img = image.NewRGBA(image.Rect(0, 0, w, h))
		e.scaled[k] = img
	}
	return img
}
