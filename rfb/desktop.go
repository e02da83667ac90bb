package rfb

import (
	"image"
	"sync"
)

// Desktop is a framebuffer shared by a drawing side and any number of RFB
// server connections (Serve). It is what a synthetic kiosk draws into and
// what the live view decodes a real kiosk into (it implements Framebuffer),
// so the pixels exist once, however many clients watch.
//
// Every change is recorded per connection as damage, so each connection can
// send "everything changed since your last update" the way a real VNC server
// does, without copying the frame: a connection keeps only a short list of
// rectangles. Copies (CopyRect) are recorded as copies, so clients that ask
// for CopyRect get a moved area for four bytes.
//
// All methods are safe for concurrent use.
type Desktop struct {
	mu       sync.RWMutex
	buf      Buffer
	gen      uint64 // counts size and format changes, so a connection notices one mid-update
	cursor   *Cursor
	watchers map[*watcher]struct{}
	// batch counts BeginUpdate calls not yet ended: while it is above zero
	// connections neither wake for changes nor send pixels, so that nobody
	// gets half of a kiosk's update.
	batch int
}

// NewDesktop returns a black desktop. It panics if the size or pixel format
// is invalid, as NewBuffer does: both come from the program, not a peer.
func NewDesktop(width, height int, pf PixelFormat) *Desktop {
	d := &Desktop{watchers: make(map[*watcher]struct{})}
	if err := d.buf.SetFormat(width, height, pf); err != nil {
		panic(err)
	}
	return d
}

// Size returns the desktop's width and height.
func (d *Desktop) Size() (w, h int) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.buf.Width, d.buf.Height
}

// Format returns the desktop's native pixel format.
func (d *Desktop) Format() PixelFormat {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.buf.Format
}

// Draw runs f with the desktop locked; f draws into b and returns the areas
// it changed (clipped to the desktop here). f must not keep b. If f changes
// b's size or format, every connection resynchronises as after SetFormat.
func (d *Desktop) Draw(f func(b *Buffer) []image.Rectangle) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w, h, pf := d.buf.Width, d.buf.Height, d.buf.Format
	damage := f(&d.buf)
	if d.buf.Width != w || d.buf.Height != h || d.buf.Format != pf {
		d.reformatted()
		return
	}
	for _, r := range damage {
		d.damaged(r.Intersect(d.buf.Bounds()))
	}
}

// SetCursor sets the pointer shape that clients asking for the Cursor
// pseudo-encoding draw themselves; nil hides it. The desktop keeps c: do not
// change it afterwards, set a new one.
func (d *Desktop) SetCursor(c *Cursor) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cursor = c
	for w := range d.watchers {
		w.cursor = true
		w.poke()
	}
}

// SetFormat implements Framebuffer. A change of size is a new desktop for
// every connection: each sends its client a resize (or ends, if the client
// cannot take one) and then the whole screen. A change of pixel format alone
// (the live view upgrading a kiosk session to more colours) keeps the
// picture, converted, so viewers see no black frame while the kiosk sends
// it again. Announcing the same size and format again changes nothing, so a
// client decoding into the desktop can repeat it harmlessly.
func (d *Desktop) SetFormat(width, height int, pf PixelFormat) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if width == d.buf.Width && height == d.buf.Height && pf == d.buf.Format {
		return nil
	}
	// A true-colour picture cannot be expressed in a palette: start afresh.
	if width == d.buf.Width && height == d.buf.Height && (pf.TrueColour || !d.buf.Format.TrueColour) {
		if err := pf.Validate(); err != nil {
			return err
		}
		d.convert(pf)
		d.gen++
		for w := range d.watchers {
			w.resized = true
			w.poke()
		}
		return nil
	}
	if err := d.buf.SetFormat(width, height, pf); err != nil {
		return err
	}
	d.reformatted()
	return nil
}

// convert changes the pixels to format pf; the lock is held. The old and the
// new pixels exist together only for the moment of the conversion.
func (d *Desktop) convert(pf PixelFormat) {
	var c pixelConverter
	c.setup(d.buf.Format, pf, &d.buf.Palette)
	in, out := d.buf.Stride, d.buf.Width*pf.BytesPerPixel()
	pix := make([]byte, out*d.buf.Height)
	for y := 0; y < d.buf.Height; y++ {
		c.convert(pix[y*out:(y+1)*out], d.buf.Pix[y*in:(y+1)*in])
	}
	d.buf.Format, d.buf.Stride, d.buf.Pix = pf, out, pix
}

// SetColourMap implements Framebuffer.
func (d *Desktop) SetColourMap(first int, colours []Colour) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf.SetColourMap(first, colours)
	for w := range d.watchers {
		w.palette = true
		w.poke()
	}
}

// WritePixels implements Framebuffer; r must lie inside the desktop.
func (d *Desktop) WritePixels(r image.Rectangle, pix []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf.WritePixels(r, pix)
	d.damaged(r)
}

