package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskwall/internal/realvnc"
	"kioskwall/wall"
)

// TestCheck runs the check command against a synthetic kiosk (rfb/sim, a
// real RFB server on loopback): every line an operator reads is there, and
// each failure comes with its hint.
func TestCheck(t *testing.T) {
	const pw = "chk-pass"
	kiosks := startServeSim(t, 1, "127.0.8.1", pw)
	addr := kiosks.Kiosks()[0].Addr()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var out bytes.Buffer
	if err := check(ctx, &out, addr, pw, true); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	text := out.String()
	want := []string{"protocol    RFB 3.8", "security    offered [VNC authentication (2)]", "auth        ok",
		"desktop     640x360", "round trip", "raw", "hextile", "zrle", "tight+jpeg q8", "total",
		"thumbnails  one full 640x360 frame per candidate", "identical", "policy      picks "}
	for _, c := range wall.EncodingCandidates {
		want = append(want, "  "+c.Name+"  ")
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("check output lacks %q:\n%s", w, text)
		}
	}
	// The synthetic kiosk's light background turns cyan at 8 bpp.
	if strings.Contains(text, "picks 8bpp") {
		t.Errorf("the policy picked 8 bpp for a light screen:\n%s", text)
	}
	if strings.Contains(text, pw) {
		t.Error("check printed the password")
	}

	out.Reset()
	if err := check(ctx, &out, addr, pw, false); err != nil {
		t.Fatalf("check without costs: %v\n%s", err, out.String())
	}
	if text := out.String(); !strings.Contains(text, "round trip") || !strings.Contains(text, "total") ||
		strings.Contains(text, "thumbnails") || strings.Contains(text, "full frame") {
		t.Errorf("check without costs printed:\n%s", text)
	}

	failures := []struct {
		name, addr, password, hint string
	}{
		{"wrong password", addr, "wrong-pw", "the password is wrong"},
		{"nothing listens", closedPort(t), pw, "nothing listens there"},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			var out bytes.Buffer
			err := check(ctx, &out, f.addr, f.password, true)
			if err == nil || !strings.Contains(err.Error(), "hint: "+f.hint) {
				t.Errorf("error %v, want the hint %q", err, f.hint)
			}
			if strings.Contains(out.String()+err.Error(), f.password) {
				t.Error("the password was shown")
			}
		})
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestSnapshotMatchesXvnc saves a snapshot of a real TigerVNC Xvnc showing a
// known scene and compares it with the X server's own dump.
func TestSnapshotMatchesXvnc(t *testing.T) {
	realvnc.Require(t, "Xvnc", "xwd", "xwud")
	srv := realvnc.StartXvnc(t, realvnc.Options{Width: 640, Height: 480, Password: "snap-pw"})
	srv.Show(t, realvnc.Scene(640, 480), image.Point{})
	truth := srv.Truth(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("snap-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "snap.png")
	if err := runSnapshot(context.Background(), []string{"-encodings", "tight,zrle", "-password-file", pwFile, srv.Addr(), out}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != truth.Bounds() {
		t.Fatalf("snapshot is %v, the screen %v", img.Bounds(), truth.Bounds())
	}
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			w := truth.RGBAAt(x, y)
			if uint8(r>>8) != w.R || uint8(g>>8) != w.G || uint8(b>>8) != w.B {
				t.Fatalf("pixel (%d,%d) is %d,%d,%d, the screen shows %d,%d,%d", x, y, r>>8, g>>8, b>>8, w.R, w.G, w.B)
			}
		}
	}
}
