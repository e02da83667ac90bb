package realvnc

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// serverCases are the servers and depths the harness supports. tolerance is
// the largest channel error of the nearest colour the depth's visual has:
// half a step of its coarsest channel, rounded up.
var serverCases = []struct {
	name      string
	start     func(testing.TB, Options) *Server
	depth     int
	tolerance int
}{
	{"Xvnc/24", StartXvnc, 24, 0},
	{"Xvnc/16", StartXvnc, 16, 5},                // RGB565: 255/31/2
	{"Xtightvnc/24", StartXtightvnc, 24, 0},      //
	{"Xtightvnc/16", StartXtightvnc, 16, 5},      // RGB565
	{"Xtightvnc/8", StartXtightvnc, 8, 43},       // TrueColor BGR233: 255/3/2 for blue
	{"x11vnc/24", StartX11vnc, 24, 0},            //
	{"x11vnc/16", StartX11vnc, 16, 5},            // RGB565
	{"x11vnc/8-pseudocolor", StartX11vnc, 8, 26}, // 6x6x6 cube: 51/2
}

// TestServersShowAndTruth starts every server at every depth, shows the
// scene and then a smaller picture over part of it, and checks that the X
// server's own dump matches what was shown and that only the smaller
// picture's area changed.
func TestServersShowAndTruth(t *testing.T) {
	const w, h = 320, 240
	scene := Scene(w, h)
	patch := checkerboard(37, 23)
	patchAt := image.Pt(101, 57)
	for _, tc := range serverCases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t, Options{Width: w, Height: h, Depth: tc.depth, Password: "kiosk"})
			if gw, gh := s.Size(); gw != w || gh != h {
				t.Fatalf("Size() = %dx%d, want %dx%d", gw, gh, w, h)
			}

			s.Show(t, scene, image.Point{})
			first := s.Truth(t)
			if first.Rect != scene.Rect {
				t.Fatalf("Truth is %v, want %v", first.Rect, scene.Rect)
			}
			if d := within(first, first.Rect, scene, image.Point{}, tc.tolerance); d != "" {
				t.Fatalf("after Show(Scene): %s", d)
			}

			s.Show(t, patch, patchAt)
			second := s.Truth(t)
			area := image.Rectangle{Min: patchAt, Max: patchAt.Add(patch.Rect.Size())}
			if d := within(second, area, patch, image.Point{}, tc.tolerance); d != "" {
				t.Fatalf("after Show(patch) at %v: %s", patchAt, d)
			}
			for y := range h {
				for x := range w {
					if image.Pt(x, y).In(area) {
						continue
					}
					if second.RGBAAt(x, y) != first.RGBAAt(x, y) {
						t.Fatalf("Show(patch) at %v changed (%d,%d) outside its area: %v, was %v",
							patchAt, x, y, second.RGBAAt(x, y), first.RGBAAt(x, y))
					}
				}
			}
		})
	}
}

// within reports, as a message, pixels of area in got that differ from want
// (read from wantAt on) by more than tolerance in any channel; "" when none do.
func within(got *image.RGBA, area image.Rectangle, want *image.RGBA, wantAt image.Point, tolerance int) string {
	bad := 0
	var first string
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			g := got.RGBAAt(x, y)
			w := want.RGBAAt(x-area.Min.X+wantAt.X, y-area.Min.Y+wantAt.Y)
			if max(absDiff(g.R, w.R), absDiff(g.G, w.G), absDiff(g.B, w.B)) <= tolerance {
				continue
			}
			if bad == 0 {
				first = fmt.Sprintf("first at (%d,%d): got %v, want %v", x, y, g, w)
			}
			bad++
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d pixels differ by more than %d; %s", bad, area.Dx()*area.Dy(), tolerance, first)
}