// FillRect implements Framebuffer; r must lie inside the desktop.
func (d *Desktop) FillRect(r image.Rectangle, pixel []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf.FillRect(r, pixel)
	d.damaged(r)
}

// CopyRect implements Framebuffer: the area of r's size at src is copied to
// r. Both areas are clipped together to the desktop, so a caller scrolling
// past an edge copies what exists.
func (d *Desktop) CopyRect(r image.Rectangle, src image.Point) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.buf.Bounds()
	delta := src.Sub(r.Min)
	r = r.Intersect(b).Intersect(b.Sub(delta))
	if r.Empty() {
		return
	}
	src = r.Min.Add(delta)
	d.buf.CopyRect(r, src)
	for w := range d.watchers {
		w.copied(r, src)
		if d.batch == 0 {
			w.poke()
		}
	}
}

// damaged records r for every connection; the lock is held.
func (d *Desktop) damaged(r image.Rectangle) {
	if r.Empty() {
		return
	}
	for w := range d.watchers {
		w.damage.add(r)
		if d.batch == 0 {
			w.poke()
		}
	}
}

// BeginUpdate implements UpdateBatcher: the changes until EndUpdate reach
// the desktop's connections together. A kiosk's update decodes rectangle by
// rectangle, and Tight and Raw row by row; a live viewer woken by the first
// row would get the change torn in strips.
func (d *Desktop) BeginUpdate() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.batch++
}

// EndUpdate implements UpdateBatcher. It wakes every connection: one may
// have put off an answer while the update was decoding.
func (d *Desktop) EndUpdate() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.batch--; d.batch == 0 {
		for w := range d.watchers {
			w.poke()
		}
	}
}

// reformatted records a size or format change; the lock is held.
func (d *Desktop) reformatted() {
	d.gen++
	for w := range d.watchers {
		w.resized = true
		w.damage.reset()
		w.damage.add(d.buf.Bounds())
		w.copies = w.copies[:0]
		w.poke()
	}
}

// watch registers a connection. Its first update owes the whole screen, as
// the client has nothing yet. It returns what ServerInit announces, read
// under the same lock so no change can fall between the two.
func (d *Desktop) watch() (w *watcher, width, height int, pf PixelFormat) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w = &watcher{wake: make(chan struct{}, 1)}
	w.damage.add(d.buf.Bounds())
	d.watchers[w] = struct{}{}
	return w, d.buf.Width, d.buf.Height, d.buf.Format
}

// unwatch forgets a connection.
func (d *Desktop) unwatch(w *watcher) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.watchers, w)
}

// maxPendingCopies bounds the copies a connection keeps; past it they are
// sent as pixels, which is always correct.
const maxPendingCopies = 16

// copyOp is one recorded CopyRect: dst's content came from src.
type copyOp struct {
	dst image.Rectangle
	src image.Point
}

// watcher is one connection's record of what its client has not seen yet.
// Its fields are guarded by the Desktop's lock, except wake.
type watcher struct {
	wake chan struct{} // buffered 1: a change wakes the connection, many changes wake it once

	damage damageList
	// copies are replayed by the client in order before damage is sent as
	// pixels. A copy is only kept while its source holds, on the client,
	// exactly what it held on the desktop when the copy happened.
	copies  []copyOp
	sending bool    // an update is being encoded: its pixels may be newer than a copy's source
	resized bool    // size or format changed: the connection must resynchronise
	palette bool    // colour map changed
	cursor  bool    // cursor shape changed
	cutText *string // clipboard changed: the new text, not yet taken
}

// poke wakes the connection without ever blocking the drawing side.
func (w *watcher) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// copied records a copy of src to dst. The client can replay it only if its
// copy of the source area is current; if damage is pending there, or the
// update being sent may carry pixels newer than the copy, it is damage.
func (w *watcher) copied(dst image.Rectangle, src image.Point) {
	srcRect := dst.Add(src.Sub(dst.Min))
	if w.sending || w.damage.intersects(srcRect) {
		w.damage.add(dst)
		return
	}
	if len(w.copies) == maxPendingCopies {
		w.copiesToDamage()
		w.damage.add(dst)
		return
	}
	w.copies = append(w.copies, copyOp{dst, src})
}

// copiesToDamage turns every pending copy into damage at its destination.
func (w *watcher) copiesToDamage() {
	for _, c := range w.copies {
		w.damage.add(c.dst)
	}
	w.copies = w.copies[:0]
}

// SetCutText records new clipboard text of the desktop (a kiosk's
// ServerCutText, in the live view) for every connection; each sends it if
// its ServerConfig.SendCutText allows.
func (d *Desktop) SetCutText(text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for w := range d.watchers {
		w.cutText = &text
		w.poke()
	}
}

// takeCutText returns clipboard text w has not taken yet.
func (d *Desktop) takeCutText(w *watcher) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w.cutText == nil {
		return "", false
	}
	t := *w.cutText
	w.cutText = nil
	return t, true
}
