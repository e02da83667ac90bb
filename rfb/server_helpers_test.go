package rfb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"io"
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

// rawClient speaks RFB byte by byte, so tests state exactly what the
// protocol says goes over the wire, independently of rfb.Client.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	in   *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return newRawClient(t, conn)
}

func newRawClient(t testing.TB, conn net.Conn) *rawClient {
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, conn: conn, in: bufio.NewReader(conn)}
}

func (c *rawClient) send(b ...byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("client write: %v", err)
	}
}

func (c *rawClient) read(n int) []byte {
	c.t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c.in, b); err != nil {
		c.t.Fatalf("client read of %d bytes: %v", n, err)
	}
	return b
}

// expect reads len(want) bytes and checks them.
func (c *rawClient) expect(what string, want []byte) {
	c.t.Helper()
	if got := c.read(len(want)); !bytes.Equal(got, want) {
		c.t.Fatalf("%s: got % x, want % x", what, got, want)
	}
}

func (c *rawClient) u8() int  { c.t.Helper(); return int(c.read(1)[0]) }
func (c *rawClient) u16() int { c.t.Helper(); return int(binary.BigEndian.Uint16(c.read(2))) }
func (c *rawClient) u32() int { c.t.Helper(); return int(binary.BigEndian.Uint32(c.read(4))) }

// closed reports whether the server closed the connection (nothing more to read).
func (c *rawClient) closed() bool {
	_, err := c.in.ReadByte()
	return err != nil
}

// handshake38None runs a 3.8 handshake with security None and returns the
// ServerInit size.
func (c *rawClient) handshake38None() (w, h int) {
	c.t.Helper()
	c.expect("version", []byte("RFB 003.008\n"))
	c.send([]byte("RFB 003.008\n")...)
	c.expect("security types", []byte{1, 1})
	c.send(1)
	c.expect("security result", []byte{0, 0, 0, 0})
	c.send(1)
	w, h = c.u16(), c.u16()
	c.read(16)
	c.read(c.u32())
	return w, h
}

// serveRaw serves d and connects a rawClient that has done a 3.8 handshake
// with security None and sent SetEncodings.
func serveRaw(t testing.TB, d *Desktop, encs ...Encoding) (*testServer, *rawClient) {
	t.Helper()
	srv := startServer(t, d, ServerConfig{})
	c := dialRaw(t, srv.addr)
	c.handshake38None()
	c.setEncodings(encs...)
	return srv, c
}

// setEncodings sends SetEncodings.
func (c *rawClient) setEncodings(encs ...Encoding) {
	c.t.Helper()
	b := []byte{2, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(len(encs)))
	for _, e := range encs {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(e)))
	}
	c.send(b...)
}

// request sends a FramebufferUpdateRequest.
func (c *rawClient) request(incremental bool, r image.Rectangle) {
	c.t.Helper()
	b := []byte{3, 0}
	if incremental {
		b[1] = 1
	}
	for _, v := range []int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()} {
		b = binary.BigEndian.AppendUint16(b, uint16(v))
	}
	c.send(b...)
}

// rawRect is one rectangle of an update as it came over the wire.
type rawRect struct {
	r    image.Rectangle
	enc  Encoding
	data []byte // Raw pixels, the CopyRect source, or pseudo-encoding data
}

// readUpdate reads one server message, which must be a FramebufferUpdate
// (colour map entries before it are skipped), whose rectangles use only Raw,
// CopyRect and the pseudo-encodings; bpp is the client's bytes a pixel. It
// returns the rectangles and the count in the header.
func (c *rawClient) readUpdate(bpp int) ([]rawRect, int) {
	c.t.Helper()
	for {
		switch t := c.u8(); t {
		case 1:
			c.read(3)
			c.read(6 * c.u16())
			continue
		case 0:
		default:
			c.t.Fatalf("server message type %d, want a FramebufferUpdate", t)
		}
		c.read(1)
		count := c.u16()
		var rects []rawRect
		for i := 0; i < count; i++ {
			x, y, w, h := c.u16(), c.u16(), c.u16(), c.u16()
			rr := rawRect{r: image.Rect(x, y, x+w, y+h), enc: Encoding(int32(c.u32()))}
			switch rr.enc {
			case EncRaw:
				rr.data = c.read(w * h * bpp)
			case EncCopyRect:
				rr.data = c.read(4)
			case EncCursor:
				rr.data = c.read(w*h*bpp + (w+7)/8*h)
			case EncExtendedDesktopSize:
				n := c.read(4)
				rr.data = append(n, c.read(16*int(n[0]))...)
			case EncDesktopSize:
			case EncLastRect:
				return append(rects, rr), count
			default:
				c.t.Fatalf("rectangle %d uses encoding %v, which this test did not ask for", i, rr.enc)
			}
			rects = append(rects, rr)
		}
		return rects, count
	}
}
