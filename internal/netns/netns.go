// Package netns builds a real capped line for tests: a network namespace
// joined to the host by a veth pair, with a tbf qdisc shaping what leaves
// the namespace. Kiosks listen inside the namespace, kioskwall dials them
// from the host, and every byte a kiosk sends crosses the shaper, as it
// would cross a campus's leased line. Loopback has no such line: its
// "bandwidth" is memory speed, so only a shaper shows whether reads paced
// on the receiving side keep a line below saturation.
//
// It needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and the ip and tc programs
// of iproute2; Start skips a test where they are not there or not permitted.
package netns

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Config is the shaper of a line, in tc's own words.
type Config struct {
	Rate    string // e.g. "2mbit" (tc reads "mbit" as megabits per second)
	Burst   string // bucket size; default "8kb"
	Latency string // the longest a packet may queue before tbf drops it; default "100ms"
}

// Line is a namespace behind a shaper. HostAddr is the host's end of the
// veth pair, KioskAddr the namespace's.
type Line struct {
	Namespace string
	HostIf    string
	KioskIf   string
	HostAddr  netip.Addr
	KioskAddr netip.Addr
}

// ErrUnavailable is wrapped by New's error when the machine cannot make a
// line: the programs are missing or the kernel refuses (not root, or a
// container without the capabilities).
var ErrUnavailable = errors.New("network namespaces with tc are not available here")

const requireEnv = "KIOSKWALL_REQUIRE_INTEGRATION"

// Start makes a line for a test and removes it when the test ends. Where
// namespaces are not permitted the test is skipped with the reason; where
// ip or tc is missing it is skipped too, or fails when
// KIOSKWALL_REQUIRE_INTEGRATION=1, as the other integration tests do.
func Start(t testing.TB, cfg Config) *Line {
	t.Helper()
	for _, prog := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(prog); err != nil {
			msg := fmt.Sprintf("capped-line test needs %s (Debian package iproute2), not found on PATH", prog)
			if os.Getenv(requireEnv) == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	l, err := New(cfg)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("capped-line test skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("removing the capped line: %v", err)
		}
	})
	return l
}

// New creates the namespace, the veth pair with a random /30 of
// 10.201.0.0/16, and the shaper. Close removes them.
func New(cfg Config) (*Line, error) {
	if cfg.Rate == "" {
		return nil, errors.New("netns: a line needs a rate, such as 2mbit")
	}
	if cfg.Burst == "" {
		cfg.Burst = "8kb"
	}
	if cfg.Latency == "" {
		cfg.Latency = "100ms"
	}
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	l := &Line{Namespace: "kioskwall-" + id, HostIf: "kwh" + id, KioskIf: "kwk" + id}
	if l.HostAddr, l.KioskAddr, err = freeSubnet(); err != nil {
		return nil, err
	}
	if err := run("ip", "netns", "add", l.Namespace); err != nil {
		if isPermission(err) {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return nil, err
	}
	steps := [][]string{
		{"ip", "link", "add", l.HostIf, "type", "veth", "peer", "name", l.KioskIf, "netns", l.Namespace},
		// Without IPv6 link-local addresses: the kernel adds one a second
		// or two after the link comes up, and a browser on the host reads
		// that late change as a new network and fails the page it is
		// loading (Chromium: ERR_NETWORK_CHANGED).
		{"ip", "link", "set", "dev", l.HostIf, "addrgenmode", "none"},
		{"ip", "-n", l.Namespace, "link", "set", "dev", l.KioskIf, "addrgenmode", "none"},
		{"ip", "addr", "add", l.HostAddr.String() + "/30", "dev", l.HostIf},
		{"ip", "link", "set", l.HostIf, "up"},
		{"ip", "-n", l.Namespace, "addr", "add", l.KioskAddr.String() + "/30", "dev", l.KioskIf},
		{"ip", "-n", l.Namespace, "link", "set", l.KioskIf, "up"},
		{"ip", "-n", l.Namespace, "link", "set", "lo", "up"},
		{"tc", "-n", l.Namespace, "qdisc", "add", "dev", l.KioskIf, "root", "tbf",
			"rate", cfg.Rate, "burst", cfg.Burst, "latency", cfg.Latency},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			l.Close()
			if isPermission(err) {
				return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			return nil, err
		}
	}
	return l, nil
}

// Close removes the veth pair and the namespace. Sockets still open in the
// namespace keep it alive in the kernel until they close, but its name and
// interfaces are gone at once.
func (l *Line) Close() error {
	var errs []error
	if err := run("ip", "link", "del", l.HostIf); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
		errs = append(errs, err)
	}
	if err := run("ip", "netns", "del", l.Namespace); err != nil && !strings.Contains(err.Error(), "No such file") {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Listen opens a listener inside the namespace, on KioskAddr at port (0 for
// any free one). A socket belongs to the namespace of the thread that
// created it, so the listener and every connection it accepts stay behind
// the shaper while they are served from any goroutine.
func (l *Line) Listen(port int) (net.Listener, error) {
	var ln net.Listener
	var lerr error
	err := l.do(func() {
		ln, lerr = net.Listen("tcp", netip.AddrPortFrom(l.KioskAddr, uint16(port)).String())
	})
	if err != nil {
		return nil, err
	}
	return ln, lerr
}

// do runs f on an OS thread switched into the namespace. If the thread
// cannot be switched back it stays locked, and Go ends it with the
// goroutine instead of reusing it elsewhere.
func (l *Line) do(f func()) error {
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: the thread's own namespace: %w", err)
	}
	defer home.Close()
	target, err := os.Open("/run/netns/" + l.Namespace)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: namespace %s: %w", l.Namespace, err)
	}
	defer target.Close()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: entering %s: %w", l.Namespace, err)
	}
	f()
	if err := setns(home); err != nil {
		return fmt.Errorf("netns: leaving %s: %w", l.Namespace, err)
	}
	runtime.UnlockOSThread()
	return nil
}

