package rfb

import (
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
	"time"
)

// dialServed connects an rfb.Client to srv, decoding into a fresh Buffer.
func dialServed(t *testing.T, srv *testServer, pf *PixelFormat, encs []Encoding) (*Client, *Buffer) {
	t.Helper()
	fb := &Buffer{}
	c, err := Dial(t.Context(), srv.addr, ClientConfig{Framebuffer: fb, PixelFormat: pf, Encodings: encs, ReadTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, fb
}

// nextData reads messages until an update with pixel rectangles arrives
// (size-only updates and colour maps come first) and returns it.
func nextData(t *testing.T, c *Client) *Update {
	t.Helper()
	for {
		m, err := c.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		// Skip updates that only resize or carry pseudo-rectangles
		// (ExtendedDesktopSize answers every non-incremental request).
		if u, ok := m.(*Update); ok && !u.Resized && len(u.Rects) > 0 {
			return u
		}
	}
}

// checkScreen compares what the client decoded with the desktop.
func checkScreen(t *testing.T, fb *Buffer, d *Desktop) {
	t.Helper()
	got, want := fb.RGBA(fb.Bounds()), desktopRGB(d)
	if got.Rect != want.Rect {
		t.Fatalf("client framebuffer %v, desktop %v", got.Rect, want.Rect)
	}
	pf := fb.Format
	compareRGB(t, got, want, pf.RedMax, pf.GreenMax, pf.BlueMax)
}

func TestServeRoundTrip(t *testing.T) {
	r0g8b16be := PixelFormat{BitsPerPixel: 32, Depth: 24, BigEndian: true, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 0, GreenShift: 8, BlueShift: 16}
	be555 := Format15
	be555.BigEndian = true
	clientFormats := []struct {
		name string
		pf   *PixelFormat
	}{
		{"native", nil},
		{"32bpp", &Format32},
		{"32bpp-be-r0g8b16", &r0g8b16be},
		{"16bpp-565", &Format16},
		{"16bpp-555-be", &be555},
		{"8bpp-bgr233", &Format8},
	}
	for _, desktopPF := range []PixelFormat{Format32, ColourMapped(), Format16} {
		for _, enc := range []Encoding{EncRaw, EncHextile, EncZRLE, EncTight} {
			for _, cf := range clientFormats {
				name := fmt.Sprintf("desktop-%dbpp-tc%v/%v/%s", desktopPF.BitsPerPixel, desktopPF.TrueColour, enc, cf.name)
				t.Run(name, func(t *testing.T) {
					const w, h = 150, 70
					d := newSceneDesktop(w, h, desktopPF, 11)
					srv := startServer(t, d, ServerConfig{})
					c, fb := dialServed(t, srv, cf.pf, []Encoding{enc, EncCopyRect, EncLastRect, EncExtendedDesktopSize})
					if err := c.Request(false, image.Rect(0, 0, w, h)); err != nil {
						t.Fatal(err)
					}
					u := nextData(t, c)
					if got := unionOf(u.Rects); got != image.Rect(0, 0, w, h) {
						t.Fatalf("first update covers %v", got)
					}
					t.Logf("first update: %d bytes, encodings %v", u.Bytes, u.Encodings)
					checkScreen(t, fb, d)

					// A change and a moved block; the move comes as a copy.
					fillDesktop(d, image.Rect(3, 50, 40, 66), [3]uint8{0x10, 0xe0, 0x30})
					d.CopyRect(image.Rect(100, 5, 140, 35), image.Pt(60, 10))
					if err := c.Request(true, image.Rect(0, 0, w, h)); err != nil {
						t.Fatal(err)
					}
					u = nextData(t, c)
					if u.Encodings[EncCopyRect] != 1 {
						t.Errorf("incremental update used encodings %v, want one CopyRect", u.Encodings)
					}
					for _, r := range u.Rects {
						if !r.In(image.Rect(3, 50, 40, 66)) && !r.In(image.Rect(100, 5, 140, 35)) {
							t.Errorf("incremental update sent %v, which did not change", r)
						}
					}
					checkScreen(t, fb, d)
				})
			}
		}
	}
}

// The live view upgrades a kiosk session from a palette to 32 bpp while a
// viewer watches: the viewer keeps its picture and then gets changes only.
func TestServeDesktopFormatUpgrade(t *testing.T) {
	const w, h = 80, 40
	d := newSceneDesktop(w, h, ColourMapped(), 2)
	srv := startServer(t, d, ServerConfig{})
	c, fb := dialServed(t, srv, &Format32, []Encoding{EncZRLE})
	if err := c.Request(false, image.Rect(0, 0, w, h)); err != nil {
		t.Fatal(err)
	}
	nextData(t, c)
	if err := d.SetFormat(w, h, Format32); err != nil {
		t.Fatal(err)
	}
	changed := image.Rect(10, 10, 20, 15)
	d.Draw(func(b *Buffer) []image.Rectangle {
		b.SetRGB(12, 12, 1, 2, 3)
		return []image.Rectangle{changed}
	})
	if err := c.Request(true, image.Rect(0, 0, w, h)); err != nil {
		t.Fatal(err)
	}
	if u := nextData(t, c); unionOf(u.Rects) != changed {
		t.Errorf("after the upgrade the viewer got %v, want only the change %v", u.Rects, changed)
	}
	checkScreen(t, fb, d)
}

// Random fills, copies and scrolls, some of them while updates are being
// encoded: whatever mix of copies and pixels the server sends, the client
// ends up with exactly the desktop's picture.
func TestServeCopiesStayConsistent(t *testing.T) {
	const w, h = 96, 64
	d := newSceneDesktop(w, h, Format32, 5)
	srv := startServer(t, d, ServerConfig{})
	c, fb := dialServed(t, srv, nil, []Encoding{EncCopyRect, EncHextile})
	full := image.Rect(0, 0, w, h)
	if err := c.Request(false, full); err != nil {
		t.Fatal(err)
	}
	nextData(t, c)

	rng := rand.New(rand.NewPCG(3, 4))
	op := func() {
		x, y := rng.IntN(w), rng.IntN(h)
		r := image.Rect(x, y, x+1+rng.IntN(40), y+1+rng.IntN(30))
		switch rng.IntN(3) {
		case 0:
			fillDesktop(d, r.Intersect(full), [3]uint8{uint8(rng.Uint32()), uint8(rng.Uint32()), 0x55})
		case 1:
			d.CopyRect(r, image.Pt(rng.IntN(w), rng.IntN(h)))
		default: // a scroll of a band by a few rows
			d.CopyRect(image.Rect(0, 8, w, h-8), image.Pt(0, 8+rng.IntN(9)-4))
		}
	}
	// Quiet rounds: changes between updates.
	copies := 0
	for round := 0; round < 100; round++ {
		for range 1 + rng.IntN(4) {
			op()
		}
		if err := c.Request(true, full); err != nil {
			t.Fatal(err)
		}
		copies += nextData(t, c).Encodings[EncCopyRect]
		checkScreen(t, fb, d)
		if t.Failed() {
			t.Fatalf("screens differ after round %d", round)
		}
	}
	if copies == 0 {
		t.Error("no CopyRect was ever sent")
	}
	// Busy rounds: changes while updates are encoded.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
				op()
			}
		}
	}()
	for range 50 {
		if err := c.Request(true, full); err != nil {
			t.Fatal(err)
		}
		nextData(t, c)
	}
	close(stop)
	<-stopped
	fillDesktop(d, image.Rect(0, 0, 1, 1), [3]uint8{1, 1, 1}) // so the last request has something to answer
	if err := c.Request(true, full); err != nil {
		t.Fatal(err)
	}
	nextData(t, c)
	checkScreen(t, fb, d)
}
