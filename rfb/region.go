package rfb

import "image"

// Regions: lists of rectangles that may overlap. A FramebufferUpdateRequest
// names one rectangle, but servers (TigerVNC, libvncserver) keep the union of
// every area asked for until an update answers, so a client can ask for an
// area that is not a rectangle — the screen without its clock, for instance —
// with several requests.

// Subtract returns the parts of the rectangles of region that lie outside
// cut, as non-empty rectangles.
func Subtract(region []image.Rectangle, cut image.Rectangle) []image.Rectangle {
	var out []image.Rectangle
	for _, r := range region {
		for _, piece := range subtract(r, cut) {
			if !piece.Empty() {
				out = append(out, piece)
			}
		}
	}
	return out
}

// Covers reports whether every pixel of r lies in some rectangle of region.
func Covers(region []image.Rectangle, r image.Rectangle) bool {
	if r.Empty() {
		return true
	}
	left := []image.Rectangle{r}
	for _, c := range region {
		if len(left) == 0 {
			break
		}
		left = Subtract(left, c)
	}
	return len(left) == 0
}
