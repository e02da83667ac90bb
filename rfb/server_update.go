package rfb

import (
	"bytes"
	"encoding/binary"
	"image"
	"slices"
	"time"
)

// Bounds of what one update holds in memory per connection.
const (
	// maxBandPixels bounds the pixels converted and encoded at a time, so a
	// full-screen update needs a band of scratch, not a frame.
	maxBandPixels = 1 << 16
	// streamFlushBytes is how much encoded data collects before it is
	// written, when the client takes LastRect and the update can stream.
	streamFlushBytes = 32 << 10
	// keepBufferBytes: buffers that grew past this for one big update are
	// dropped afterwards, so that a thousand mostly idle connections hold
	// little memory; a big update is rare enough to pay for new ones.
	keepBufferBytes = 64 << 10
)

// ExtendedDesktopSize reasons and status codes.
const (
	edsReasonServer  = 0
	edsReasonClient  = 1
	edsStatusOK      = 0
	edsStatusRefused = 1 // resize is administratively prohibited
	edsScreenBytes   = 16
	maxCountedRects  = 0xffff
)

// updatePlan is what one round of updates sends, taken from the desktop
// under its lock so that it is consistent.
type updatePlan struct {
	gen         uint64 // desktop generation the pixels must come from
	resize      bool   // the size changed: tell the client first
	edsInitial  bool   // answer a non-incremental request with ExtendedDesktopSize
	edsReplies  int    // refuse this many SetDesktopSize requests
	colourMap   bool   // send SetColourMapEntries
	data        bool   // send a FramebufferUpdate with pixels
	cursor      bool
	cursorShape *Cursor
	copies      []copyOp
	rects       []image.Rectangle
	composed    time.Time         // when the data was taken (data only)
	area        []image.Rectangle // what the data brings up to date (data only)
}

// update sends whatever the outstanding request and the desktop's changes
// call for, or nothing yet if an incremental request has nothing to show.
func (s *serverConn) update() error {
	p := &s.plan
	if ok, err := s.snapshot(p); err != nil || !ok {
		return err
	}
	if p.data {
		defer s.doneSending()
	}
	if p.colourMap {
		if err := s.writeColourMap(); err != nil {
			return err
		}
	}
	// Size changes go in an update of their own, as the protocol asks:
	// clients discard the framebuffer when they see one.
	if p.resize || p.edsInitial || p.edsReplies > 0 {
		if err := s.writeNoDataUpdate(p); err != nil {
			return err
		}
	}
	if !p.data {
		return nil
	}
	if err := s.writeDataUpdate(p); err != nil {
		return err
	}
	if s.cfg.OnUpdate != nil {
		s.cfg.OnUpdate(SentUpdate{Composed: p.composed, Area: slices.Clone(p.area)})
	}
	return nil
}

// snapshot fills p from the connection's watcher and reports whether there
// is anything to send.
func (s *serverConn) snapshot(p *updatePlan) (bool, error) {
	d, w := s.d, s.w
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.batch > 0 {
		return false, nil // EndUpdate wakes the connection
	}
	*p = updatePlan{copies: p.copies[:0], rects: p.rects[:0], area: p.area[:0], gen: d.gen}
	if w.resized {
		if err := s.resync(p); err != nil {
			return false, err
		}
	}
	bounds := image.Rect(0, 0, s.width, s.height)
	if w.palette {
		w.palette = false
		s.palette = d.buf.Palette
		switch {
		case !s.pf.TrueColour:
			s.sendPalette = true
		case !s.desktopPF.TrueColour:
			// New colours for the same indices: every pixel may look different.
			s.conv.setup(s.desktopPF, s.pf, &s.palette)
			w.damage.add(bounds)
		}
	}
	p.colourMap, s.sendPalette = s.sendPalette, false
	if s.prefs.cursor && (w.cursor || s.sendCursor) {
		p.cursor, p.cursorShape = true, d.cursor
		w.cursor, s.sendCursor = false, false
	}
	if s.prefs.extDesktopSize {
		p.edsInitial, p.edsReplies = s.edsInitial, s.edsReplies
	}
	s.edsInitial, s.edsReplies = false, 0

	if s.fullPending {
		w.damage.add(s.full)
	}
	// Copies replay only on a client that takes them, and not onto an area
	// asked for non-incrementally: that wants pixels. A copy needs no
	// particular request area: it was kept only while the client held its
	// source (see Desktop), and changes since then follow it as damage.
	if !s.prefs.copyRect || (s.fullPending && slices.ContainsFunc(w.copies, func(c copyOp) bool { return c.dst.Overlaps(s.full) })) {
		w.copiesToDamage()
	}
	p.data = s.fullPending || p.cursor || len(w.copies) > 0 || slices.ContainsFunc(s.req, w.damage.intersects)
	if p.data {
		p.copies = append(p.copies, w.copies...)
		w.copies = w.copies[:0]
		for _, r := range s.req {
			p.rects = w.damage.take(p.rects, r)
		}
		p.composed, p.area = time.Now(), append(p.area, s.req...)
		w.sending = true
		s.reqPending, s.fullPending = false, false
		s.req, s.full = s.req[:0], image.Rectangle{}
	}
	return p.data || p.colourMap || p.resize || p.edsInitial || p.edsReplies > 0, nil
}

