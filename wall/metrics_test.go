package wall

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// neverDial is a dialler that waits until the session ends: its kiosk
// stays connecting, and a test can set the session's counters by hand.
func neverDial(ctx context.Context, _ Target) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// meterBlockedFleet is a fleet whose sessions never connect.
func meterBlockedFleet(t *testing.T) *Fleet {
	t.Helper()
	f := NewFleet(NewTileStore(), FleetOptions{Ramp: time.Millisecond, Logger: quietLog(), Dial: neverDial})
	t.Cleanup(f.Close)
	return f
}

// meterClock is a clock a test moves by hand.
type meterClock struct{ t time.Time }

func (c *meterClock) now() time.Time             { return c.t }
func (c *meterClock) advance(d time.Duration)    { c.t = c.t.Add(d) }
func meterAddBytes(f *Fleet, id string, n int64) { meterSession(f, id).bytesPast.Add(n) }
func meterSession(f *Fleet, id string) *Session  { s, _ := f.Session(id); return s }

func TestMeterCountersOnlyGrow(t *testing.T) {
	f := meterBlockedFleet(t)
	targets := []Target{
		{ID: "A1", Site: "alpha", Addr: "192.0.2.1:5900"},
		{ID: "A2", Site: "alpha", Addr: "192.0.2.2:5900"},
		{ID: "B1", Site: "beta", Addr: "192.0.2.3:5900"},
	}
	f.Sync(targets)
	clock := &meterClock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	m := newMeter(f, clock.now)

	meterAddBytes(f, "A1", 1000)
	meterAddBytes(f, "B1", 500)
	s := m.sample(true)
	if s.sites["alpha"].bytes != 1000 || s.sites["beta"].bytes != 500 || s.bytes != 1500 {
		t.Fatalf("first sample: alpha %d beta %d total %d; want 1000, 500, 1500", s.sites["alpha"].bytes, s.sites["beta"].bytes, s.bytes)
	}
	if s.bps != 0 {
		t.Errorf("rate %v before any time passed, want 0", s.bps)
	}

	// 10 s later alpha got 2500 bytes more: 2000 bits per second.
	for range 10 {
		clock.advance(time.Second)
		meterAddBytes(f, "A2", 250)
		m.sample(true)
	}
	s = m.sample(false)
	if got := s.sites["alpha"].bps; got != 2000 {
		t.Errorf("alpha rate %v bit/s, want 2000", got)
	}
	if got := s.sites["beta"].bps; got != 0 {
		t.Errorf("beta rate %v bit/s, want 0", got)
	}
	if s.bps != 2000 {
		t.Errorf("total rate %v bit/s, want 2000", s.bps)
	}

	// Re-pointing A1 starts a new session whose counters start at 0;
	// removing B1 takes its session away. Neither total goes back.
	targets[0].Addr = "192.0.2.9:5900"
	f.Sync(targets[:2])
	s = m.sample(true)
	if s.sites["alpha"].bytes != 3500 || s.sites["beta"].bytes != 500 {
		t.Errorf("after re-point and removal: alpha %d beta %d; want 3500 and 500", s.sites["alpha"].bytes, s.sites["beta"].bytes)
	}
	meterAddBytes(f, "A1", 100)
	if s = m.sample(true); s.sites["alpha"].bytes != 3600 {
		t.Errorf("new session's bytes: alpha %d, want 3600", s.sites["alpha"].bytes)
	}
	if s.sites["beta"].states[StateConnecting] != 0 || s.sites["alpha"].states[StateConnecting] != 2 {
		t.Errorf("states: alpha %v beta %v; want 2 connecting in alpha, none in beta", s.sites["alpha"].states, s.sites["beta"].states)
	}
}

// TestMetricsEndpoint: the scrape has the fleet's gauges and counters with
// site and state labels, and never a kiosk id.
func TestMetricsEndpoint(t *testing.T) {
	e := startAPIServer(t, ServerOptions{Fleet: FleetOptions{Ramp: time.Millisecond, Dial: neverDial}}, []Target{
		{ID: "KX-0001", Site: "west", Addr: "192.0.2.1:5900"},
		{ID: "KX-0002", Site: "west", Addr: "192.0.2.2:5900"},
		{ID: "KX-0003", Site: "east", Addr: "192.0.2.3:5900"},
	})
	meterAddBytes(e.srv.Fleet(), "KX-0002", 4096)

	code, _, body := e.get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	text := string(body)
	for _, want := range []string{
		`kioskwall_kiosks{site="west",state="connecting"} 2`,
		`kioskwall_kiosks{site="west",state="online"} 0`,
		`kioskwall_kiosks{site="east",state="connecting"} 1`,
		`kioskwall_rfb_received_bytes_total{site="west"} 4096`,
		`kioskwall_rfb_received_bytes_total{site="east"} 0`,
		`kioskwall_thumbnails_published_total{site="west"} 0`,
		`kioskwall_live_viewers{site="east"} 0`,
		`kioskwall_inventory_problems 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want+"\n") && !strings.Contains(text, want+" ") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, "KX-") {
		t.Error("/metrics names a kiosk")
	}
	// Every kioskwall series has only site and state labels.
	labels := regexp.MustCompile(`(?m)^kioskwall_\w+\{([^}]*)\}`)
	for _, m := range labels.FindAllStringSubmatch(text, -1) {
		for _, kv := range strings.Split(m[1], ",") {
			name, _, _ := strings.Cut(kv, "=")
			if name != "site" && name != "state" {
				t.Errorf("label %q in %s", name, m[0])
			}
		}
	}
}

// TestStatsRateThroughAPI: bytes_in_bps is in bits per second.
func TestStatsRateThroughAPI(t *testing.T) {
	f := meterBlockedFleet(t)
	f.Sync([]Target{{ID: "R1", Site: "south", Addr: "192.0.2.1:5900"}})
	clock := &meterClock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	s := &Server{fleet: f, tiles: f.Tiles(), meter: newMeter(f, clock.now)}
	s.meter.sample(true)
	clock.advance(4 * time.Second)
	meterAddBytes(f, "R1", 1000) // 8000 bits in 4 s

	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/api/stats", nil)
	r.Host = "127.0.0.1"
	s.routes(NewGuard("127.0.0.1:0", nil, quietLog()), nil).ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("/api/stats: %d %s", w.Code, w.Body)
	}
	var st Stats
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatalf("/api/stats: %v: %s", err, w.Body)
	}
	if st.BytesIn != 1000 || st.BytesInBPS != 2000 || len(st.Sites) != 1 || st.Sites[0].Site != "south" || st.Sites[0].BytesInBPS != 2000 {
		t.Errorf("/api/stats: %+v; want 1000 bytes at 2000 bit/s, all in site south", st)
	}
}
