package rfb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"
)

// The tests here read updates byte by byte, to check what the protocol
// says about their structure.

// expectSilence checks that the server sends nothing for a while: an
// incremental request with nothing changed must be held.
func (c *rawClient) expectSilence(d time.Duration) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(d))
	if _, err := c.in.Peek(1); err == nil {
		c.t.Fatal("server sent something while nothing changed")
	}
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
}

func TestServeExtendedDesktopSize(t *testing.T) {
	d := newSceneDesktop(50, 20, Format32, 1)
	_, c := serveRaw(t, d, EncRaw, EncExtendedDesktopSize)

	screen := func(w, h int) []byte {
		b := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		b = binary.BigEndian.AppendUint16(b, uint16(w))
		b = binary.BigEndian.AppendUint16(b, uint16(h))
		return append(b, 0, 0, 0, 0)
	}
	// A non-incremental request gets the layout in an update of its own,
	// then the pixels.
	c.request(false, image.Rect(0, 0, 50, 20))
	rects, n := c.readUpdate(4)
	if n != 1 || len(rects) != 1 || rects[0].enc != EncExtendedDesktopSize {
		t.Fatalf("first update %+v, want one ExtendedDesktopSize rectangle alone", rects)
	}
	if rects[0].r != image.Rect(0, 0, 50, 20) || !bytes.Equal(rects[0].data, screen(50, 20)) {
		t.Errorf("ExtendedDesktopSize %v % x, want reason 0 status 0 50x20 and one screen", rects[0].r, rects[0].data)
	}
	rects, _ = c.readUpdate(4)
	if unionOf(rawRects(rects)) != image.Rect(0, 0, 50, 20) {
		t.Errorf("data update %v", rawRects(rects))
	}

	// SetDesktopSize is refused: reason 1 (this client), status 1 (prohibited).
	c.send(append([]byte{251, 0, 0, 100, 0, 80, 1, 0}, screen(100, 80)[4:]...)...)
	c.request(true, image.Rect(0, 0, 50, 20))
	rects, _ = c.readUpdate(4)
	if len(rects) != 1 || rects[0].enc != EncExtendedDesktopSize || rects[0].r.Min != image.Pt(1, 1) || rects[0].r.Size() != image.Pt(50, 20) {
		t.Fatalf("answer to SetDesktopSize: %+v, want ExtendedDesktopSize at (1,1) of the unchanged 50x20", rects)
	}
	// The request is still outstanding and nothing changed: silence.
	c.expectSilence(200 * time.Millisecond)
	fillDesktop(d, image.Rect(0, 0, 5, 5), [3]uint8{1, 2, 3})
	rects, _ = c.readUpdate(4)
	if unionOf(rawRects(rects)) != image.Rect(0, 0, 5, 5) {
		t.Errorf("update after a change: %v", rawRects(rects))
	}
}

func TestServeLastRect(t *testing.T) {
	d := newSceneDesktop(300, 400, Format32, 1)
	_, c := serveRaw(t, d, EncRaw, EncLastRect)
	c.request(false, image.Rect(0, 0, 300, 400))
	rects, n := c.readUpdate(4)
	if n != 0xffff {
		t.Errorf("update header says %d rectangles, want 65535 (streamed, ended by LastRect)", n)
	}
	if last := rects[len(rects)-1]; last.enc != EncLastRect {
		t.Errorf("update ends with %v, want LastRect", last.enc)
	}
	// Big areas come in bands: more than one rectangle, covering it all.
	data := rawRects(rects)
	if len(data) < 2 || unionOf(data) != image.Rect(0, 0, 300, 400) {
		t.Errorf("rectangles %v", data)
	}
	total := 0
	for _, r := range data {
		total += r.Dx() * r.Dy()
	}
	if total != 300*400 {
		t.Errorf("bands hold %d pixels, want %d: they overlap or leave gaps", total, 300*400)
	}
}

