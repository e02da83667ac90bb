package realvnc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// startAttempts bounds retries: another test may take the display or port
	// we picked between our check and the server's bind.
	startAttempts = 3
	// startTimeout bounds one attempt; generous because CI shares two cores
	// between many test binaries.
	startTimeout = 30 * time.Second
)

// StartXvnc starts TigerVNC's Xvnc (run directly, not through the vncserver
// wrapper) at depth 16 or 24, and stops it when the test ends.
func StartXvnc(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t, "Xvnc", "xwd", "xwud")
	opts = opts.withDefaults()
	if opts.Depth != 16 && opts.Depth != 24 {
		t.Fatalf("realvnc: Xvnc 1.12 cannot run at depth %d (it fails with \"Couldn't add screen\"); use 16 or 24", opts.Depth)
	}
	var extra []string
	switch opts.RFBVersion {
	case "", "3.8":
	case "3.3":
		extra = append(extra, "-Protocol3.3")
	default:
		t.Fatalf("realvnc: Xvnc announces RFB 3.8, or 3.3 when asked; not %q", opts.RFBVersion)
	}
	return start(t, "Xvnc", opts, func(s *Server, port int) error {
		args := []string{
			"-geometry", fmt.Sprintf("%dx%d", opts.Width, opts.Height),
			"-depth", strconv.Itoa(opts.Depth),
			"-rfbport", strconv.Itoa(port), "-interface", "127.0.0.1",
			"-desktop", "kioskwall-xvnc",
			"-AlwaysShared", "-nolisten", "tcp", "-s", "0",
		}
		if opts.Password == "" {
			args = append(args, "-SecurityTypes", "None")
		} else {
			args = append(args, "-SecurityTypes", "VncAuth", "-PasswordFile", s.passwordFile())
		}
		args = append(args, extra...)
		p, err := s.startX("Xvnc", args)
		if err != nil {
			return err
		}
		return s.waitRFB(p)
	})
}

// StartXtightvnc starts TightVNC 1.3.10's Xtightvnc at depth 8, 16 or 24 and
// stops it when the test ends. Debian's build announces RFB 3.8 and offers
// the Tight security type.
func StartXtightvnc(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t, "Xtightvnc", "xwd", "xwud")
	opts = opts.withDefaults()
	if opts.Depth != 8 && opts.Depth != 16 && opts.Depth != 24 {
		t.Fatalf("realvnc: Xtightvnc runs at depth 8, 16 or 24, not %d", opts.Depth)
	}
	if opts.RFBVersion != "" && opts.RFBVersion != "3.8" {
		t.Fatalf("realvnc: Xtightvnc has no option to announce RFB %s", opts.RFBVersion)
	}
	return start(t, "Xtightvnc", opts, func(s *Server, port int) error {
		// Xtightvnc predates -displayfd: pick a display that looks free and
		// rely on the retry when another server takes it first.
		n := freeDisplay()
		s.display = ":" + strconv.Itoa(n)
		args := []string{
			s.display,
			"-geometry", fmt.Sprintf("%dx%d", opts.Width, opts.Height),
			"-depth", strconv.Itoa(opts.Depth),
			"-rfbport", strconv.Itoa(port), "-interface", "127.0.0.1",
			"-desktop", "kioskwall-xtightvnc",
			"-alwaysshared", "-nolisten", "tcp", "-s", "0",
		}
		if opts.Password != "" {
			args = append(args, "-rfbauth", s.passwordFile())
		}
		p, err := startProc(s.dir, "Xtightvnc.log", "Xtightvnc", args)
		if err != nil {
			return err
		}
		s.adopt(p)
		if err := s.waitRFB(p); err != nil {
			return err
		}
		return waitXSocket(p, n, time.Now().Add(startTimeout))
	})
}

// StartX11vnc starts x11vnc (libvncserver) sharing its own Xvfb at depth 8,
// 16 or 24, and stops both when the test ends. Options.RFBVersion "3.3"
// makes it speak RFB 3.3.
func StartX11vnc(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t, "x11vnc", "Xvfb", "xwd", "xwud")
	opts = opts.withDefaults()
	if opts.Depth != 8 && opts.Depth != 16 && opts.Depth != 24 {
		t.Fatalf("realvnc: x11vnc's Xvfb runs at depth 8, 16 or 24 here, not %d", opts.Depth)
	}
	switch opts.RFBVersion {
	case "", "3.3", "3.7", "3.8":
	default:
		t.Fatalf("realvnc: x11vnc speaks RFB 3.3, 3.7 or 3.8, not %q", opts.RFBVersion)
	}
	return start(t, "x11vnc", opts, func(s *Server, port int) error {
		if _, err := s.startX("Xvfb", []string{
			"-screen", "0", fmt.Sprintf("%dx%dx%d", opts.Width, opts.Height, opts.Depth),
			"-nolisten", "tcp", "-s", "0",
		}); err != nil {
			return err
		}
		args := []string{
			"-display", s.display,
			"-rfbport", strconv.Itoa(port), "-listen", "127.0.0.1", "-noipv6",
			"-desktop", "kioskwall-x11vnc",
			"-forever", "-shared", "-norc", "-noncache", "-nopw", "-nolookup",
		}
		if opts.Password != "" {
			args = append(args, "-rfbauth", s.passwordFile())
		}
		if opts.RFBVersion != "" {
			args = append(args, "-rfbversion", opts.RFBVersion)
		}
		p, err := startProc(s.dir, "x11vnc.log", "x11vnc", args)
		if err != nil {
			return err
		}
		s.adopt(p)
		return s.waitRFB(p)
	})
}

