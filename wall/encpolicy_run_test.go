package wall

import (
	"image"
	"log/slog"
	"strings"
	"testing"
	"time"

	"kioskwall/rfb/sim"
)

// A fleet with an encoding policy measures a quiet synthetic kiosk (rfb/sim)
// of each kind on a connection of its own, and moves every session of the
// kind to the choice on its one connection: on the synthetic screens 16 bpp
// ZRLE costs what 8 bpp does without its tint.
func TestFleetMeasuresAndUsesTheEncodingPolicy(t *testing.T) {
	kiosks := startSim(t, "", sim.Idle, sim.Idle)
	policy, err := NewEncodingPolicy(PolicyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	decided := make(chan struct{}, 4)
	tiles := NewTileStore()
	fleet := NewFleet(tiles, FleetOptions{
		Policy: policy, PolicyDecided: func() { decided <- struct{}{} }, TrialEvery: 100 * time.Millisecond,
		Schedule: Schedule{Lively: 500 * time.Millisecond, Alarm: time.Millisecond},
		Logger:   slog.New(slog.DiscardHandler), Ramp: time.Millisecond,
	})
	t.Cleanup(fleet.Close)
	var targets []Target
	for _, k := range kiosks.Kiosks() {
		targets = append(targets, Target{ID: k.ID(), Site: "lab", Addr: k.Addr(), Kind: "simkiosk"})
	}
	fleet.Sync(targets)

	select {
	case <-decided:
	case <-time.After(60 * time.Second):
		t.Fatal("no encoding trial decided within 60 s")
	}
	reports := policy.Report()
	if len(reports) != 1 || reports[0].Kind != "simkiosk" || reports[0].Choice == "" || len(reports[0].Candidates) < 2 {
		t.Fatalf("policy report %+v", reports)
	}
	choice := policy.Thumbnail("simkiosk")
	if choice.Name != reports[0].Choice {
		t.Fatalf("Thumbnail(simkiosk) = %s, report says %s", choice.Name, reports[0].Choice)
	}
	want := choice.Profile.Format.String()
	eventually(t, "every session in the chosen format "+want, func() bool {
		for _, s := range fleet.Sessions() {
			if s.Status().Format != want {
				return false
			}
		}
		return true
	})
	accepted, now := 0, 0
	for _, k := range kiosks.Kiosks() {
		accepted += k.Accepted()
		now += k.Connections()
	}
	// One session per kiosk, and one trial connection for the kind, gone.
	if accepted != len(targets)+1 || now != len(targets) {
		t.Errorf("the kiosks accepted %d connections and hold %d, want %d and %d", accepted, now, len(targets)+1, len(targets))
	}
	// The sessions still make pictures in the new format.
	id := kiosks.Kiosks()[0].ID()
	fleet.SetWatch(id, fleet.renditionBit("small"))
	before, _ := tiles.Get(id, "small")
	eventually(t, "a new picture after the switch", func() bool {
		now, ok := tiles.Get(id, "small")
		return ok && before != nil && now.Seq > before.Seq
	})
	if !strings.HasPrefix(want, "16bpp") {
		t.Logf("the policy chose %s (%s) on the synthetic screen", choice.Name, want)
	}
}

// A fleet that cannot afford the chosen pixel format for all its kiosks
// uses the cheapest candidate that fits, and the report says so.
func TestPolicyRespectsFramebufferMemory(t *testing.T) {
	p, err := NewEncodingPolicy(PolicyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	trial, ok := p.StartTrial("k", time.Now())
	if !ok {
		t.Fatal("no trial due for a new kind")
	}
	grey := image.NewRGBA(image.Rect(0, 0, 64, 36))
	tinted := image.NewRGBA(grey.Rect)
	for i := range grey.Pix {
		grey.Pix[i] = 0xc0
		if i < len(grey.Pix)/4 {
			grey.Pix[i] = 0x20 // a dark header: not a blank screen
		}
		tinted.Pix[i] = grey.Pix[i]
		if i%4 == 2 {
			tinted.Pix[i] = 0xff // a blue cast: far below 35 dB
		}
	}
	bytes := map[string]int64{"32bpp-lossless": 100, "8bpp-zrle": 90, "8bpp-tight": 95, "16bpp-zrle": 91, "16bpp-tight": 99, "32bpp-tight-jpeg-q2": 200}
	for c, ok := trial.Next(); ok; c, ok = trial.Next() {
		thumb := grey
		if c.Profile.Format.BytesPerPixel() == 1 {
			thumb = tinted
		}
		trial.Record(c.Name, bytes[c.Name], thumb)
	}
	report, err := trial.Finish(time.Now())
	if err != nil || report.Choice != "16bpp-zrle" {
		t.Fatalf("trial chose %q, %v; want 16bpp-zrle", report.Choice, err)
	}
	for _, tt := range []struct {
		maxBpp int
		want   string
	}{{0, "16bpp-zrle"}, {4, "16bpp-zrle"}, {1, "8bpp-zrle"}, {2, "16bpp-zrle"}} {
		p.SetMaxBytesPerPixel(tt.maxBpp)
		if got := p.Thumbnail("k").Name; got != tt.want {
			t.Errorf("at most %d bytes a pixel: %s in use, want %s", tt.maxBpp, got, tt.want)
		}
		if r := p.Report(); len(r) != 1 || r[0].InUse != tt.want || r[0].Choice != "16bpp-zrle" {
			t.Errorf("at most %d bytes a pixel: report %+v", tt.maxBpp, r)
		}
	}
}
