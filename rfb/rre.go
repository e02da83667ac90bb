package rfb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"slices"
)

// RRE and CoRRE: a background pixel for the whole rectangle, then a list of
// solid subrectangles drawn over it in order. CoRRE is RRE with one-byte
// subrectangle coordinates, which is why its servers send rectangles of at
// most 255x255.

type rreDecoder struct{ compact bool }

func (d *rreDecoder) name() string {
	if d.compact {
		return "corre"
	}
	return "rre"
}

// decode draws each subrectangle straight into fb: subrectangles may overlap
// and later ones win, which is what FillRect in order gives.
func (d *rreDecoder) decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error {
	n, err := readU32(in)
	if err != nil {
		return fmt.Errorf("%s: %dx%d rectangle at %v: subrectangle count: %w", d.name(), r.Dx(), r.Dy(), r.Min, err)
	}
	// More subrectangles than pixels can only be a broken or hostile server,
	// and would keep us drawing for as long as it keeps sending.
	if pixels := uint64(r.Dx()) * uint64(r.Dy()); uint64(n) > pixels {
		return protoErr("%s: %d subrectangles for a %dx%d rectangle, more than its %d pixels", d.name(), n, r.Dx(), r.Dy(), pixels)
	}
	bpp := pf.BytesPerPixel()
	bg, err := peek(in, bpp)
	if err != nil {
		return fmt.Errorf("%s: %dx%d rectangle at %v: background: %w", d.name(), r.Dx(), r.Dy(), r.Min, err)
	}
	if !r.Empty() {
		fb.FillRect(r, bg)
	}
	in.Discard(bpp)

	size := bpp + 8
	if d.compact {
		size = bpp + 4
	}
	for i := 0; i < int(n); i++ {
		b, err := peek(in, size)
		if err != nil {
			return fmt.Errorf("%s: %dx%d rectangle at %v: subrectangle %d of %d: %w", d.name(), r.Dx(), r.Dy(), r.Min, i, n, err)
		}
		var x, y, w, h int
		if c := b[bpp:]; d.compact {
			x, y, w, h = int(c[0]), int(c[1]), int(c[2]), int(c[3])
		} else {
			x, y = int(binary.BigEndian.Uint16(c)), int(binary.BigEndian.Uint16(c[2:]))
			w, h = int(binary.BigEndian.Uint16(c[4:])), int(binary.BigEndian.Uint16(c[6:]))
		}
		if x+w > r.Dx() || y+h > r.Dy() {
			return protoErr("%s: subrectangle %d at (%d,%d) size %dx%d lies outside the %dx%d rectangle",
				d.name(), i, x, y, w, h, r.Dx(), r.Dy())
		}
		if w > 0 && h > 0 {
			fb.FillRect(image.Rect(x, y, x+w, y+h).Add(r.Min), b[:bpp])
		}
		in.Discard(size)
	}
	return nil
}

// rreEncoder produces RRE or CoRRE for tests and fuzz seeds; servers offer
// Hextile, ZRLE and Tight, which beat it on every real screen.
type rreEncoder struct {
	compact    bool
	vals       []uint32
	sorted     []uint32
	done, open []rreRun
	next       []rreRun
	pixel      [4]byte
}

// rreRun is a subrectangle being built: a run of one row, grown downwards
// while the rows below repeat it.
type rreRun struct {
	x, y, w, h int
	v          uint32
}

// rreMaxSide is the largest rectangle side CoRRE's one-byte coordinates and
// sizes can describe.
const rreMaxSide = 255

// encode writes one RRE rectangle, or as many CoRRE rectangles of at most
// 255x255 as r needs.
func (e *rreEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, _ EncodeOptions) (int, error) {
	pix, err := packedPixels(pf, r, pix)
	if err != nil {
		return 0, fmt.Errorf("rre: %w", err)
	}
	stride := r.Dx() * pf.BytesPerPixel()
	if !e.compact || r.Empty() {
		enc := EncRRE
		if e.compact {
			enc = EncCoRRE
		}
		e.encodeRect(w, pf, r, pix, stride, enc)
		return 1, nil
	}
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y += rreMaxSide {
		for x := r.Min.X; x < r.Max.X; x += rreMaxSide {
			sub := image.Rect(x, y, min(x+rreMaxSide, r.Max.X), min(y+rreMaxSide, r.Max.Y))
			off := (y-r.Min.Y)*stride + (x-r.Min.X)*pf.BytesPerPixel()
			e.encodeRect(w, pf, sub, pix[off:], stride, EncCoRRE)
			n++
		}
	}
	return n, nil
}

