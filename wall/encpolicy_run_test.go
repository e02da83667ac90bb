package wall

import (
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
