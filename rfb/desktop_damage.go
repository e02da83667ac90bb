package rfb

import (
	"image"
	"math"
)

// maxDamageRects bounds the rectangles one connection keeps pending. A kiosk
// screen changes in a few places at a time (a clock, a field, a button); past
// this many, neighbouring rectangles are merged, so memory and the cost of an
// update stay bounded however busy the desktop is.
const maxDamageRects = 24

// damageList is the set of areas a connection has not yet been sent: a
// bounded list of rectangles that may overlap (overlaps only cost bytes,
// never correctness) but never contain one another.
type damageList struct{ rects []image.Rectangle }

// add records r as changed.
func (l *damageList) add(r image.Rectangle) {
	if r.Empty() {
		return
	}
	for _, o := range l.rects {
		if r.In(o) {
			return
		}
	}
	if l.rects == nil {
		l.rects = make([]image.Rectangle, 0, maxDamageRects+1)
	}
	l.rects = append(dropInside(l.rects, r), r)
	for len(l.rects) > maxDamageRects {
		l.mergeCheapest()
	}
}

// dropInside removes the rectangles that lie inside r.
func dropInside(rects []image.Rectangle, r image.Rectangle) []image.Rectangle {
	keep := rects[:0]
	for _, o := range rects {
		if !o.In(r) {
			keep = append(keep, o)
		}
	}
	return keep
}

// mergeCheapest replaces the two rectangles whose bounding box adds the least
// unchanged area with that bounding box: two edits next to each other merge
// before a clock in one corner merges with a field in the other.
func (l *damageList) mergeCheapest() {
	bi, bj, best := 0, 1, int64(math.MaxInt64)
	for i := range l.rects {
		for j := i + 1; j < len(l.rects); j++ {
			// Negative when the two overlap: merging those costs nothing.
			cost := area(l.rects[i].Union(l.rects[j])) - area(l.rects[i]) - area(l.rects[j])
			if cost < best {
				bi, bj, best = i, j, cost
			}
		}
	}
	u := l.rects[bi].Union(l.rects[bj])
	l.rects = append(l.rects[:bj], l.rects[bj+1:]...) // bj > bi: remove it first
	l.rects = append(l.rects[:bi], l.rects[bi+1:]...)
	l.rects = append(dropInside(l.rects, u), u)
}

func area(r image.Rectangle) int64 { return int64(r.Dx()) * int64(r.Dy()) }

// intersects reports whether any pending rectangle overlaps r.
func (l *damageList) intersects(r image.Rectangle) bool {
	for _, o := range l.rects {
		if o.Overlaps(r) {
			return true
		}
	}
	return false
}

// empty reports whether nothing is pending.
func (l *damageList) empty() bool { return len(l.rects) == 0 }

// reset forgets everything pending, keeping the memory.
func (l *damageList) reset() { l.rects = l.rects[:0] }

// take appends to dst the pending parts that lie inside area and keeps only
// what lies outside it pending. It is how a connection answers a request for
// part of the screen and still owes the client the rest.
func (l *damageList) take(dst []image.Rectangle, area image.Rectangle) []image.Rectangle {
	// The parts outside area are at most four bands per rectangle; collect
	// them first, then rebuild the list through add so it stays bounded.
	var outside [4 * maxDamageRects]image.Rectangle
	m := 0
	for _, r := range l.rects {
		if !r.Overlaps(area) {
			outside[m] = r
			m++
			continue
		}
		dst = append(dst, r.Intersect(area))
		for _, piece := range subtract(r, area) {
			if !piece.Empty() {
				outside[m] = piece
				m++
			}
		}
	}
	l.reset()
	for _, r := range outside[:m] {
		l.add(r)
	}
	return dst
}

// subtract returns r minus cut as four bands (some empty): above, below, and
// left and right of cut within its rows.
func subtract(r, cut image.Rectangle) [4]image.Rectangle {
	cut = cut.Intersect(r)
	if cut.Empty() {
		return [4]image.Rectangle{r}
	}
	return [4]image.Rectangle{
		image.Rect(r.Min.X, r.Min.Y, r.Max.X, cut.Min.Y),
		image.Rect(r.Min.X, cut.Max.Y, r.Max.X, r.Max.Y),
		image.Rect(r.Min.X, cut.Min.Y, cut.Min.X, cut.Max.Y),
		image.Rect(cut.Max.X, cut.Min.Y, r.Max.X, cut.Max.Y),
	}
}
