package wall

import (
	"testing"
	"time"
)

// What pages subscribe to reaches the fleet as watched renditions, for the
// schedule and for encoding only what is shown, and leaves with the page.
func TestSubscriptionsTellTheFleetWhatIsWatched(t *testing.T) {
	env := startHub(t, testHubOptions, FleetOptions{})
	small, large := env.fleet.renditionBit("small"), env.fleet.renditionBit("large")
	if small == 0 || large == 0 || small == large {
		t.Fatalf("rendition bits small %b, large %b", small, large)
	}
	watch := func(id string) uint64 {
		env.fleet.mu.Lock()
		defer env.fleet.mu.Unlock()
		return env.fleet.watch[id]
	}
	a, b := dialPage(t, env.url), dialPage(t, env.url)
	a.open()
	b.open()
	a.subscribe(1, tileRef{ID: "K1", Rendition: "small"}, tileRef{ID: "K2", Rendition: "small"})
	a.untilAck(1)
	b.subscribe(1, tileRef{ID: "K2", Rendition: "large"})
	b.untilAck(1)
	for id, want := range map[string]uint64{"K1": small, "K2": small | large, "K3": 0} {
		if got := watch(id); got != want {
			t.Errorf("%s watched as %b, want %b", id, got, want)
		}
	}
	// A kiosk that joins the inventory later starts watched.
	env.fleet.Sync([]Target{{ID: "K2", Addr: "127.0.0.1:1"}})
	if s, ok := env.fleet.Session("K2"); !ok || !s.Status().Watched {
		t.Error("a session started for a watched kiosk does not know it is watched")
	}

	a.subscribe(2, tileRef{ID: "K2", Rendition: "small"})
	a.untilAck(2)
	if got := watch("K1"); got != 0 {
		t.Errorf("K1 still watched (%b) after the page dropped it", got)
	}
	b.ws.Close()
	deadline := time.Now().Add(10 * time.Second)
	for watch("K2") != small && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := watch("K2"); got != small {
		t.Errorf("K2 watched as %b after the large page left, want %b", got, small)
	}
}
