package rfb

import (
	"errors"
	"fmt"
	"image"
	"net"
	"strings"
	"testing"
	"time"

	vnc "github.com/mitchellh/go-vnc"
)

// go-vnc is an independent RFB 3.8 client that decodes Raw: what it sees of
// a served Desktop is checked against what was drawn.

func TestServeToGoVNC(t *testing.T) {
	// go-vnc's SetPixelFormat does not switch its own decoder, so each
	// desktop is seen in its native format here; conversions to other client
	// formats are checked with rfb.Client in server_roundtrip_test.go.
	for _, tc := range []struct {
		name     string
		password string
		desktop  PixelFormat
	}{
		{"none/32bpp", "", Format32},
		{"vncauth/32bpp", "s3cret!", Format32},
		{"vncauth/colour-mapped", "kiosk", ColourMapped()},
		{"none/16bpp", "", Format16},
		{"vncauth/bgr233", "kiosk", Format8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const w, h = 72, 40
			d := newSceneDesktop(w, h, tc.desktop, 3)
			inputs := make(chan InputEvent, 16)
			srv := startServer(t, d, ServerConfig{Name: "Registration West 1", Password: tc.password,
				OnInput: func(ev InputEvent) { inputs <- ev }})
			var auth []vnc.ClientAuth = []vnc.ClientAuth{new(vnc.ClientAuthNone)}
			if tc.password != "" {
				auth = []vnc.ClientAuth{&vnc.PasswordAuth{Password: tc.password}}
			}
			conn, err := net.Dial("tcp", srv.addr)
			if err != nil {
				t.Fatal(err)
			}
			msgs := make(chan vnc.ServerMessage, 64)
			c, err := vnc.Client(conn, &vnc.ClientConfig{Auth: auth, ServerMessageCh: msgs})
			if err != nil {
				t.Fatalf("go-vnc handshake: %v", err)
			}
			if c.FrameBufferWidth != w || c.FrameBufferHeight != h || c.DesktopName != "Registration West 1" {
				t.Fatalf("ServerInit: %dx%d %q", c.FrameBufferWidth, c.FrameBufferHeight, c.DesktopName)
			}
			pf := c.PixelFormat
			if want := tc.desktop.Marshal(); pf.BPP != want[0] || pf.TrueColor != tc.desktop.TrueColour || pf.RedMax != tc.desktop.RedMax || pf.BlueShift != tc.desktop.BlueShift {
				t.Fatalf("ServerInit pixel format %+v, want the desktop's %v", pf, tc.desktop)
			}
			if err := c.SetEncodings([]vnc.Encoding{&vnc.RawEncoding{}}); err != nil {
				t.Fatal(err)
			}

			// The initial full frame.
			if err := c.FramebufferUpdateRequest(false, 0, 0, w, h); err != nil {
				t.Fatal(err)
			}
			screen := image.NewRGBA(image.Rect(0, 0, w, h))
			rects := readGoVNCUpdate(t, msgs, pf, screen)
			if got := unionOf(rects); got != screen.Bounds() {
				t.Fatalf("initial update covers %v, want the whole %v", got, screen.Bounds())
			}
			compareRGB(t, screen, desktopRGB(d), pf.RedMax, pf.GreenMax, pf.BlueMax)

			// An incremental update brings only the changed area.
			changed := image.Rect(20, 30, 31, 35)
			if err := c.FramebufferUpdateRequest(true, 0, 0, w, h); err != nil {
				t.Fatal(err)
			}
			fillDesktop(d, changed, [3]uint8{0xff, 0x20, 0x10})
			rects = readGoVNCUpdate(t, msgs, pf, screen)
			for _, r := range rects {
				if !r.In(changed) {
					t.Errorf("incremental update sent %v, outside the changed %v", r, changed)
				}
			}
			if got := unionOf(rects); got != changed {
				t.Errorf("incremental update covers %v, want %v", got, changed)
			}
			compareRGB(t, screen, desktopRGB(d), pf.RedMax, pf.GreenMax, pf.BlueMax)

			// Input reaches OnInput in order.
			if err := c.KeyEvent(0xff0d, true); err != nil {
				t.Fatal(err)
			}
			if err := c.PointerEvent(vnc.ButtonLeft|vnc.ButtonRight, 17, 33); err != nil {
				t.Fatal(err)
			}
			if err := c.CutText("patient 4711"); err != nil {
				t.Fatal(err)
			}
			want := []InputEvent{
				{Kind: InputKey, Down: true, Key: 0xff0d},
				{Kind: InputPointer, Buttons: 5, X: 17, Y: 33},
				{Kind: InputCutText, Text: "patient 4711"},
			}
			for i, w := range want {
				select {
				case got := <-inputs:
					if got != w {
						t.Errorf("input %d = %+v, want %+v", i, got, w)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("input %d (%v) never arrived", i, w.Kind)
				}
			}

			c.Close()
			if err := srv.result(t); err != nil {
				t.Errorf("Serve after the client left: %v, want nil", err)
			}
		})
	}
}