func TestServeDesktopResize(t *testing.T) {
	for _, tc := range []struct {
		name string
		encs []Encoding
		want Encoding // 0: the session must end
	}{
		{"DesktopSize", []Encoding{EncRaw, EncDesktopSize}, EncDesktopSize},
		{"ExtendedDesktopSize wins", []Encoding{EncRaw, EncDesktopSize, EncExtendedDesktopSize}, EncExtendedDesktopSize},
		{"no resize support", []Encoding{EncRaw}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newSceneDesktop(40, 30, Format16, 1)
			srv, c := serveRaw(t, d, tc.encs...)
			c.request(true, image.Rect(0, 0, 40, 30))
			c.readUpdate(2) // the whole screen, owed to a new client
			c.request(true, image.Rect(0, 0, 40, 30))
			if err := d.SetFormat(64, 48, Format16); err != nil {
				t.Fatal(err)
			}
			if tc.want == 0 {
				if !c.closed() {
					t.Fatal("server kept a client that cannot follow a resize")
				}
				if err := srv.result(t); err == nil || !strings.Contains(err.Error(), "resized to 64x48") {
					t.Errorf("Serve: %v", err)
				}
				return
			}
			rects, n := c.readUpdate(2)
			if n != 1 || rects[0].enc != tc.want || rects[0].r.Size() != image.Pt(64, 48) {
				t.Fatalf("resize update %+v, want a lone %v of 64x48", rects, tc.want)
			}
			d.Draw(func(b *Buffer) []image.Rectangle {
				drawScene(b, b.Bounds(), 9)
				return []image.Rectangle{b.Bounds()}
			})
			rects, _ = c.readUpdate(2)
			if unionOf(rawRects(rects)) != image.Rect(0, 0, 64, 48) {
				t.Errorf("after the resize: %v, want the whole new screen", rawRects(rects))
			}
		})
	}
}

func TestServeCursor(t *testing.T) {
	d := NewDesktop(20, 20, Format32)
	_, c := serveRaw(t, d, EncRaw, EncCursor)
	c.request(false, image.Rect(0, 0, 20, 20))
	c.readUpdate(4)

	img := image.NewRGBA(image.Rect(0, 0, 10, 2))
	red := color.RGBA{0xff, 0, 0, 0xff}
	for x := 0; x < 10; x += 3 {
		img.SetRGBA(x, 0, red)
	}
	img.SetRGBA(9, 1, color.RGBA{0, 0x40, 0, 0x80}) // half transparent green, premultiplied
	d.SetCursor(&Cursor{Hotspot: image.Pt(2, 1), Image: img})
	c.request(true, image.Rect(0, 0, 20, 20))
	rects, _ := c.readUpdate(4)
	if len(rects) != 1 || rects[0].enc != EncCursor {
		t.Fatalf("update %+v, want just the cursor", rects)
	}
	cur := rects[0]
	if cur.r != image.Rect(2, 1, 12, 3) {
		t.Errorf("cursor rectangle %v, want hotspot (2,1) size 10x2", cur.r)
	}
	pix, mask := cur.data[:10*2*4], cur.data[10*2*4:]
	if want := []byte{0b1001_0010, 0b0100_0000, 0b0000_0000, 0b0100_0000}; !bytes.Equal(mask, want) {
		t.Errorf("mask %08b, want %08b", mask, want)
	}
	if got := binary.LittleEndian.Uint32(pix[3*4:]); got != 0xff0000 {
		t.Errorf("pixel (3,0) = %#x, want red 0xff0000", got)
	}
	if got := binary.LittleEndian.Uint32(pix[19*4:]); got != 0x008000 {
		t.Errorf("pixel (9,1) = %#x, want green 0x008000 (un-premultiplied)", got)
	}

	d.SetCursor(nil)
	c.request(true, image.Rect(0, 0, 20, 20))
	rects, _ = c.readUpdate(4)
	if len(rects) != 1 || rects[0].enc != EncCursor || !rects[0].r.Empty() {
		t.Errorf("hiding the cursor sent %+v, want an empty cursor", rects)
	}
}

