package rfb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kioskwall/internal/realvnc"
	"kioskwall/rfb"
)

// recording is one session the decoder benchmarks replay: which real server
// sent it, in which encoding and pixel format.
type recording struct {
	server string
	enc    rfb.Encoding
	extra  []rfb.Encoding // quality level etc.
	pf     rfb.PixelFormat
	label  string
}

func recordings() []recording {
	return []recording{
		{server: "xvnc", enc: rfb.EncRaw, pf: rfb.Format32, label: "raw-32"},
		{server: "xvnc", enc: rfb.EncRRE, pf: rfb.Format32, label: "rre-32"},
		{server: "xvnc", enc: rfb.EncHextile, pf: rfb.Format32, label: "hextile-32"},
		{server: "xvnc", enc: rfb.EncHextile, pf: rfb.Format8, label: "hextile-8"},
		{server: "xvnc", enc: rfb.EncZRLE, pf: rfb.Format32, label: "zrle-32"},
		{server: "xvnc", enc: rfb.EncZRLE, pf: rfb.Format8, label: "zrle-8"},
		{server: "xvnc", enc: rfb.EncTight, pf: rfb.Format32, label: "tight-32"},
		{server: "xvnc", enc: rfb.EncTight, pf: rfb.Format16, label: "tight-16"},
		{server: "xvnc", enc: rfb.EncTight, extra: []rfb.Encoding{rfb.EncQualityLevel0 + 6}, pf: rfb.Format32, label: "tightjpeg-32"},
		{server: "xtightvnc", enc: rfb.EncCoRRE, pf: rfb.Format32, label: "corre-32"},
		{server: "xtightvnc", enc: rfb.EncZlib, pf: rfb.Format32, label: "zlib-32"},
		{server: "xtightvnc", enc: rfb.EncTight, pf: rfb.Format8, label: "tight-8"},
	}
}

// TestRecordRealSessions records the bytes real servers (TigerVNC Xvnc,
// TightVNC Xtightvnc) send for a scene and a sequence of changes, and checks
// that replaying a recording rebuilds exactly the framebuffer the live client
// decoded. With KIOSKWALL_RECORD=1 it also writes the recordings into
// testdata/sessions, where the decoder benchmarks read them:
//
//	KIOSKWALL_RECORD=1 go test ./rfb -run TestRecordRealSessions -v
func TestRecordRealSessions(t *testing.T) {
	realvnc.Require(t, "Xvnc", "Xtightvnc", "xwd", "xwud")
	opts := realvnc.Options{Width: 640, Height: 480, Password: "rec0rd!"}
	servers := map[string]*realvnc.Server{
		"xvnc":      realvnc.StartXvnc(t, opts),
		"xtightvnc": realvnc.StartXtightvnc(t, opts),
	}
	scene := realvnc.Scene(640, 480)
	for _, s := range servers {
		s.Show(t, scene, image.Point{})
	}
	for _, rec := range recordings() {
		t.Run(rec.label, func(t *testing.T) {
			srv := servers[rec.server]
			srv.Show(t, scene, image.Point{})
			var out bytes.Buffer
			live := &rfb.Buffer{}
			n := recordSession(t, srv, rec, &out, live)
			replayed := &rfb.Buffer{}
			c, err := rfb.NewReplay(bytes.NewReader(out.Bytes()), replayed)
			if err != nil {
				t.Fatal(err)
			}
			for {
				if _, err := c.Next(); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatalf("replaying the recording: %v", err)
				}
			}
			if !bytes.Equal(live.Pix, replayed.Pix) || live.Format != replayed.Format {
				t.Fatal("replaying the recording did not rebuild the framebuffer the live session decoded")
			}
			if os.Getenv("KIOSKWALL_RECORD") == "1" {
				path := filepath.Join("testdata", "sessions", rec.server+"-"+rec.label+".rfbrec")
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %d updates, %d bytes", path, n, out.Len())
			}
		})
	}
}

