package rfb

import (
	"image"
	"net"
	"slices"
	"testing"
	"time"
)

// serveHooked serves d over a pipe to a rawClient that has done a 3.8
// handshake and sent SetEncodings; every SentUpdate goes to the channel,
// and the channel's other value is Serve's result.
func serveHooked(t *testing.T, d *Desktop, encs ...Encoding) (*rawClient, <-chan SentUpdate, <-chan error) {
	t.Helper()
	sent := make(chan SentUpdate, 64)
	server, client := net.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Serve(t.Context(), server, d, ServerConfig{OnUpdate: func(u SentUpdate) { sent <- u }})
	}()
	c := newRawClient(t, client)
	c.handshake38None()
	c.setEncodings(encs...)
	return c, sent, done
}

// nextSent waits for the hook's next report.
func nextSent(t *testing.T, sent <-chan SentUpdate) SentUpdate {
	t.Helper()
	select {
	case u := <-sent:
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("OnUpdate not called within 10 s of an update the client received")
		return SentUpdate{}
	}
}

// endSession closes the client, waits for Serve to return (so every hook
// call has happened) and checks the hook reported nothing more.
func endSession(t *testing.T, c *rawClient, sent <-chan SentUpdate, done <-chan error) {
	t.Helper()
	c.conn.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the client left")
	}
	if n := len(sent); n != 0 {
		t.Errorf("OnUpdate called %d more times than updates were sent: %v", n, <-sent)
	}
}

// OnUpdate fires once for each update that answers a request, never for a
// request still waiting for a change, with a time not before the request
// (nor before the change it waited for) and the area the client asked for,
// cropped to the desktop.
func TestOnUpdate(t *testing.T) {
	const w, h = 64, 48
	d := newSceneDesktop(w, h, Format32, 1)
	c, sent, done := serveHooked(t, d, EncRaw)
	whole := image.Rect(0, 0, w, h)
	for _, step := range []struct {
		name        string
		incremental bool
		area        image.Rectangle
		draw        image.Rectangle // drawn after the request; empty: nothing
		want        image.Rectangle
	}{
		{"first, whole screen", false, whole, image.Rectangle{}, whole},
		{"incremental, waits for a change", true, whole, image.Rect(5, 6, 20, 30), whole},
		{"1x1 probe", false, image.Rect(0, 0, 1, 1), image.Rectangle{}, image.Rect(0, 0, 1, 1)},
		{"past the edge, waits for a change", true, image.Rect(10, 10, 200, 200), image.Rect(12, 12, 14, 14), image.Rect(10, 10, w, h)},
		{"non-incremental again", false, image.Rect(8, 4, 24, 20), image.Rectangle{}, image.Rect(8, 4, 24, 20)},
	} {
		notBefore := time.Now()
		c.request(step.incremental, step.area)
		if !step.draw.Empty() {
			notBefore = time.Now()
			fillDesktop(d, step.draw, [3]uint8{0xff, 0x40, 0})
		}
		c.readUpdate(4)
		u := nextSent(t, sent)
		if u.Composed.Before(notBefore) {
			t.Errorf("%s: composed %v before the request or change at %v", step.name, u.Composed, notBefore)
		}
		if want := []image.Rectangle{step.want}; !slices.Equal(u.Area, want) && !(step.want.Empty() && len(u.Area) == 0) {
			t.Errorf("%s: area %v, want %v", step.name, u.Area, step.want)
		}
	}
	endSession(t, c, sent, done)
}

