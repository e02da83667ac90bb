package wall

import (
	"context"
	"image"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"kioskwall/rfb"
	"kioskwall/rfb/sim"
)

// liveHarness is a live view in front of real synthetic kiosks: a sim fleet,
// a wall Fleet holding one session to each, and an HTTP server with the live
// routes mounted as the server mounts them.
type liveHarness struct {
	t     *testing.T
	sim   *sim.Fleet
	fleet *Fleet
	live  *Live
	srv   *httptest.Server
	audit *apiLogBuffer // a locked buffer: tests read it while viewers write it
}

// liveLogger sends a component's logs to the test's log while it runs.
func liveLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(liveLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type liveLogWriter struct{ t *testing.T }

func (w liveLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// newLiveHarness starts cfg's kiosks (in virtual time, so screens hold
// still unless input changes them), a fleet connected to them all, and the
// live routes. tweak may shorten the live view's timers before it serves.
func newLiveHarness(t *testing.T, cfg sim.Config, tweak func(*Live)) *liveHarness {
	t.Helper()
	if cfg.Size == (image.Point{}) {
		cfg.Size = image.Pt(640, 400)
	}
	cfg.VirtualTime = true
	sf, err := sim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sf.Close() })
	var targets []Target
	for _, k := range sf.Kiosks() {
		targets = append(targets, Target{ID: k.ID(), Name: k.Name(), Site: k.Site(), Addr: k.Addr(), Password: cfg.Password})
	}
	h := newLiveHarnessFor(t, targets, tweak)
	h.sim = sf
	return h
}

// newLiveHarnessFor serves the live view of any kiosks, such as real VNC
// servers.
func newLiveHarnessFor(t *testing.T, targets []Target, tweak func(*Live)) *liveHarness {
	t.Helper()
	log := liveLogger(t)
	fleet := NewFleet(NewTileStore(), FleetOptions{Ramp: time.Millisecond, Logger: log, Seed: 1,
		Backoff: Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, Auth: time.Second}})
	t.Cleanup(fleet.Close)
	fleet.Sync(targets)

	h := &liveHarness{t: t, fleet: fleet, audit: &apiLogBuffer{}}
	h.live = NewLive(fleet, log, h.audit)
	if tweak != nil {
		tweak(h.live)
	}
	e := echo.New()
	e.GET("/ws/vnc/:id", h.live.ServeVNC)
	e.GET("/websockify", h.live.ServeVNC)
	e.GET("/api/kiosks/:id/control", h.live.ServeControl)
	e.POST("/api/kiosks/:id/control", h.live.ServeControl)
	h.srv = httptest.NewServer(e)
	// Cleanups run last first: the live view ends before the fleet and sim.
	t.Cleanup(h.srv.Close)
	t.Cleanup(h.live.Close)
	return h
}

// waitOnline waits until kioskwall's session to kiosk id is online.
func (h *liveHarness) waitOnline(id string) *Session {
	h.t.Helper()
	s, ok := h.fleet.Session(id)
	if !ok {
		h.t.Fatalf("fleet has no session for %s", id)
	}
	waitFor(h.t, 10*time.Second, "session "+id+" online", func() bool { return s.Status().State == StateOnline })
	return s
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dial opens a raw WebSocket to path (with query) on the test server.
func (h *liveHarness) dial(path string, protocols ...string) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + path
	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: 5 * time.Second}
	return d.Dial(u, nil)
}

// liveURL is the live view path of kiosk id with query parameters.
func liveURL(id string, query url.Values) string {
	p := "/ws/vnc/" + url.PathEscape(id)
	if len(query) > 0 {
		p += "?" + query.Encode()
	}
	return p
}

// liveViewer is an RFB client of the live view, the way noVNC is one:
// rfb.NewClient over the client side of the WebSocket.
type liveViewer struct {
	ws  *websocket.Conn
	raw net.Conn // what the client reads and writes, before RFB
	c   *rfb.Client
	fb  *rfb.Buffer
}

// connectViewer opens the live view at path and runs the RFB handshake,
// asking for lossless encodings so pixels can be compared exactly.
func (h *liveHarness) connectViewer(path string) *liveViewer {
	h.t.Helper()
	ws, _, err := h.dial(path, "binary")
	if err != nil {
		h.t.Fatalf("dialling %s: %v", path, err)
	}
	return h.connectViewerOn(ws, newWSConn(ws))
}

// connectViewerOn runs the RFB handshake on raw, the client side of the
// live view's WebSocket ws (or a wrapper around it).
func (h *liveHarness) connectViewerOn(ws *websocket.Conn, raw net.Conn) *liveViewer {
	h.t.Helper()
	v := &liveViewer{ws: ws, raw: raw, fb: rfb.NewBuffer(1, 1, rfb.Format32)}
	h.t.Cleanup(func() { v.raw.Close() })
	var err error
	// The client's context would end the session with it; ReadTimeout
	// bounds the handshake instead.
	v.c, err = rfb.NewClient(context.Background(), v.raw, rfb.ClientConfig{
		Framebuffer: v.fb,
		PixelFormat: &rfb.Format32,
		Encodings:   []rfb.Encoding{rfb.EncCopyRect, rfb.EncZRLE, rfb.EncRaw},
		ReadTimeout: 10 * time.Second,
	})
	if err != nil {
		h.t.Fatalf("RFB handshake with the live view: %v", err)
	}
	return v
}

// update asks for an update and reads until one arrives.
func (v *liveViewer) update(t *testing.T, incremental bool) *rfb.Update {
	t.Helper()
	if err := v.c.Request(incremental, image.Rect(0, 0, v.c.Width(), v.c.Height())); err != nil {
		t.Fatalf("sending an update request: %v", err)
	}
	for {
		m, err := v.c.Next()
		if err != nil {
			t.Fatalf("reading an update: %v", err)
		}
		if u, ok := m.(*rfb.Update); ok {
			return u
		}
	}
}

// liveDesktopRGBA converts a Desktop's pixels to RGBA under its lock.
func liveDesktopRGBA(d *rfb.Desktop) *image.RGBA {
	var img *image.RGBA
	d.Draw(func(b *rfb.Buffer) []image.Rectangle {
		img = b.RGBA(b.Bounds())
		return nil
	})
	return img
}

// livePictureDiff is how far two pictures differ: the share of pixels whose
// largest channel difference exceeds tolerance. Different sizes differ
// completely.
func livePictureDiff(a, b *image.RGBA, tolerance int) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 1
	}
	r := a.Bounds()
	off := b.Bounds().Min.Sub(r.Min)
	bad := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i, j := a.PixOffset(x, y), b.PixOffset(x+off.X, y+off.Y)
			for c := range 3 {
				d := int(a.Pix[i+c]) - int(b.Pix[j+c])
				if d > tolerance || -d > tolerance {
					bad++
					break
				}
			}
		}
	}
	return float64(bad) / float64(r.Dx()*r.Dy())
}
