package sim

import (
	"bytes"
	"context"
	"errors"
	"image"
	"net"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kioskwall/rfb"
)

// testStart is half a second past a whole second, so clock ticks are not
// at whole seconds of script time: the alignment is tested everywhere.
var testStart = time.Date(2026, 3, 2, 9, 41, 58, 500e6, time.UTC)

// startFleet starts a fleet in virtual time on free ports and closes it
// when the test ends.
func startFleet(t *testing.T, cfg Config) *Fleet {
	t.Helper()
	cfg.VirtualTime = true
	if cfg.Start.IsZero() {
		cfg.Start = testStart
	}
	if cfg.BaseAddr == "" {
		cfg.BaseAddr = "127.0.9.1"
	}
	f, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

// pixels copies what k's desktop shows.
func pixels(k *Kiosk) []byte {
	var out []byte
	k.desk.Draw(func(b *rfb.Buffer) []image.Rectangle {
		out = bytes.Clone(b.Pix)
		return nil
	})
	return out
}

// shows reports whether k's desktop holds exactly pix.
func shows(k *Kiosk, pix []byte) bool {
	same := false
	k.desk.Draw(func(b *rfb.Buffer) []image.Rectangle {
		same = bytes.Equal(b.Pix, pix)
		return nil
	})
	return same
}

// Same seed, same script time: same frames, however time was stepped.
// Another seed gives other frames, so the comparison can fail.
func TestSameSeedSameFrames(t *testing.T) {
	mix := []Behaviour{Interactive, Carousel, Idle, ErrorDialog, Interactive, Interactive}
	cfg := Config{Kiosks: 6, Seed: 42, Behaviours: mix, Size: image.Pt(800, 450)}
	stepped, jumped := startFleet(t, cfg), startFleet(t, cfg)
	other := cfg
	other.Seed = 43
	otherFleet := startFleet(t, other)
	for i := 0; i < 900; i++ { // 90 s in 100 ms steps
		stepped.Advance(100 * time.Millisecond)
	}
	jumped.Advance(30 * time.Second)
	jumped.Advance(60 * time.Second)
	otherFleet.Advance(90 * time.Second)
	differs := false
	for i, k := range stepped.Kiosks() {
		if !bytes.Equal(pixels(k), pixels(jumped.Kiosks()[i])) {
			t.Errorf("kiosk %s (%s): frames differ between stepped and jumped time", k.ID(), k.Behaviour())
		}
		if !bytes.Equal(pixels(k), pixels(otherFleet.Kiosks()[i])) {
			differs = true
		}
	}
	if !differs {
		t.Error("seed 43 gives the same frames as seed 42")
	}
	if got, want := stepped.Now(), testStart.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
}

// Identities follow from the seed and the index, not the fleet's size.
func TestIdentities(t *testing.T) {
	small := startFleet(t, Config{Kiosks: 5, Seed: 7, Size: image.Pt(320, 200), Behaviours: []Behaviour{Black}})
	big := startFleet(t, Config{Kiosks: 40, Seed: 7, Size: image.Pt(320, 200), Behaviours: []Behaviour{Black}, BaseAddr: "127.0.10.1"})
	sites := map[string]bool{}
	for i, k := range big.Kiosks() {
		if i < 5 {
			s := small.Kiosks()[i]
			if s.ID() != k.ID() || s.Name() != k.Name() || s.Site() != k.Site() || s.mac != k.mac {
				t.Errorf("kiosk %d differs with fleet size: %s %q %s %s vs %s %q %s %s", i, s.ID(), s.Name(), s.Site(), s.mac, k.ID(), k.Name(), k.Site(), k.mac)
			}
		}
		words := strings.Fields(k.Name())
		if len(words) != 3 || !strings.EqualFold(words[1], k.Site()) {
			t.Errorf("kiosk %s name %q is not like \"Registration West 1\" for site %q", k.ID(), k.Name(), k.Site())
		}
		sites[k.Site()] = true
		if big.Kiosk(k.ID()) != k {
			t.Errorf("Kiosk(%q) does not find it", k.ID())
		}
	}
	if first, last := big.Kiosks()[0].ID(), big.Kiosks()[39].ID(); first != "K0001" || last != "K0040" {
		t.Errorf("ids run %s..%s, want K0001..K0040", first, last)
	}
	if len(sites) < 3 {
		t.Errorf("40 kiosks stand on %d sites; want a few campuses", len(sites))
	}
	if big.Kiosk("K9999") != nil {
		t.Error("Kiosk of an unknown id is not nil")
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		says string
	}{
		{Config{}, "at least 1"},
		{Config{Kiosks: 2, BaseAddr: "127.255.255.255"}, "past 127.255.255.255"},
		{Config{Kiosks: 1, BaseAddr: "192.168.1.1"}, "not in 127.0.0.0/8"},
		{Config{Kiosks: 1, BaseAddr: "kiosk"}, "base address"},
		{Config{Kiosks: 1, Size: image.Pt(100, 100)}, "out of range"},
		{Config{Kiosks: 1, Port: 70000}, "out of range"},
		{Config{Kiosks: 1, Mix: Mix{Idle: -1, Carousel: 2}}, "out of range"},
		{Config{Kiosks: 1, Latency: -time.Second}, "negative"},
	} {
		f, err := Start(context.Background(), tt.cfg)
		if err == nil {
			f.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("Start(%+v) = %v, want an error saying %q", tt.cfg, err, tt.says)
		}
	}
}

// A port in use makes Start fail with a hint, and leaves nothing behind.
func TestStartPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.11.3:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), Config{Kiosks: 4, BaseAddr: "127.0.11.1", Port: port, Size: image.Pt(320, 200)})
	if err == nil || !strings.Contains(err.Error(), "K0003") || !strings.Contains(err.Error(), "cannot listen") {
		t.Fatalf("Start on a port in use: %v; want an error naming K0003", err)
	}
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.11.1", strconv.Itoa(port)))
	if err == nil {
		c.Close()
		t.Error("kiosk K0001 still listens after Start failed")
	}
}