// An update cut short by a resize brought nothing up to date for sure: the
// hook still fires once, with an empty area.
func TestOnUpdateCutShort(t *testing.T) {
	const w, h = 512, 512 // four bands of 128 rows
	d := newSceneDesktop(w, h, Format32, 2)
	c, sent, done := serveHooked(t, d, EncRaw, EncLastRect)
	c.request(false, image.Rect(0, 0, w, h))
	// The pipe holds the server in writing the first band until the client
	// has read it all, so a resize now falls between the first and second.
	if _, err := c.in.Peek(1); err != nil {
		t.Fatal(err)
	}
	if err := d.SetFormat(w/2, h/2, Format32); err != nil {
		t.Fatal(err)
	}
	rects, _ := c.readUpdate(4)
	if got := rawRects(rects); len(got) != 1 || got[0] != image.Rect(0, 0, w, bandRows(w)) {
		t.Fatalf("cut-short update sent %v, want the first band only", got)
	}
	if u := nextSent(t, sent); len(u.Area) != 0 {
		t.Errorf("area %v after a resize cut the update short, want empty", u.Area)
	}
	endSession(t, c, sent, done)
}

// Requests accumulate as a region, as TigerVNC keeps them: a client that asks
// for the screen without its clock gets changes everywhere but the clock,
// and the clock's change waits for a request that covers it.
func TestRequestsAreARegion(t *testing.T) {
	const w, h = 64, 48
	d := newSceneDesktop(w, h, Format32, 2)
	c, sent, done := serveHooked(t, d, EncRaw)
	whole := image.Rect(0, 0, w, h)
	c.request(false, whole)
	c.readUpdate(4)
	nextSent(t, sent)

	clock := image.Rect(50, 2, 62, 8)
	button := image.Rect(10, 30, 30, 40)
	for _, r := range Subtract([]image.Rectangle{whole}, clock) {
		c.request(true, r)
	}
	// Drawn in one go after the requests: net.Pipe has no buffer, and an
	// answer before the last request would block both ends.
	d.Draw(func(b *Buffer) []image.Rectangle {
		for _, r := range []image.Rectangle{clock, button} {
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					b.SetRGB(x, y, 0xff, 0x80, 0)
				}
			}
		}
		return []image.Rectangle{clock, button}
	})
	rects, _ := c.readUpdate(4)
	u := nextSent(t, sent)
	var got []image.Rectangle
	for _, r := range rects {
		if r.enc == EncRaw {
			got = append(got, r.r)
		}
	}
	if !Covers(got, button) || slices.ContainsFunc(got, clock.Overlaps) {
		t.Errorf("update of the screen without the clock sent %v; want the button %v and nothing of the clock %v", got, button, clock)
	}
	if Covers(u.Area, clock) || !Covers(u.Area, button) {
		t.Errorf("reported area %v", u.Area)
	}
	c.request(true, whole)
	rects, _ = c.readUpdate(4)
	nextSent(t, sent)
	if len(rects) != 1 || !rects[0].r.Eq(clock) {
		t.Errorf("the next whole-screen request sent %v, want the clock %v alone", rects, clock)
	}
	endSession(t, c, sent, done)
}

// A copy goes as CopyRect to a client that asks for the screen without its
// clock, and a 1x1 poke beside the request does not turn it into pixels.
func TestCopiesSurvivePartialRequests(t *testing.T) {
	const w, h = 64, 48
	d := newSceneDesktop(w, h, Format32, 3)
	c, sent, done := serveHooked(t, d, EncCopyRect, EncRaw)
	whole := image.Rect(0, 0, w, h)
	c.request(false, whole)
	c.readUpdate(4)
	nextSent(t, sent)

	clock := image.Rect(50, 2, 62, 8)
	for _, r := range Subtract([]image.Rectangle{whole}, clock) {
		c.request(true, r)
	}
	c.request(false, image.Rect(0, 0, 1, 1))
	c.readUpdate(4) // the poke's pixel: nothing else changed yet
	nextSent(t, sent)
	for _, r := range Subtract([]image.Rectangle{whole}, clock) {
		c.request(true, r)
	}
	moved := image.Rect(0, 20, 40, 40)
	d.CopyRect(moved, image.Pt(8, 20))
	rects, _ := c.readUpdate(4)
	nextSent(t, sent)
	if len(rects) != 1 || rects[0].enc != EncCopyRect || !rects[0].r.Eq(moved) {
		t.Errorf("a move under a request without the clock came as %v, want one CopyRect at %v", rects, moved)
	}
	endSession(t, c, sent, done)
}