// checkerboard is a picture unlike the scene anywhere: 3x3 squares of two
// colours that survive every depth's quantisation as different colours.
func checkerboard(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{0xff, 0x80, 0x00, 0xff}
			if (x/3+y/3)%2 == 1 {
				c = color.RGBA{0x00, 0x40, 0xa0, 0xff}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// TestServersGreetAndAuth checks the RFB version each server announces and
// that the security types follow Options.Password.
func TestServersGreetAndAuth(t *testing.T) {
	cases := []struct {
		name     string
		start    func(testing.TB, Options) *Server
		opts     Options
		version  string
		wantType byte // a security type the server must offer
		notType  byte // one it must not
	}{
		{"Xvnc/password", StartXvnc, Options{Password: "kiosk"}, "3.8", 2, 1},
		{"Xvnc/none", StartXvnc, Options{}, "3.8", 1, 2},
		{"Xvnc/3.3", StartXvnc, Options{Password: "kiosk", RFBVersion: "3.3"}, "3.3", 2, 1},
		{"Xtightvnc/password", StartXtightvnc, Options{Password: "kiosk"}, "3.8", 2, 1},
		{"Xtightvnc/none", StartXtightvnc, Options{}, "3.8", 1, 2},
		{"x11vnc/password", StartX11vnc, Options{Password: "kiosk"}, "3.8", 2, 1},
		{"x11vnc/none", StartX11vnc, Options{}, "3.8", 1, 2},
		{"x11vnc/3.3", StartX11vnc, Options{Password: "kiosk", RFBVersion: "3.3"}, "3.3", 2, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Width, tc.opts.Height = 64, 48
			s := tc.start(t, tc.opts)
			if s.Password() != tc.opts.Password {
				t.Errorf("Password() = %q, want %q", s.Password(), tc.opts.Password)
			}
			version, types, err := securityTypes(s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if version != tc.version {
				t.Errorf("server announces RFB %s, want %s", version, tc.version)
			}
			if !contains(types, tc.wantType) || contains(types, tc.notType) {
				t.Errorf("security types %v: want %d among them and %d not", types, tc.wantType, tc.notType)
			}
		})
	}
}

// securityTypes does the start of an RFB handshake by hand, independently
// of package rfb: it answers the server's version and returns the security
// types offered.
func securityTypes(addr string) (version string, types []byte, err error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return "", nil, err
	}
	greeting := make([]byte, 12)
	if _, err := io.ReadFull(c, greeting); err != nil {
		return "", nil, fmt.Errorf("greeting: %w", err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(string(greeting), "RFB %03d.%03d\n", &major, &minor); err != nil {
		return "", nil, fmt.Errorf("greeting %q: %w", greeting, err)
	}
	version = fmt.Sprintf("%d.%d", major, minor)
	if _, err := c.Write(greeting); err != nil {
		return "", nil, err
	}
	if minor == 3 {
		var b [4]byte // 3.3: the server decides, a 32-bit type
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return "", nil, err
		}
		return version, []byte{b[3]}, nil
	}
	var n [1]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return "", nil, err
	}
	if n[0] == 0 {
		return "", nil, errors.New("server offered no security types")
	}
	types = make([]byte, n[0])
	if _, err := io.ReadFull(c, types); err != nil {
		return "", nil, err
	}
	return version, types, nil
}

func contains(types []byte, t byte) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// TestCleanupStopsEverything checks that no process a server started, nor
// its X socket or port, outlives the test.
func TestCleanupStopsEverything(t *testing.T) {
	var pids []int
	var display, addr string
	t.Run("server", func(t *testing.T) {
		s := StartX11vnc(t, Options{Width: 64, Height: 48})
		s.Show(t, checkerboard(8, 8), image.Pt(3, 4))
		s.mu.Lock()
		for _, p := range s.procs {
			pids = append(pids, p.cmd.Process.Pid)
		}
		s.mu.Unlock()
		display, addr = s.Display(), s.Addr()
	})
	if len(pids) != 3 {
		t.Fatalf("x11vnc with one picture shown ran %d processes, want 3 (Xvfb, x11vnc, xwud)", len(pids))
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after the test (kill 0: %v)", pid, err)
		}
	}
	var n int
	fmt.Sscanf(display, ":%d", &n)
	if _, err := os.Stat(xSocket(n)); err == nil {
		t.Errorf("X socket %s left behind", xSocket(n))
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections", addr)
	}
}

// TestPictureMove checks that a moved picture shows at its new place and
// that what it covered before comes back, on every server at depth 24.
func TestPictureMove(t *testing.T) {
	const w, h = 200, 150
	scene := Scene(w, h)
	patch := checkerboard(40, 30)
	moves := []struct{ from, to image.Point }{
		{image.Pt(10, 10), image.Pt(25, 20)},   // overlapping the old place
		{image.Pt(25, 20), image.Pt(150, 110)}, // clear of it
	}
	for _, tc := range serverCases {
		if tc.depth != 24 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t, Options{Width: w, Height: h})
			s.Show(t, scene, image.Point{})
			pic := s.Show(t, patch, moves[0].from)
			for _, m := range moves {
				if pic.Bounds().Min != m.from {
					t.Fatalf("picture is at %v, want %v", pic.Bounds().Min, m.from)
				}
				pic.Move(t, m.to)
				want := image.NewRGBA(scene.Rect)
				copy(want.Pix, scene.Pix)
				for y := range patch.Rect.Dy() {
					for x := range patch.Rect.Dx() {
						want.SetRGBA(m.to.X+x, m.to.Y+y, patch.RGBAAt(x, y))
					}
				}
				if d := within(s.Truth(t), want.Rect, want, image.Point{}, 0); d != "" {
					t.Fatalf("after moving the picture to %v: %s", m.to, d)
				}
			}
		})
	}
}
