package wall

import (
	"context"
	"testing"
	"time"

	"kioskwall/config"
)

// TestSitesShareTheTotalOnLoopback is the fair queue and the shared
// request slots together, on real sockets and the real clock (about 12 s;
// skipped with -short): receivers work as sessions do (a request slot
// before each request, a poke when no answer comes) against busy senders
// that answer every request with 30-150 KB. Under a 2 Mbit/s total, site
// slow has its own 500 kbit/s cap and four senders, big has eight and
// small two. Over the last 10 s slow reads what its own cap allows, big
// and small split the rest evenly (each within 15% of half of what they
// read together), and the three keep the total busy. Before the fair queue
// big read 1.44 Mbit/s, small 0.38 and slow 0.18.
func TestSitesShareTheTotalOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test on the real clock (12 s); skipped with -short")
	}
	const run = 12 * time.Second
	b := NewBudgets(config.Budgets{Total: 2 * config.Mbit, Sites: map[string]config.Bandwidth{"slow": 500 * config.Kbit}}, BudgetOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	start := time.Now()
	kiosks := startBusyKiosks(t, ctx, 11, 0, newTimeline(start, run))
	sites := []struct {
		name    string
		senders int
	}{{"slow", 4}, {"big", 8}, {"small", 2}}
	read := map[string]*timeline{}
	for _, s := range sites {
		tl := newTimeline(start, run)
		read[s.name] = tl
		for range s.senders {
			kiosks.fetchAll(b, s.name, kiosks.dial(t, b, s.name, 'B'), tl)
		}
	}
	kiosks.stop()

	slots := int(run / (100 * time.Millisecond))
	bps := map[string]float64{}
	for _, s := range sites {
		var got int64
		for i := slots - 100; i < slots; i++ {
			got += read[s.name].slots[i].Load()
		}
		bps[s.name] = float64(got) * 8 / 10
		t.Logf("%s (%d senders): %.0f bit/s over the last 10 s", s.name, s.senders, bps[s.name])
	}
	if got := bps["slow"]; got < 0.6*500_000 || got > 1.05*500_000 {
		t.Errorf("slow read %.0f bit/s; its own cap is 500 kbit/s", got)
	}
	half := (bps["big"] + bps["small"]) / 2
	for _, name := range []string{"big", "small"} {
		if got := bps[name]; got < 0.85*half || got > 1.15*half {
			t.Errorf("%s read %.0f bit/s; competing for the total with the other, its fair share is half of their %.0f", name, got, 2*half)
		}
	}
	// Loose: a stalled queue would leave the line idle, a busy machine only
	// a little (0.89-0.95 x measured).
	if all := bps["slow"] + 2*half; all < 0.7*2_000_000 {
		t.Errorf("the sites read %.0f bit/s together; busy, they should keep the 2 Mbit/s total busy", all)
	}
}