// start runs launch until a server comes up, at most startAttempts times,
// each time with a fresh port, and registers the cleanup that stops it.
func start(t testing.TB, kind string, opts Options, launch func(s *Server, port int) error) *Server {
	t.Helper()
	dir := t.TempDir()
	var errs []error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("realvnc: %v", err)
		}
		s := &Server{kind: kind, opts: opts, dir: dir, password: opts.Password,
			addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
		if opts.Password != "" {
			if err := os.WriteFile(s.passwordFile(), vncPasswordFile(opts.Password), 0o600); err != nil {
				t.Fatalf("realvnc: %v", err)
			}
		}
		t.Cleanup(s.stop)
		err = launch(s, port)
		if err == nil {
			return s
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w%s", attempt, err, s.logTails()))
		s.stop()
	}
	t.Fatalf("realvnc: %s did not start: %v", kind, errors.Join(errs...))
	return nil
}

// passwordFile is where the server's VNC password file lives.
func (s *Server) passwordFile() string { return filepath.Join(s.dir, "passwd") }

// startX starts an X server that supports -displayfd, which picks a free
// display itself and reports it once clients can connect, and records the
// display.
func (s *Server) startX(name string, args []string) (*proc, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	p, err := startProc(s.dir, name+".log", name, append([]string{"-displayfd", "3"}, args...), w)
	w.Close() // the child holds the write end now; EOF tells us it died
	if err != nil {
		return nil, err
	}
	s.adopt(p)
	if err := r.SetReadDeadline(time.Now().Add(startTimeout)); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	n, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil || n < 0 {
		return nil, fmt.Errorf("%s did not report its display on -displayfd (read %q, %v)", name, line, err)
	}
	s.display = ":" + strconv.Itoa(n)
	return p, nil
}

// waitRFB waits until the server's port greets with an RFB version, checks it
// against Options.RFBVersion, and makes sure the greeting came from our
// process, not from another program that holds the port.
func (s *Server) waitRFB(p *proc) error {
	deadline := time.Now().Add(startTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited while starting", p.name)
		}
		version, err := rfbGreeting(s.addr)
		if err != nil {
			lastErr = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if want := s.opts.RFBVersion; want != "" && version != want {
			return fmt.Errorf("%s announces RFB %s, want %s", s.kind, version, want)
		}
		// A server that lost the race for its port or display exits at once.
		time.Sleep(100 * time.Millisecond)
		if p.exited() {
			return fmt.Errorf("%s exited right after starting", p.name)
		}
		return nil
	}
	return fmt.Errorf("%s: no RFB greeting on %s within %v: %v", p.name, s.addr, startTimeout, lastErr)
}

// rfbGreeting connects to addr and returns the version in the server's
// ProtocolVersion message, such as "3.8".
func rfbGreeting(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	var b [12]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return "", fmt.Errorf("reading the RFB greeting: %w", err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(string(b[:]), "RFB %03d.%03d\n", &major, &minor); err != nil {
		return "", fmt.Errorf("greeting %q is not an RFB ProtocolVersion", b[:])
	}
	return fmt.Sprintf("%d.%d", major, minor), nil
}

// waitXSocket waits until X display n accepts connections on its socket.
func waitXSocket(p *proc, n int, deadline time.Time) error {
	path := xSocket(n)
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited while starting", p.name)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: X display :%d not accepting on %s", p.name, n, path)
}

func xSocket(n int) string { return fmt.Sprintf("/tmp/.X11-unix/X%d", n) }

// freeDisplay returns an X display number with no lock file and no socket,
// starting at a random point so that test binaries running side by side
// rarely pick the same one.
func freeDisplay() int {
	const lo, hi = 200, 1000
	start := lo + rand.IntN(hi-lo)
	for i := range hi - lo {
		n := lo + (start-lo+i)%(hi-lo)
		if exists(fmt.Sprintf("/tmp/.X%d-lock", n)) || exists(xSocket(n)) {
			continue
		}
		return n
	}
	return start // all look taken: let the server say why it cannot start
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