// resync follows a change of the desktop's size or format; the desktop lock
// is held. The client is told of a new size and then gets the whole screen.
func (s *serverConn) resync(p *updatePlan) error {
	d := s.d
	width, height, pf := d.buf.Width, d.buf.Height, d.buf.Format
	if !s.pf.TrueColour && pf.TrueColour {
		return protoErr("the desktop changed to %v, which a colour-mapped client cannot be served", pf)
	}
	resized := width != s.width || height != s.height
	if resized && !s.prefs.extDesktopSize && !s.prefs.desktopSize {
		return protoErr("the desktop was resized to %dx%d and the client, which did not ask for DesktopSize, cannot follow", width, height)
	}
	s.w.resized = false
	if pf != s.desktopPF {
		s.desktopPF = pf
		s.palette = d.buf.Palette
		s.conv.setup(s.desktopPF, s.pf, &s.palette)
	}
	if resized {
		s.width, s.height = width, height
		p.resize = true
		s.req = append(s.req[:0], image.Rect(0, 0, width, height))
		s.full = s.full.Intersect(s.req[0])
	}
	return nil
}

// doneSending lets copies be recorded as copies again. It is safe to call
// more than once.
func (s *serverConn) doneSending() {
	s.d.mu.Lock()
	s.w.sending = false
	s.d.mu.Unlock()
}

// writeColourMap sends the whole palette to a colour-mapped client.
func (s *serverConn) writeColourMap() error {
	s.out.Reset()
	s.out.Write([]byte{1, 0, 0, 0, 1, 0}) // type, padding, first colour 0, 256 colours
	var b [6]byte
	for _, c := range s.palette {
		binary.BigEndian.PutUint16(b[0:], c.R)
		binary.BigEndian.PutUint16(b[2:], c.G)
		binary.BigEndian.PutUint16(b[4:], c.B)
		s.out.Write(b[:])
	}
	return s.write(s.out.Bytes())
}

// writeNoDataUpdate sends the size rectangles that may not share an update
// with pixels.
func (s *serverConn) writeNoDataUpdate(p *updatePlan) error {
	s.out.Reset()
	s.out.Write([]byte{0, 0, 0, 0})
	n := 0
	switch {
	case (p.resize || p.edsInitial) && s.prefs.extDesktopSize:
		s.writeExtendedDesktopSize(edsReasonServer, edsStatusOK)
		n++
	case p.resize:
		writeRectHeader(&s.out, image.Rect(0, 0, s.width, s.height), EncDesktopSize)
		n++
	}
	for range p.edsReplies {
		s.writeExtendedDesktopSize(edsReasonClient, edsStatusRefused)
		n++
	}
	binary.BigEndian.PutUint16(s.out.Bytes()[2:], uint16(n))
	return s.write(s.out.Bytes())
}

// writeExtendedDesktopSize appends an ExtendedDesktopSize rectangle for the
// current size with one screen covering it.
func (s *serverConn) writeExtendedDesktopSize(reason, status int) {
	writeRectHeader(&s.out, image.Rect(reason, status, reason+s.width, status+s.height), EncExtendedDesktopSize)
	var b [4 + edsScreenBytes]byte
	b[0] = 1 // one screen, id 0, at the origin, no flags
	binary.BigEndian.PutUint16(b[12:], uint16(s.width))
	binary.BigEndian.PutUint16(b[14:], uint16(s.height))
	s.out.Write(b[:])
}

// writeDataUpdate sends the cursor, the copies and the changed pixels.
func (s *serverConn) writeDataUpdate(p *updatePlan) error {
	s.beginUpdate()
	if p.cursor {
		s.chunk.Reset()
		writeCursor(&s.chunk, p.cursorShape, s.pf, &s.palette)
		if err := s.addChunk(1); err != nil {
			return err
		}
	}
	for _, c := range p.copies {
		s.chunk.Reset()
		writeCopyRect(&s.chunk, c.dst, c.src)
		if err := s.addChunk(1); err != nil {
			return err
		}
	}
	for i, r := range p.rects {
		more, err := s.writePixels(r, p.gen)
		if err != nil {
			return err
		}
		if !more {
			s.stillOwed(p.rects[i:])
			p.area = p.area[:0]
			break
		}
	}
	// Every pixel is read: a copy from now on can only read a source the
	// client will hold, so it may be sent as a copy again.
	s.doneSending()
	return s.endUpdate()
}

