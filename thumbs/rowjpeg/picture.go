// Package rowjpeg encodes a picture that changes a little at a time as
// baseline JPEG, encoding again only the MCU rows that changed.
//
// The JPEG carries a restart interval of one MCU row (16 pixels): each row's
// entropy-coded segment then stands alone (the DC predictions restart at
// every RSTn marker), so a picture whose only change is a clock or a typed
// character is made by encoding that band and splicing it between the kept
// segments of the others. The output is the same, byte for byte, as a full
// encoding of the picture.
//
// The encoding is image/jpeg's in everything that shows: 4:2:0 chroma
// subsampling, the Annex K quantisation tables scaled by quality with the
// same formula, the Annex K Huffman tables, and the last column and row
// repeated to fill the edge MCUs. Alpha is ignored.
package rowjpeg

import (
	"errors"
	"fmt"
	"image"
)

// Band is the height of what Encode encodes again: one MCU row. A caller
// that makes only the changed part of a picture makes whole bands.
const Band = 16

// MaxSide bounds a Picture's width and height: a DRI interval of one MCU
// row must fit, and a thumbnail never needs more.
const MaxSide = 4096

// Picture is one picture of fixed size, encoded again and again as it
// changes. It keeps each MCU row's entropy-coded segment. A Picture is not
// safe for concurrent use.
type Picture struct {
	width, height int
	cols, rows    int          // MCUs across and down
	header        []byte       // SOI to the end of SOS
	quant         [2]quantiser // luma, chroma
	segs          [][]byte     // each MCU row's entropy-coded data
	valid         bool         // segs hold the picture last encoded
}

// NewPicture returns a Picture of width x height pixels (1..MaxSide each),
// encoded at quality 1..100 with image/jpeg's meaning (clamped to that
// range like image/jpeg does).
func NewPicture(width, height, quality int) (*Picture, error) {
	if width < 1 || height < 1 || width > MaxSide || height > MaxSide {
		return nil, fmt.Errorf("rowjpeg: picture size %dx%d is out of range 1x1..%dx%d", width, height, MaxSide, MaxSide)
	}
	q := scaledQuant(quality)
	p := &Picture{
		width: width, height: height,
		cols: mcuCount(width), rows: mcuCount(height),
		header: appendHeader(nil, width, height, &q),
		quant:  [2]quantiser{newQuantiser(&q[0], lumaScale), newQuantiser(&q[1], chromaScale)},
	}
	p.segs = make([][]byte, p.rows)
	return p, nil
}

// Invalidate makes the next Encode encode every row, whatever it is told
// changed.
func (p *Picture) Invalidate() { p.valid = false }

// Size returns the bytes p keeps between calls, for memory accounting.
func (p *Picture) Size() int {
	n := cap(p.header) + 24*cap(p.segs) + len(p.quant)*len(p.quant[0])*4
	for _, s := range p.segs {
		n += cap(s)
	}
	return n
}

// Encode appends to dst a complete baseline JPEG of img and returns it.
// img's bounds must have exactly p's size (any Min). changed, in img's
// coordinates, must cover every pixel that differs from the img of the
// previous call: only the MCU rows it meets are encoded again, the others
// are the segments kept from earlier calls. The first call, and the first
// after Invalidate, encode every row. Only the rows encoded are read: the
// 16-pixel bands from the top of img, full width, that meet changed; the
// other pixels of img may hold anything. s is the caller's Scratch (nil
// makes one for this call).
func (p *Picture) Encode(dst []byte, img *image.RGBA, changed image.Rectangle, s *Scratch) ([]byte, error) {
	if err := p.check(img); err != nil {
		return dst, err
	}
	if s == nil {
		s = NewScratch()
	}
	first, last := 0, p.rows
	if p.valid {
		r := changed.Intersect(img.Rect).Sub(img.Rect.Min)
		first, last = r.Min.Y/Band, mcuCount(r.Max.Y)
		if r.Empty() {
			first, last = 0, 0
		}
	}
	for my := first; my < last; my++ {
		p.keep(my, p.encodeRow(img, my, s))
	}
	p.valid = true
	return p.appendJPEG(dst), nil
}

// check reports why img cannot be encoded as p.
func (p *Picture) check(img *image.RGBA) error {
	if p == nil {
		return errors.New("rowjpeg: Encode on a nil Picture; make one with NewPicture")
	}
	if img == nil {
		return errors.New("rowjpeg: nil image")
	}
	if sz := img.Rect.Size(); sz.X != p.width || sz.Y != p.height {
		return fmt.Errorf("rowjpeg: image of %dx%d given to a %dx%d picture; make a Picture per size", sz.X, sz.Y, p.width, p.height)
	}
	if img.Stride < 4*p.width || len(img.Pix) < (p.height-1)*img.Stride+4*p.width {
		return fmt.Errorf("rowjpeg: image of %dx%d has a stride of %d and %d bytes of pixels, too few", p.width, p.height, img.Stride, len(img.Pix))
	}
	return nil
}

// keep stores seg as row my's segment, growing its buffer with an eighth
// to spare so that a row whose size wobbles does not allocate every time.
func (p *Picture) keep(my int, seg []byte) {
	if cap(p.segs[my]) < len(seg) {
		p.segs[my] = make([]byte, 0, len(seg)+len(seg)/8)
	}
	p.segs[my] = append(p.segs[my][:0], seg...)
}

// appendJPEG appends the whole file: the header, the rows' segments with
// RST0..RST7 between them in turn, and EOI.
func (p *Picture) appendJPEG(dst []byte) []byte {
	n := len(p.header) + 2*p.rows + 2
	for _, s := range p.segs {
		n += len(s)
	}
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	dst = append(dst, p.header...)
	for my, s := range p.segs {
		if my > 0 {
			dst = append(dst, 0xff, markerRST+byte((my-1)%8))
		}
		dst = append(dst, s...)
	}
	return append(dst, 0xff, markerEOI)
}
