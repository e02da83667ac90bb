package rfb

import (
	"context"
	"errors"
	"image"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// testPalette is a colour map unlike any true-colour format: a 6x6x6 cube
// with uneven steps, then greys, so palette lookups cannot pass by accident.
func testPalette() []Colour {
	p := make([]Colour, 256)
	steps := []uint16{0, 0x3300, 0x6600, 0x9900, 0xcc00, 0xff00}
	for i := range 216 {
		p[i] = Colour{R: steps[i/36], G: steps[i/6%6], B: steps[i%6]}
	}
	for i := 216; i < 256; i++ {
		v := uint16(i-216) * 0x0600
		p[i] = Colour{R: v, G: v + 0x100, B: v + 0x200}
	}
	return p
}

// newSceneDesktop returns a desktop showing a deterministic scene: solid
// blocks, a gradient, noise, so that every encoder path has work.
func newSceneDesktop(w, h int, pf PixelFormat, seed uint64) *Desktop {
	d := NewDesktop(w, h, pf)
	if !pf.TrueColour {
		d.SetColourMap(0, testPalette())
	}
	d.Draw(func(b *Buffer) []image.Rectangle {
		drawScene(b, b.Bounds(), seed)
		return []image.Rectangle{b.Bounds()}
	})
	return d
}

// drawScene paints r: the left third solid blocks, the middle a gradient,
// the right noise.
func drawScene(b *Buffer, r image.Rectangle, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			var c [3]uint8
			switch {
			case x < b.Width/3:
				c = [3]uint8{uint8(x / 8 * 40), uint8(y / 8 * 30), 0x80}
			case x < 2*b.Width/3:
				c = [3]uint8{uint8(x * 3), uint8(y * 5), uint8(x + y)}
			default:
				v := rng.Uint32()
				c = [3]uint8{uint8(v), uint8(v >> 8), uint8(v >> 16)}
			}
			setScenePixel(b, x, y, c)
		}
	}
}

// setScenePixel sets a pixel in any format: colour-mapped desktops get an
// index derived from the colour.
func setScenePixel(b *Buffer, x, y int, c [3]uint8) {
	if b.Format.TrueColour {
		b.SetRGB(x, y, c[0], c[1], c[2])
		return
	}
	b.Pix[b.offset(x, y)] = c[0] ^ c[1]<<1 ^ c[2]<<2
}

// fillDesktop fills r with one colour and records it as damage.
func fillDesktop(d *Desktop, r image.Rectangle, c [3]uint8) {
	d.Draw(func(b *Buffer) []image.Rectangle {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				setScenePixel(b, x, y, c)
			}
		}
		return []image.Rectangle{r}
	})
}

// desktopRGB returns the true colour of every desktop pixel.
func desktopRGB(d *Desktop) *image.RGBA {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.buf.RGBA(d.buf.Bounds())
}

// channelStep is the largest error a channel of maximum max may show after
// quantisation: one step of the scale, whether the server rounds or
// truncates. 8-bit channels and colour maps (max 0) are exact.
func channelStep(max uint16) int {
	if max == 0 || max == 255 {
		return 0
	}
	return (255 + int(max) - 1) / int(max)
}

// testServer serves every connection to addr with Serve on d and reports
// each session's result.
type testServer struct {
	addr    string
	results chan error
}

func startServer(t testing.TB, d *Desktop, cfg ServerConfig) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{addr: ln.Addr().String(), results: make(chan error, 100)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := Serve(ctx, conn, d, cfg)
				select {
				case s.results <- err:
				default:
				}
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	return s
}

// result waits for the next session to end.
func (s *testServer) result(t testing.TB) error {
	t.Helper()
	select {
	case err := <-s.results:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no session ended within 10 s")
		return errors.New("timeout")
	}
}
