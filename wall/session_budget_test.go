package wall

import (
	"log/slog"
	"testing"
	"time"

	"kioskwall/config"
	"kioskwall/rfb/sim"
)

// TestBudgetedSessionsTakeTurns runs 24 synthetic kiosks (rfb/sim: real RFB
// servers on loopback) on one site capped at 3 Mbit/s: seven request slots
// for 24 kiosks, so quiet kiosks must give their slot back for the others to
// be seen at all, and the bytes read stay under the cap.
func TestBudgetedSessionsTakeTurns(t *testing.T) {
	behaviours := make([]sim.Behaviour, 24)
	for i := range behaviours {
		behaviours[i] = []sim.Behaviour{sim.Idle, sim.Idle, sim.Interactive, sim.Frozen}[i%4]
	}
	kiosks := startSim(t, "", behaviours...)
	budgets := NewBudgets(config.Budgets{Sites: map[string]config.Bandwidth{"line": 3_000_000}}, BudgetOptions{})
	tiles := NewTileStore()
	var log apiLogBuffer
	fleet := NewFleet(tiles, FleetOptions{Schedule: Schedule{Watched: 500 * time.Millisecond}, Budgets: budgets, Ramp: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil)), Seed: 2})
	t.Cleanup(fleet.Close)
	var targets []Target
	for _, k := range kiosks.Kiosks() {
		targets = append(targets, Target{ID: k.ID(), Site: "line", Addr: k.Addr()})
		fleet.SetWatch(k.ID(), fleet.renditionBit("small")) // a wall shows them all
	}
	fleet.Sync(targets)

	eventually(t, "a picture of every kiosk", func() bool {
		for _, k := range kiosks.Kiosks() {
			if _, ok := tiles.Get(k.ID(), "small"); !ok {
				return false
			}
		}
		return true
	})
	// Idle kiosks keep being asked in turn: their clocks tick into new pictures.
	idle := kiosks.Kiosks()[0].ID()
	first, _ := tiles.Get(idle, "small")
	eventually(t, "a newer picture of an idle kiosk", func() bool {
		now, _ := tiles.Get(idle, "small")
		return now.Seq > first.Seq
	})
	// The frozen kiosk answers probes and pokes: it stays online with a round trip.
	frozen, _ := fleet.Session(kiosks.Kiosks()[3].ID())
	if st := frozen.Status(); st.State != StateOnline {
		t.Errorf("frozen kiosk: %+v", st)
	}
	for _, st := range budgets.Stats() {
		if st.Site == "line" && st.WorstWindowBPS > 1.05*3_000_000 {
			t.Errorf("worst 10 s window %d bit/s over the 3 Mbit/s cap", st.WorstWindowBPS)
		}
	}
}

// A screen that changes all the time is encoded at most once per
// PublishEvery while a page shows it, and its last change still shows.
func TestBusyKioskIsPublishedOncePerPublishEvery(t *testing.T) {
	kiosks := startSim(t, "", sim.Carousel)
	tiles := NewTileStore()
	fleet := NewFleet(tiles, FleetOptions{Schedule: Schedule{WatchedLively: 20 * time.Millisecond, Watched: 20 * time.Millisecond, PublishEvery: 2 * time.Second},
		Logger: slog.New(slog.DiscardHandler), Ramp: time.Millisecond})
	t.Cleanup(fleet.Close)
	k := kiosks.Kiosks()[0]
	fleet.SetWatch(k.ID(), fleet.renditionBit("small"))
	fleet.Sync([]Target{{ID: k.ID(), Site: "lab", Addr: k.Addr()}})
	s, _ := fleet.Session(k.ID())
	eventually(t, "a first picture", func() bool { _, ok := tiles.Get(k.ID(), "small"); return ok })
	start, before := time.Now(), s.Status().Thumbnails
	time.Sleep(12 * time.Second) // a carousel slides every 5 s, in frames 60 ms apart
	n := s.Status().Thumbnails - before
	if limit := uint64(time.Since(start)/(2*time.Second)) + 1; n > limit || n == 0 {
		t.Errorf("%d pictures in %v of a sliding carousel; want between 1 and %d", n, time.Since(start).Round(time.Second), limit)
	}
}
