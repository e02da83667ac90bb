package bench

import (
	"context"
	"image"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"kioskwall/rfb"
	"kioskwall/rfb/sim"
)

// startSimStats runs a small fleet in this process and serves its stats.
func startSimStats(t *testing.T, cfg sim.Config) (*sim.Fleet, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f, err := sim.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ServeSimStats(ctx, ln, f) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
		f.Close()
	})
	return f, "http://" + ln.Addr().String() + "/"
}

// The kiosks' endpoints say what the fleet says: who the kiosks are, the
// bytes they sent, and the changes with the times the kiosks saw.
func TestSimStatsEndpoints(t *testing.T) {
	f, url := startSimStats(t, sim.Config{Kiosks: 3, BaseAddr: "127.0.202.1", Size: image.Pt(640, 360), VirtualTime: true,
		Behaviours: []sim.Behaviour{sim.Idle, sim.Refusing, sim.Interactive}})
	ctx := context.Background()
	var ks []SimKiosk
	if err := getJSON(ctx, http.DefaultClient, url+"kiosks", &ks); err != nil {
		t.Fatal(err)
	}
	if len(ks) != 3 || ks[0].ID != "K0001" || ks[0].Addr != f.Kiosks()[0].Addr() || !ks[0].Serves || ks[1].Serves || ks[2].Behaviour != "interactive" {
		t.Fatalf("kiosks %+v", ks)
	}

	k := f.Kiosks()[0]
	c, err := rfb.Dial(ctx, k.Addr(), rfb.ClientConfig{Framebuffer: &rfb.Buffer{}, Encodings: []rfb.Encoding{rfb.EncRaw}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Request(false, image.Rect(0, 0, 640, 360))
	for {
		m, err := c.Next()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*rfb.Update); ok {
			break
		}
	}
	// A key on the home page is a change; no request waits for it.
	c.KeyEvent(true, '7')
	var cs SimChanges
	deadline := time.Now().Add(5 * time.Second)
	for len(cs.Pending) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the key never showed as a pending change")
		}
		if err := getJSON(ctx, http.DefaultClient, url+"changes?from=0&pending=1", &cs); err != nil {
			t.Fatal(err)
		}
	}
	p := cs.Pending[0]
	if p.Kiosk != "K0001" || p.ComposedUS != 0 || time.Since(time.UnixMicro(p.AtUS)) > time.Minute || len(cs.Changes) != 0 {
		t.Errorf("changes %+v", cs)
	}
	var st SimStats
	if err := getJSON(ctx, http.DefaultClient, url+"stats", &st); err != nil {
		t.Fatal(err)
	}
	if st.BytesSent != k.BytesSent() || st.Sites[k.Site()] != k.BytesSent() || st.BytesSent == 0 {
		t.Errorf("stats %+v; the kiosk sent %d", st, k.BytesSent())
	}
	if err := getJSON(ctx, http.DefaultClient, url+"changes?from=-1", &cs); err == nil {
		t.Error("a negative from was accepted")
	}
}

func TestBaselineSample(t *testing.T) {
	var fleet []SimKiosk
	for i := range 1000 {
		b := "idle"
		switch {
		case i%20 == 3:
			b = "carousel"
		case i%4 == 1:
			b = "interactive"
		}
		fleet = append(fleet, SimKiosk{ID: "K" + string(rune('A'+i%26)), Behaviour: b, Serves: true})
	}
	fleet = append(fleet, SimKiosk{ID: "KR", Behaviour: "refusing"})
	got := map[string]int{}
	for _, k := range baselineSample(fleet, 50) {
		got[k.Behaviour]++
	}
	// 700 idle, 250 interactive, 50 carousel of 1000 that serve.
	if got["idle"] != 35 || got["interactive"] != 13 || got["carousel"] != 3 || got["refusing"] != 0 {
		t.Errorf("sample %v; want 35 idle, 13 interactive, 3 carousel (rounded), no refusing", got)
	}
	if n := len(baselineSample(fleet[:3], 50)); n != 3 {
		t.Errorf("a sample of 50 from 3 kiosks has %d", n)
	}
}

// The baseline counts what noVNC-like sessions read once each has its
// first frame, and scales each behaviour's rate to the fleet.
func TestRunBaseline(t *testing.T) {
	f, url := startSimStats(t, sim.Config{Kiosks: 2, BaseAddr: "127.0.202.11", Size: image.Pt(640, 360), Behaviours: []sim.Behaviour{sim.Idle}})
	var ks []SimKiosk
	if err := getJSON(context.Background(), http.DefaultClient, url+"kiosks", &ks); err != nil {
		t.Fatal(err)
	}
	b, err := runBaseline(context.Background(), ks, map[string]int{"idle": 100}, 10*time.Second, 2*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// A clock tick a second at 32 bpp: some hundreds of bytes a second,
	// far less than the first frames the count leaves out.
	per := b.perKiosk["idle"]
	if b.sampled != 2 || b.failed != 0 || per <= 0 || per > float64(f.BytesSent())/4 {
		t.Fatalf("baseline %+v; the kiosks sent %d in all", b, f.BytesSent())
	}
	if b.bytesPerSec != 100*per {
		t.Errorf("scaled to 100 idle kiosks: %v, want %v", b.bytesPerSec, 100*per)
	}
}
