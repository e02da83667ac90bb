package wall

import (
	"bytes"
	"image"
	"net"
	"sync"
	"testing"
	"time"

	"kioskwall/internal/realvnc"
)

// recordingConn keeps every byte the browser side of the live view reads
// and writes.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	all bytes.Buffer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.all.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.all.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recordingConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.all.Bytes())
}

// TestLiveAgainstXvncWithPassword is the click-through against a real
// TigerVNC server that asks for VNC authentication: the viewer logs in with
// security None, sees Xvnc's screen as the X server itself shows it, and no
// byte between browser and kioskwall contains the kiosk's password.
func TestLiveAgainstXvncWithPassword(t *testing.T) {
	const password = "Kw7q!zP3" // VNC authentication uses at most 8 characters
	xvnc := realvnc.StartXvnc(t, realvnc.Options{Width: 640, Height: 400, Password: password})
	xvnc.Show(t, realvnc.Scene(640, 400), image.Point{})
	truth := xvnc.Truth(t)

	h := newLiveHarnessFor(t, []Target{{ID: "X1", Name: "Xvnc kiosk", Site: "lab", Addr: xvnc.Addr(), Password: password}}, nil)
	s := h.waitOnline("X1")

	ws, _, err := h.dial(liveURL("X1", nil), "binary")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingConn{Conn: newWSConn(ws)}
	v := h.connectViewerOn(ws, rec)
	if w, hh := v.c.Width(), v.c.Height(); w != 640 || hh != 400 {
		t.Errorf("ServerInit size %dx%d, want Xvnc's 640x400", w, hh)
	}
	// Live mode asks Xvnc for Tight with JPEG at quality 7: the scene's
	// noise and gradients come back slightly changed (about 0.4% of pixels
	// by more than 24), its flat parts exact.
	var diff float64
	deadline := time.Now().Add(20 * time.Second)
	for incremental := false; ; incremental = true {
		v.update(t, incremental)
		diff = livePictureDiff(v.fb.RGBA(v.fb.Bounds()), truth, 24)
		if diff < 0.01 || time.Now().After(deadline) {
			break
		}
	}
	if diff >= 0.01 {
		t.Errorf("viewer's picture differs from Xvnc's screen by more than 24 in %.2f%% of pixels", 100*diff)
	}
	if st := s.Status(); st.Format != LiveProfile.Format.String() {
		t.Errorf("kiosk session format %q while watched, want live mode's %q", st.Format, LiveProfile.Format.String())
	}
	// The browser side never carries the password, in either direction.
	if all := rec.bytes(); bytes.Contains(all, []byte(password)) {
		t.Errorf("the password appears in the %d bytes between browser and kioskwall", len(all))
	} else if len(all) < 10000 {
		t.Errorf("only %d bytes crossed the browser side; the scan proves little", len(all))
	}
}