// recordSession takes a full frame, then three rounds of "change part of the
// screen, incremental update", recording everything the server sent.
func recordSession(t *testing.T, srv *realvnc.Server, rec recording, out *bytes.Buffer, fb *rfb.Buffer) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	encs := append([]rfb.Encoding{rec.enc}, rec.extra...)
	c, err := rfb.Dial(ctx, srv.Addr(), rfb.ClientConfig{Password: srv.Password(), Framebuffer: fb,
		PixelFormat: &rec.pf, Encodings: encs})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Record from the first update on: zlib streams start with it.
	if err := c.Record(out); err != nil {
		t.Fatal(err)
	}
	full := image.Rect(0, 0, c.Width(), c.Height())
	updates := 0
	read := func(incremental bool) {
		if err := c.Request(incremental, full); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Next(); err != nil {
			t.Fatal(err)
		}
		updates++
	}
	read(false)
	for i := 0; i < 3; i++ {
		patch := image.NewRGBA(image.Rect(0, 0, 200, 120))
		bg := []color.RGBA{{200, 30, 30, 255}, {30, 160, 60, 255}, {40, 60, 220, 255}}[i]
		draw.Draw(patch, patch.Rect, image.NewUniform(bg), image.Point{}, draw.Src)
		draw.Draw(patch, image.Rect(20, 20, 180, 100), realvnc.Scene(160, 80), image.Point{}, draw.Src)
		srv.Show(t, patch, image.Pt(60+100*i, 50+80*i))
		read(true)
	}
	return updates
}

// BenchmarkDecode replays each recording through the client's decoders into
// a Buffer: MB/s is framebuffer bytes updated per second; allocs/rect is the
// steady-state cost: the allocations of the updates after the first (once
// buffers are sized and zlib streams started), per rectangle of those updates.
//
//	go test ./rfb -run '^$' -bench BenchmarkDecode -benchmem
func BenchmarkDecode(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("testdata", "sessions", "*.rfbrec"))
	if len(files) == 0 {
		b.Skip("no recordings in testdata/sessions; record them with KIOSKWALL_RECORD=1")
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(path)
		b.Run(name[:len(name)-len(".rfbrec")], func(b *testing.B) {
			fb := &rfb.Buffer{}
			pixels, rects := replay(b, data, fb, -1) // warm-up: sizes the framebuffer
			_, firstRects := replay(b, data, fb, 1)
			first := testing.AllocsPerRun(3, func() { replay(b, data, fb, 1) })
			whole := testing.AllocsPerRun(3, func() { replay(b, data, fb, -1) })
			b.SetBytes(pixels)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				replay(b, data, fb, -1)
			}
			// Reported after the loop: ResetTimer drops metrics reported before it.
			b.ReportMetric(float64(rects), "rects/op")
			b.ReportMetric((whole-first)/float64(rects-firstRects), "allocs/rect")
		})
	}
}

// replay decodes the first maxUpdates updates of a recording (all when
// negative) and returns the framebuffer bytes their rectangles cover and how
// many rectangles they held.
func replay(b *testing.B, data []byte, fb *rfb.Buffer, maxUpdates int) (pixelBytes int64, rects int) {
	c, err := rfb.NewReplay(bytes.NewReader(data), fb)
	if err != nil {
		b.Fatal(err)
	}
	bpp := int64(c.PixelFormat().BytesPerPixel())
	for {
		msg, err := c.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return pixelBytes, rects
			}
			b.Fatal(fmt.Errorf("replaying: %w", err))
		}
		if u, ok := msg.(*rfb.Update); ok {
			for _, r := range u.Rects {
				pixelBytes += int64(r.Dx()*r.Dy()) * bpp
				rects++
			}
			if maxUpdates--; maxUpdates == 0 {
				return pixelBytes, rects
			}
		}
	}
}