func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

// QdiscStats are the shaper's counters, as tc -s shows them.
type QdiscStats struct {
	Bytes      int64 `json:"bytes"` // sent, link-layer headers included
	Packets    int64 `json:"packets"`
	Drops      int64 `json:"drops"`
	Overlimits int64 `json:"overlimits"` // times a packet had to wait for tokens
	Backlog    int64 `json:"backlog"`    // bytes queued now
	Qlen       int64 `json:"qlen"`       // packets queued now
}

// Qdisc reads the shaper's counters.
func (l *Line) Qdisc() (QdiscStats, error) {
	out, err := output("tc", "-s", "-j", "-n", l.Namespace, "qdisc", "show", "dev", l.KioskIf, "root")
	if err != nil {
		return QdiscStats{}, err
	}
	var qs []struct {
		Kind string `json:"kind"`
		QdiscStats
	}
	if err := json.Unmarshal(out, &qs); err != nil {
		return QdiscStats{}, fmt.Errorf("netns: reading tc's statistics %q: %w", out, err)
	}
	for _, q := range qs {
		if q.Kind == "tbf" {
			return q.QdiscStats, nil
		}
	}
	return QdiscStats{}, fmt.Errorf("netns: no tbf qdisc on %s in %s: %s", l.KioskIf, l.Namespace, out)
}

func randomID() (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// freeSubnet picks a /30 of 10.201.0.0/16 that no interface of the host
// uses yet; two lines made at once by different tests almost never pick the
// same one, and if they do the second fails to add its address.
func freeSubnet() (host, kiosk netip.Addr, err error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return host, kiosk, err
	}
	for range 100 {
		b := make([]byte, 2)
		if _, err := rand.Read(b); err != nil {
			return host, kiosk, err
		}
		base := netip.AddrFrom4([4]byte{10, 201, b[0], b[1] &^ 3})
		prefix := netip.PrefixFrom(base, 30)
		used := false
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && prefix.Contains(ip.Unmap()) {
					used = true
				}
			}
		}
		if !used {
			return base.Next(), base.Next().Next(), nil
		}
	}
	return host, kiosk, errors.New("netns: no free /30 in 10.201.0.0/16")
}

func run(name string, args ...string) error {
	_, err := output(name, args...)
	return err
}

func output(name string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func isPermission(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Operation not permitted") || strings.Contains(s, "Permission denied")
}