// Close stops listeners, connections and the scheduler: no goroutine is
// left, in real time with viewers connected. So does cancelling the context.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	for _, viaContext := range []bool{false, true} {
		before := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		f, err := Start(ctx, Config{Kiosks: 12, BaseAddr: "127.0.12.1", Size: image.Pt(320, 200), Seed: 5,
			Behaviours: []Behaviour{Idle, Interactive, Carousel, HangingUp, Refusing, Frozen}})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range f.Kiosks()[:3] {
			c, _ := dial(t, k, nil)
			defer c.Close()
		}
		if viaContext {
			cancel()
			waitFor(t, "connections to end after cancel", func() bool {
				for _, k := range f.Kiosks() {
					if k.Connections() > 0 {
						return false
					}
				}
				return true
			})
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		cancel()
		waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
		if _, err := net.Dial("tcp", f.Kiosks()[0].Addr()); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("after Close, connecting to %s: %v; want connection refused", f.Kiosks()[0].Addr(), err)
		}
	}
}

// With a password, kiosks use VNC authentication.
func TestPassword(t *testing.T) {
	f := startFleet(t, Config{Kiosks: 1, Password: "kiosk-pw", Size: image.Pt(320, 200), Behaviours: []Behaviour{Idle}})
	addr := f.Kiosks()[0].Addr()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, pw := range []string{"wrong", "kiosk-pw"} {
		c, err := rfb.Dial(ctx, addr, rfb.ClientConfig{Password: pw, Framebuffer: &rfb.Buffer{}})
		if (err == nil) != (pw == "kiosk-pw") {
			t.Errorf("password %q: %v", pw, err)
		}
		if err == nil {
			if c.SecurityType() != rfb.SecVNCAuth {
				t.Errorf("security type %v, want VNC authentication", c.SecurityType())
			}
			c.Close()
		}
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("timed out waiting for %s\n%s", what, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dial connects a client to k, offering encs (nil: Raw and CopyRect), and
// reads the first full frame.
func dial(t *testing.T, k *Kiosk, encs []rfb.Encoding) (*rfb.Client, *rfb.Buffer) {
	t.Helper()
	if encs == nil {
		encs = []rfb.Encoding{rfb.EncCopyRect, rfb.EncRaw}
	}
	fb := &rfb.Buffer{}
	// The session lives as long as the dial context: the test's. ReadTimeout
	// bounds the handshake and every read.
	c, err := rfb.Dial(t.Context(), k.Addr(), rfb.ClientConfig{Framebuffer: fb, Encodings: encs, ReadTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("dial %s (%s): %v", k.ID(), k.Addr(), err)
	}
	if err := c.Request(false, fb.Bounds()); err != nil {
		t.Fatal(err)
	}
	nextUpdate(t, c)
	return c, fb
}

// nextUpdate reads messages until an update arrives.
func nextUpdate(t *testing.T, c *rfb.Client) *rfb.Update {
	t.Helper()
	for {
		m, err := c.Next()
		if err != nil {
			t.Fatalf("reading an update: %v", err)
		}
		if u, ok := m.(*rfb.Update); ok {
			return u
		}
	}
}

// Each kiosk counts what it wrote at the socket, which is what the viewer
// read; Latency holds every write back.
func TestBytesAndLatency(t *testing.T) {
	const latency = 40 * time.Millisecond
	f := startFleet(t, Config{Kiosks: 3, Latency: latency, Size: image.Pt(640, 360), Behaviours: []Behaviour{Idle}})
	var read int64
	for _, k := range f.Kiosks()[:2] {
		began := time.Now()
		c, fb := dial(t, k, nil)
		if took := time.Since(began); took < 3*latency {
			t.Errorf("handshake and first frame took %v; with %v a write, want at least %v", took, latency, 3*latency)
		}
		f.Advance(time.Second)
		if err := c.Request(true, fb.Bounds()); err != nil {
			t.Fatal(err)
		}
		nextUpdate(t, c)
		// The kiosk counts a write when it returns, which may be just after
		// the viewer read it.
		waitFor(t, k.ID()+" to count what its viewer read", func() bool { return k.BytesSent() == c.BytesIn() })
		read += c.BytesIn()
		c.Close()
	}
	if f.BytesSent() != read {
		t.Errorf("fleet total %d, viewers read %d", f.BytesSent(), read)
	}
	var bySite int64
	for _, n := range f.BytesSentBySite() {
		bySite += n
	}
	if bySite != read {
		t.Errorf("per-site totals add up to %d, want %d", bySite, read)
	}
}