// An incremental request for part of the screen is held until that part
// changes and brings only that part; the rest stays owed.
func TestServePartialRequests(t *testing.T) {
	d := newSceneDesktop(60, 40, Format32, 1)
	_, c := serveRaw(t, d, EncRaw)
	c.request(false, image.Rect(0, 0, 60, 40))
	c.readUpdate(4)

	left, right := image.Rect(0, 0, 30, 40), image.Rect(30, 0, 60, 40)
	c.request(true, left)
	fillDesktop(d, image.Rect(40, 10, 50, 20), [3]uint8{9, 9, 9}) // right half only
	c.expectSilence(200 * time.Millisecond)
	fillDesktop(d, image.Rect(20, 5, 45, 8), [3]uint8{7, 7, 7}) // straddles both
	rects, _ := c.readUpdate(4)
	if got := unionOf(rawRects(rects)); got != image.Rect(20, 5, 30, 8) {
		t.Errorf("update for the left half covers %v, want (20,5)-(30,8)", got)
	}
	c.request(true, right)
	rects, _ = c.readUpdate(4)
	for _, r := range rawRects(rects) {
		if !r.In(right) {
			t.Errorf("update for the right half sent %v", r)
		}
	}
	var covered int
	for _, r := range rawRects(rects) {
		covered += r.Dx() * r.Dy()
	}
	if want := 10*10 + 15*3; covered < want {
		t.Errorf("right half update holds %d pixels, fewer than the %d that changed there", covered, want)
	}
}

func TestServeColourMap(t *testing.T) {
	d := newSceneDesktop(16, 8, ColourMapped(), 1)
	_, c := serveRaw(t, d, EncRaw)
	c.request(false, image.Rect(0, 0, 16, 8))

	readColourMap := func() []Colour {
		t.Helper()
		c.expect("SetColourMapEntries header", []byte{1, 0, 0, 0, 1, 0})
		var cs []Colour
		for range 256 {
			cs = append(cs, Colour{uint16(c.u16()), uint16(c.u16()), uint16(c.u16())})
		}
		return cs
	}
	if got, want := readColourMap(), testPalette(); !equalColours(got, want) {
		t.Error("colour map differs from the desktop's palette")
	}
	rects, _ := c.readUpdate(1)
	d.mu.RLock()
	for _, r := range rects {
		for i, v := range r.data {
			x, y := r.r.Min.X+i%r.r.Dx(), r.r.Min.Y+i/r.r.Dx()
			if want := d.buf.Pix[d.buf.offset(x, y)]; v != want {
				t.Errorf("pixel (%d,%d) = index %d, want %d", x, y, v, want)
			}
		}
	}
	d.mu.RUnlock()

	// A new palette reaches the client without a new request.
	p := testPalette()
	p[3] = Colour{0x1200, 0x3400, 0x5600}
	d.SetColourMap(0, p)
	c.request(true, image.Rect(0, 0, 16, 8))
	if got := readColourMap(); !equalColours(got, p) {
		t.Error("changed colour map not sent")
	}
}

