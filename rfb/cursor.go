package rfb

import "image"

// Cursor is a pointer shape sent with the Cursor pseudo-encoding. kioskwall
// keeps it beside the framebuffer, never drawn into it, so thumbnails show the
// screen without a pointer and the live view can hand the shape to noVNC.
type Cursor struct {
	Hotspot image.Point
	// Image holds the shape; transparent pixels have alpha 0.
	Image *image.RGBA
}