// encodeRect writes r, whose top-left pixel starts pix, rows stride bytes apart.
func (e *rreEncoder) encodeRect(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, stride int, enc Encoding) {
	bpp := pf.BytesPerPixel()
	rw, rh := r.Dx(), r.Dy()
	e.vals = e.vals[:0]
	for y := 0; y < rh; y++ {
		for x := 0; x < rw; x++ {
			e.vals = append(e.vals, pf.Pixel(pix[y*stride+x*bpp:]))
		}
	}
	e.sorted = append(e.sorted[:0], e.vals...)
	slices.Sort(e.sorted)
	bg, _ := dominantPixel(e.sorted)
	runs := e.subrects(rw, rh, bg)

	writeRectHeader(w, r, enc)
	var count [4]byte
	binary.BigEndian.PutUint32(count[:], uint32(len(runs)))
	w.Write(count[:])
	e.writePixel(w, pf, bg)
	for _, s := range runs {
		e.writePixel(w, pf, s.v)
		var c [8]byte
		if e.compact {
			c[0], c[1], c[2], c[3] = byte(s.x), byte(s.y), byte(s.w), byte(s.h)
			w.Write(c[:4])
			continue
		}
		binary.BigEndian.PutUint16(c[0:], uint16(s.x))
		binary.BigEndian.PutUint16(c[2:], uint16(s.y))
		binary.BigEndian.PutUint16(c[4:], uint16(s.w))
		binary.BigEndian.PutUint16(c[6:], uint16(s.h))
		w.Write(c[:])
	}
}

// subrects covers the pixels of e.vals (rw wide, rh high) that differ from bg
// with runs of one colour per row, merging a run into the one above it when
// both have the same span and colour.
func (e *rreEncoder) subrects(rw, rh int, bg uint32) []rreRun {
	e.done, e.open = e.done[:0], e.open[:0]
	for y := 0; y < rh; y++ {
		row := e.vals[y*rw : (y+1)*rw]
		e.next = e.next[:0]
		i := 0 // e.open is sorted by x: walk it alongside the row
		for x := 0; x < rw; {
			v := row[x]
			if v == bg {
				x++
				continue
			}
			end := x + 1
			for end < rw && row[end] == v {
				end++
			}
			for i < len(e.open) && e.open[i].x < x {
				e.done = append(e.done, e.open[i])
				i++
			}
			if i < len(e.open) && e.open[i].x == x && e.open[i].w == end-x && e.open[i].v == v {
				run := e.open[i]
				run.h++
				e.next = append(e.next, run)
				i++
			} else {
				e.next = append(e.next, rreRun{x: x, y: y, w: end - x, h: 1, v: v})
			}
			x = end
		}
		e.done = append(e.done, e.open[i:]...)
		e.open, e.next = e.next, e.open
	}
	e.done = append(e.done, e.open...)
	return e.done
}

func (e *rreEncoder) writePixel(w *bytes.Buffer, pf PixelFormat, v uint32) {
	pf.PutPixel(e.pixel[:], v)
	w.Write(e.pixel[:pf.BytesPerPixel()])
}

// dominantPixel returns the most frequent value of sorted, which must be
// sorted, and how many distinct values it holds. An empty slice gives 0, 0.
// The RRE family uses the most frequent pixel as background because every
// other pixel costs a subrectangle.
func dominantPixel(sorted []uint32) (v uint32, distinct int) {
	best := 0
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		if j-i > best {
			v, best = sorted[i], j-i
		}
		distinct++
		i = j
	}
	return v, distinct
}