func TestServeRefusesWrongPasswordToGoVNC(t *testing.T) {
	d := NewDesktop(16, 16, Format32)
	srv := startServer(t, d, ServerConfig{Password: "right"})
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	_, err = vnc.Client(conn, &vnc.ClientConfig{Auth: []vnc.ClientAuth{&vnc.PasswordAuth{Password: "wrong"}}})
	if err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Errorf("go-vnc with a wrong password: %v, want a refusal with the reason", err)
	}
	if err := srv.result(t); !errors.Is(err, ErrClientAuthFailed) {
		t.Errorf("Serve: %v, want ErrClientAuthFailed", err)
	}
}

// readGoVNCUpdate waits for a FramebufferUpdate, paints its rectangles into
// screen and returns them.
func readGoVNCUpdate(t *testing.T, msgs <-chan vnc.ServerMessage, pf vnc.PixelFormat, screen *image.RGBA) []image.Rectangle {
	t.Helper()
	for {
		select {
		case m := <-msgs:
			u, ok := m.(*vnc.FramebufferUpdateMessage)
			if !ok {
				continue // colour map entries: go-vnc applies them itself
			}
			var rects []image.Rectangle
			for _, r := range u.Rectangles {
				rr := image.Rect(int(r.X), int(r.Y), int(r.X)+int(r.Width), int(r.Y)+int(r.Height))
				rects = append(rects, rr)
				raw := r.Enc.(*vnc.RawEncoding)
				for i, c := range raw.Colors {
					x, y := rr.Min.X+i%rr.Dx(), rr.Min.Y+i/rr.Dx()
					o := screen.PixOffset(x, y)
					if pf.TrueColor {
						screen.Pix[o], screen.Pix[o+1], screen.Pix[o+2] = scaleTo8(c.R, pf.RedMax), scaleTo8(c.G, pf.GreenMax), scaleTo8(c.B, pf.BlueMax)
					} else {
						screen.Pix[o], screen.Pix[o+1], screen.Pix[o+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
					}
					screen.Pix[o+3] = 0xff
				}
			}
			return rects
		case <-time.After(5 * time.Second):
			t.Fatal("no FramebufferUpdate within 5 s")
		}
	}
}

// scaleTo8 widens a channel of maximum max to 0..255 (rounded).
func scaleTo8(v, max uint16) uint8 {
	return uint8((uint32(v)*255 + uint32(max)/2) / uint32(max))
}

func unionOf(rects []image.Rectangle) image.Rectangle {
	var u image.Rectangle
	for _, r := range rects {
		u = u.Union(r)
	}
	return u
}

// compareRGB checks that got shows want within one quantisation step of
// each channel of the given maximum; 8-bit channels and colour maps (max 0)
// must match exactly.
func compareRGB(t *testing.T, got, want *image.RGBA, rmax, gmax, bmax uint16) {
	t.Helper()
	tol := [3]int{channelStep(rmax), channelStep(gmax), channelStep(bmax)}
	bad := 0
	for i := 0; i < len(want.Pix); i += 4 {
		for ch := 0; ch < 3; ch++ {
			if diff := int(got.Pix[i+ch]) - int(want.Pix[i+ch]); diff > tol[ch] || -diff > tol[ch] {
				if bad++; bad <= 5 {
					p := i / 4
					t.Errorf("pixel (%d,%d) channel %d: got %d, want %d (tolerance %d)",
						p%want.Rect.Dx(), p/want.Rect.Dx(), ch, got.Pix[i+ch], want.Pix[i+ch], tol[ch])
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s", fmt.Sprintf("%d channel values differ in all", bad))
	}
}
