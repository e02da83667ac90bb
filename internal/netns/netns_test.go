package netns

import (
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLineShapesWhatLeavesTheNamespace sends as fast as TCP goes from a
// listener inside the namespace to a reader on the host that reads as fast
// as it can: the rate must be the shaper's, and tc must say it shaped.
func TestLineShapesWhatLeavesTheNamespace(t *testing.T) {
	l := Start(t, Config{Rate: "2mbit"})
	ln, err := l.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := ln.Addr().(*net.TCPAddr).IP.String(); got != l.KioskAddr.String() {
		t.Fatalf("listener on %s; want the namespace's address %s", got, l.KioskAddr)
	}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		junk := make([]byte, 64<<10)
		for {
			if _, err := c.Write(junk); err != nil {
				return
			}
		}
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Read through the first second unmeasured: the shaper's burst and TCP's
	// slow start.
	c.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, c)
	before, err := l.Qdisc()
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	n, _ := io.Copy(io.Discard, c)
	bps := float64(n) * 8 / time.Since(start).Seconds()
	after, err := l.Qdisc()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %.0f bit/s of TCP payload through a 2mbit tbf; qdisc sent %d bytes, %d overlimits, %d drops, backlog %d bytes",
		bps, after.Bytes-before.Bytes, after.Overlimits-before.Overlimits, after.Drops-before.Drops, after.Backlog)
	// tbf counts Ethernet frames: 1514 bytes carry 1448 of payload, so the
	// payload rate is about 4% under the shaper's.
	if bps < 1.7e6 || bps > 2.05e6 {
		t.Errorf("payload rate %.0f bit/s through a 2mbit shaper; want 1.7 to 2.05 Mbit", bps)
	}
	if sent := after.Bytes - before.Bytes; sent < n || after.Overlimits == before.Overlimits {
		t.Errorf("qdisc sent %d bytes (%d read) with %d new overlimits: it did not shape this traffic", sent, n, after.Overlimits-before.Overlimits)
	}
}

func TestCloseRemovesEverything(t *testing.T) {
	l := Start(t, Config{Rate: "1mbit"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), l.Namespace) {
		t.Errorf("namespace %s still listed after Close:\n%s", l.Namespace, out)
	}
	if err := exec.Command("ip", "link", "show", l.HostIf).Run(); err == nil {
		t.Errorf("interface %s still exists after Close", l.HostIf)
	}
	if _, err := l.Listen(0); err == nil {
		t.Error("Listen in a removed namespace succeeded")
	}
}

// TestHostSideGetsNoLateAddress: the host's end of the line keeps only its
// IPv4 address. An address the kernel adds later by itself (an IPv6
// link-local one, a second or two after the link comes up) is a network
// change to a browser on the host, which then fails the page it loads.
func TestHostSideGetsNoLateAddress(t *testing.T) {
	l := Start(t, Config{Rate: "1mbit"})
	time.Sleep(3 * time.Second) // the kernel's link-local address comes after duplicate address detection
	ifc, err := net.InterfaceByName(l.HostIf)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0].String(), l.HostAddr.String()+"/") {
		t.Errorf("host interface %s has addresses %v; want only %s/30", l.HostIf, addrs, l.HostAddr)
	}
}
