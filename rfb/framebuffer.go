package rfb

import "image"

// Colour is one colour-map entry, 16 bits a channel as SetColourMapEntries
// carries it.
type Colour struct{ R, G, B uint16 }

// Framebuffer receives what a Client decodes. The caller provides it and owns
// its memory, so that the thumbnail pipeline, a snapshot and the live view can
// each keep pixels the way they need; the client keeps only protocol state.
//
// Pixels passed in are in the pixel format given by the last SetFormat call,
// packed row after row with no padding. Rectangles are always inside the
// size given by SetFormat: the client checks them before calling. The client
// calls these methods from its reading goroutine only, one at a time.
type Framebuffer interface {
	// SetFormat announces the desktop size and the pixel format of the pixels
	// that follow. It is called before the first update and again whenever the
	// size (DesktopSize) or the client's pixel format changes; after it the
	// content is undefined until the server sends it again.
	SetFormat(width, height int, pf PixelFormat) error
	// SetColourMap stores colour-map entries for colour-mapped formats.
	SetColourMap(first int, colours []Colour)
	// WritePixels copies r.Dx()*r.Dy() packed pixels into r.
	WritePixels(r image.Rectangle, pix []byte)
	// FillRect sets every pixel of r to the single pixel in pixel.
	FillRect(r image.Rectangle, pixel []byte)
	// CopyRect copies the rectangle of r's size at src to r; the areas may overlap.
	CopyRect(r image.Rectangle, src image.Point)
}

// UpdateBatcher is a Framebuffer that wants to know which of its calls make
// up one FramebufferUpdate: the Client calls BeginUpdate before it decodes an
// update's first rectangle and EndUpdate after its last, or when decoding
// fails. Desktop uses it so that the live view never shows half an update.
type UpdateBatcher interface {
	BeginUpdate()
	EndUpdate()
}

// Update describes one FramebufferUpdate after it has been decoded.
type Update struct {
	// Rects are the areas that changed, in the order the server sent them.
	Rects []image.Rectangle
	// Encodings counts the rectangles by the encoding the server chose.
	Encodings map[Encoding]int
	// Bytes is the size of the message on the wire.
	Bytes int64
	// Resized is set when the desktop size changed in this update. The
	// framebuffer then holds only what Rects drew after the change: the
	// server sends the new screen's pixels as rectangles like any others,
	// and until they have come the rest is blank.
	Resized bool
}