// stillOwed puts back areas an update could not send.
func (s *serverConn) stillOwed(rects []image.Rectangle) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	bounds := s.d.buf.Bounds()
	for _, r := range rects {
		s.w.damage.add(r.Intersect(bounds))
	}
}

// writePixels encodes r band by band. It reports false when the desktop
// changed size or format meanwhile: its pixels can no longer be read as
// planned, and the next update resynchronises the client.
func (s *serverConn) writePixels(r image.Rectangle, gen uint64) (bool, error) {
	rows := bandRows(r.Dx())
	for y := r.Min.Y; y < r.Max.Y; y += rows {
		band := image.Rect(r.Min.X, y, r.Max.X, min(y+rows, r.Max.Y))
		if !s.readBand(band, gen) {
			return false, nil
		}
		s.chunk.Reset()
		n, err := s.encoders[s.prefs.pixel].encode(&s.chunk, s.pf, band, s.pix, s.prefs.opts)
		if err != nil {
			// An encoder that cannot do this rectangle must not end the
			// session: Raw always can.
			if !s.warned[s.prefs.pixel] {
				s.warned[s.prefs.pixel] = true
				s.log.Warn("rfb: encoder failed; sending raw", "encoding", s.prefs.pixel, "rect", band, "err", err)
			}
			s.chunk.Reset()
			if n, err = (rawEncoder{}).encode(&s.chunk, s.pf, band, s.pix, s.prefs.opts); err != nil {
				return false, err
			}
		}
		if err := s.addChunk(n); err != nil {
			return false, err
		}
	}
	return true, nil
}

// bandRows is how many rows of a rectangle of width w are encoded at a time:
// at most maxBandPixels, in multiples of the tile sizes of ZRLE (64) and
// Hextile (16) where possible, so bands split no tile.
func bandRows(w int) int {
	rows := maxBandPixels / max(w, 1)
	switch {
	case rows >= 64:
		rows -= rows % 64
	case rows >= 16:
		rows -= rows % 16
	}
	return max(rows, 1)
}

// readBand converts band's pixels into the client's format in s.pix, under
// the desktop's read lock, which is never held while writing to the network.
func (s *serverConn) readBand(band image.Rectangle, gen uint64) bool {
	d := s.d
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.gen != gen {
		return false
	}
	b := &d.buf
	in, out := b.Format.BytesPerPixel()*band.Dx(), s.pf.BytesPerPixel()*band.Dx()
	s.pix = grow(s.pix, out*band.Dy())
	for y := band.Min.Y; y < band.Max.Y; y++ {
		o := b.offset(band.Min.X, y)
		i := (y - band.Min.Y) * out
		s.conv.convert(s.pix[i:i+out], b.Pix[o:o+in])
	}
	return true
}

// beginUpdate starts a FramebufferUpdate in s.out. The count is patched in
// at the end, or is 65535 when the client takes LastRect and the update
// streams out as it is encoded.
func (s *serverConn) beginUpdate() {
	s.out.Reset()
	s.out.Write([]byte{0, 0, 0xff, 0xff})
	s.nrects = 0
}

// addChunk appends the n rectangles in s.chunk to the update.
func (s *serverConn) addChunk(n int) error {
	if !s.prefs.lastRect && s.nrects+n > maxCountedRects {
		// A counted update holds at most 65535 rectangles: send it and go on
		// in another. Clients take several updates for one request.
		if err := s.flushCounted(); err != nil {
			return err
		}
		s.beginUpdate()
	}
	s.out.Write(s.chunk.Bytes())
	s.nrects += n
	if s.prefs.lastRect && s.out.Len() >= streamFlushBytes {
		err := s.write(s.out.Bytes())
		s.out.Reset()
		return err
	}
	return nil
}

// endUpdate finishes and sends the update, then drops buffers a big update
// grew.
func (s *serverConn) endUpdate() error {
	var err error
	if s.prefs.lastRect {
		writeRectHeader(&s.out, image.Rectangle{}, EncLastRect)
		err = s.write(s.out.Bytes())
	} else {
		err = s.flushCounted()
	}
	s.out.Reset()
	if s.out.Cap() > keepBufferBytes {
		s.out = bytes.Buffer{}
	}
	if s.chunk.Cap() > keepBufferBytes {
		s.chunk = bytes.Buffer{}
	}
	if cap(s.pix) > keepBufferBytes {
		s.pix = nil
	}
	return err
}

func (s *serverConn) flushCounted() error {
	binary.BigEndian.PutUint16(s.out.Bytes()[2:], uint16(s.nrects))
	return s.write(s.out.Bytes())
}
