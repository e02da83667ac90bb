package rfb_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"runtime"
	"testing"

	"kioskwall/rfb"
	"kioskwall/rfb/sim"
)

// nullFramebuffer keeps no pixels, so that a measurement counts only what the
// client itself holds.
type nullFramebuffer struct{}

func (nullFramebuffer) SetFormat(int, int, rfb.PixelFormat) error { return nil }
func (nullFramebuffer) SetColourMap(int, []rfb.Colour)            {}
func (nullFramebuffer) WritePixels(image.Rectangle, []byte)       {}
func (nullFramebuffer) FillRect(image.Rectangle, []byte)          {}
func (nullFramebuffer) CopyRect(image.Rectangle, image.Point)     {}

// TestSessionMemory measures what a client holds for a 1920x1080 session
// besides the framebuffer, which the caller owns (the package doc states
// both): a synthetic kiosk's screen is recorded once per encoding, then
// replayed into many clients kept alive at once.
func TestSessionMemory(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fleet, err := sim.Start(ctx, sim.Config{Kiosks: 1, Behaviours: []sim.Behaviour{sim.Interactive}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	kiosk := fleet.Kiosks()[0]

	for _, enc := range []rfb.Encoding{rfb.EncZRLE, rfb.EncTight, rfb.EncHextile} {
		t.Run(enc.String(), func(t *testing.T) {
			var rec bytes.Buffer
			c, err := rfb.Dial(ctx, kiosk.Addr(), rfb.ClientConfig{Framebuffer: &rfb.Buffer{},
				PixelFormat: &rfb.Format8, Encodings: []rfb.Encoding{enc}})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Record(&rec); err != nil {
				t.Fatal(err)
			}
			if err := c.Request(false, image.Rect(0, 0, c.Width(), c.Height())); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Next(); err != nil {
				t.Fatal(err)
			}
			c.Close()
			if rec.Len() < 1000 {
				t.Fatalf("recorded only %d bytes", rec.Len())
			}

			const n = 40
			clients := make([]*rfb.Client, n)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := range clients {
				clients[i], err = rfb.NewReplay(bytes.NewReader(rec.Bytes()), nullFramebuffer{})
				if err != nil {
					t.Fatal(err)
				}
				if err := readAll(clients[i]); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perSession := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
			runtime.KeepAlive(clients)
			t.Logf("%v at 8 bpp: a 1920x1080 session holds %d KiB besides its framebuffer (%d KiB at 8 bpp)",
				enc, perSession>>10, 1920*1080>>10)
			// A replay carries a second 32 KiB read buffer a live session has not.
			if perSession > 512<<10 {
				t.Errorf("a session holds %d KiB besides its framebuffer; the package doc promises far less", perSession>>10)
			}
		})
	}
}

// readAll reads a recording to its end.
func readAll(c *rfb.Client) error {
	for {
		if _, err := c.Next(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}
