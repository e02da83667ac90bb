// Package realvnc starts real VNC servers from Debian's packages for
// integration tests, and tells the tests what their screens really show.
//
// A test starts a server (StartXvnc, StartXtightvnc, StartX11vnc), puts
// pictures on its X display with Show, and compares what an RFB client decoded
// with Truth: the X server's own dump of the screen, independent of any VNC
// code. Every server runs on a free X display and a free loopback port, keeps
// its files in the test's temporary directory, and is stopped, with every
// process it started, when the test ends.
//
// When a program is missing the test is skipped, naming the Debian package
// to install; with KIOSKWALL_REQUIRE_INTEGRATION=1 (as CI sets it) it fails
// instead, so that CI cannot pass by silently testing nothing.
package realvnc

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// requireEnv names the variable that turns skips for missing programs into failures.
const requireEnv = "KIOSKWALL_REQUIRE_INTEGRATION"

// debianPackages maps the programs integration tests run to the Debian
// packages that provide them, so that a skip says what to install.
var debianPackages = map[string]string{
	"Xvnc":       "tigervnc-standalone-server",
	"vncpasswd":  "tigervnc-tools",
	"Xtightvnc":  "tightvncserver",
	"x11vnc":     "x11vnc",
	"Xvfb":       "xvfb",
	"xdotool":    "xdotool",
	"xwd":        "x11-apps",
	"xwud":       "x11-apps",
	"xdpyinfo":   "x11-utils",
	"xwininfo":   "x11-utils",
	"websockify": "websockify",
	"chromium":   "chromium",
	"mariadbd":   "mariadb-server",
	"slapd":      "slapd",
}

// Require skips the test when one of programs is not on PATH, naming the
// Debian packages that provide the missing ones. When the environment has
// KIOSKWALL_REQUIRE_INTEGRATION=1 it fails the test instead.
func Require(t testing.TB, programs ...string) {
	t.Helper()
	var missing []string
	pkgs := map[string]bool{}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err == nil {
			continue
		}
		missing = append(missing, p)
		if pkg, ok := debianPackages[p]; ok {
			pkgs[pkg] = true
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("integration test needs %s, not found on PATH", strings.Join(missing, ", "))
	if len(pkgs) > 0 {
		names := make([]string, 0, len(pkgs))
		for p := range pkgs {
			names = append(names, p)
		}
		sort.Strings(names)
		msg += fmt.Sprintf("; install with: apt-get install %s (or run ./scripts/test as root)", strings.Join(names, " "))
	}
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s [%s=1 makes this a failure]", msg, requireEnv)
	}
	t.Skip(msg)
}

// Options say what screen a server has and how clients log in.
type Options struct {
	// Width and Height of the screen; 800x600 when zero.
	Width, Height int
	// Depth of the X screen: 24 when zero. Xvnc 1.12 runs at 16 and 24,
	// Xtightvnc and x11vnc's Xvfb at 8, 16 and 24. At depth 8 Xtightvnc's
	// visual is TrueColor BGR233 and Xvfb's is PseudoColor.
	Depth int
	// Password for VNC authentication; empty means no authentication.
	Password string
	// RFBVersion, if set, is the protocol version the server announces:
	// "3.3", "3.7" or "3.8" for x11vnc, only "3.3" for Xvnc; Xtightvnc
	// cannot be told.
	RFBVersion string
}

func (o Options) withDefaults() Options {
	if o.Width == 0 {
		o.Width = 800
	}
	if o.Height == 0 {
		o.Height = 600
	}
	if o.Depth == 0 {
		o.Depth = 24
	}
	return o
}

// Server is one running VNC server and its X display.
type Server struct {
	kind     string // the program tests talk to, for messages
	opts     Options
	dir      string
	addr     string
	display  string
	password string

	mu    sync.Mutex
	procs []*proc // every process started for this server, stopped in reverse order
	shows int     // Show calls so far, to name their files
}

// Addr is the server's RFB address, 127.0.0.1:port.
func (s *Server) Addr() string { return s.addr }

// Display is the X display the server shows, such as ":12".
func (s *Server) Display() string { return s.display }

// displayNumber is the display's number, 12 for ":12".
func (s *Server) displayNumber() int {
	n, _ := strconv.Atoi(strings.TrimPrefix(s.display, ":"))
	return n
}

// Password is the VNC password, empty when the server asks for none.
func (s *Server) Password() string { return s.password }

// Size is the screen size.
func (s *Server) Size() (width, height int) { return s.opts.Width, s.opts.Height }

// String names the server for test messages, such as "Xtightvnc :3 127.0.0.1:40000 depth 24".
func (s *Server) String() string {
	return fmt.Sprintf("%s %s %s depth %d", s.kind, s.display, s.addr, s.opts.Depth)
}

// adopt records a process so that the server's cleanup stops it.
func (s *Server) adopt(p *proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs = append(s.procs, p)
}

// stop ends every process of the server, the last started first, so that
// clients of the X server go before it.
func (s *Server) stop() {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
}

// logTails returns the end of every process's log, for failure messages.
func (s *Server) logTails() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, p := range s.procs {
		b.WriteString(p.tail())
	}
	return b.String()
}