func equalColours(a, b []Colour) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An update whose pixels can no longer be read as planned (the desktop's
// format changed after the plan was made) owes its areas to the next one.
func TestServeUpdateInterruptedByFormatChange(t *testing.T) {
	d := newSceneDesktop(30, 20, Format16, 1)
	s, err := newServerConn(&fuzzConn{}, d, ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.serverInit(); err != nil {
		t.Fatal(err)
	}
	defer d.unwatch(s.w)
	s.prefs = defaultPrefs()
	s.request(false, image.Rect(0, 0, 30, 20))
	if ok, err := s.snapshot(&s.plan); !ok || err != nil {
		t.Fatalf("snapshot: %v %v", ok, err)
	}
	if !s.w.damage.empty() {
		t.Fatalf("snapshot left damage %v", s.w.damage.rects)
	}
	if err := d.SetFormat(30, 20, Format32); err != nil {
		t.Fatal(err)
	}
	if err := s.writeDataUpdate(&s.plan); err != nil {
		t.Fatal(err)
	}
	if got := unionOf(s.w.damage.rects); got != image.Rect(0, 0, 30, 20) {
		t.Errorf("after the interrupted update %v is owed, want the whole planned area", got)
	}
	if s.w.sending {
		t.Error("connection still marked as sending")
	}
}

// failingEncoder stands for an encoder that cannot do a rectangle.
type failingEncoder struct{ calls int }

func (e *failingEncoder) encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, opts EncodeOptions) (int, error) {
	e.calls++
	w.WriteString("half a rectangle")
	return 0, errors.New("cannot")
}

// newTestServerConn is a served connection on a scriptConn, past the
// handshake, for tests of the update path alone.
func newTestServerConn(t *testing.T, d *Desktop) (*serverConn, *scriptConn) {
	t.Helper()
	conn := &scriptConn{in: bytes.NewReader(nil)}
	s, err := newServerConn(conn, d, ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.serverInit(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.unwatch(s.w) })
	conn.out.Reset()
	s.prefs = defaultPrefs()
	return s, conn
}

// An encoder that fails does not end the session: the rectangle goes as Raw.
func TestServeFallsBackToRaw(t *testing.T) {
	d := newSceneDesktop(20, 10, Format32, 1)
	s, conn := newTestServerConn(t, d)
	failing := &failingEncoder{}
	s.encoders[EncZRLE], s.prefs.pixel = failing, EncZRLE
	s.request(false, image.Rect(0, 0, 20, 10))
	if err := s.update(); err != nil {
		t.Fatal(err)
	}
	s.request(false, image.Rect(0, 0, 20, 10))
	if err := s.update(); err != nil {
		t.Fatal(err)
	}
	if failing.calls != 2 {
		t.Errorf("encoder called %d times, want once an update", failing.calls)
	}
	c := &rawClient{t: t, in: bufio.NewReader(&conn.out)}
	for range 2 {
		rects, _ := c.readUpdate(4)
		if len(rects) != 1 || rects[0].enc != EncRaw || rects[0].r != image.Rect(0, 0, 20, 10) {
			t.Errorf("update %+v, want the whole screen as one Raw rectangle", rects)
		}
	}
	if conn.out.Len() != 0 {
		t.Errorf("%d bytes left over: the failed encoder's output was sent", conn.out.Len())
	}
}

// Without LastRect an update holds at most 65535 rectangles; more go in
// further updates.
func TestServeSplitsCountedUpdates(t *testing.T) {
	s, conn := newTestServerConn(t, NewDesktop(4, 4, Format8))
	s.beginUpdate()
	for _, n := range []int{30000, 30000, 30000} {
		s.chunk.Reset()
		s.chunk.WriteString("r")
		if err := s.addChunk(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.endUpdate(); err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0xea, 0x60, 'r', 'r', 0, 0, 0x75, 0x30, 'r'} // 60000 rectangles, then 30000
	if got := conn.out.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("wrote % x, want % x", got, want)
	}
}

func TestCursorForColourMappedClient(t *testing.T) {
	var pal [256]Colour
	copy(pal[:], testPalette())
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.SetRGBA(0, 0, color.RGBA{0xfa, 0x02, 0x01, 0xff}) // nearly red: cube entry (5,0,0) = 180
	img.SetRGBA(1, 0, color.RGBA{0x30, 0x30, 0x32, 0xff}) // grey: the greys start at 216, step 6
	var b bytes.Buffer
	writeCursor(&b, &Cursor{Image: img}, ColourMapped(), &pal)
	if got := b.Bytes()[12:14]; got[0] != 180 || got[1] != 216+8 {
		t.Errorf("cursor indices %v, want [180 224]", got)
	}
}
