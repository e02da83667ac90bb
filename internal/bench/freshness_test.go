package bench

import (
	"slices"
	"testing"
	"time"
)

func TestMeasureFreshness(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tile := func(arrive, made int) arrival { return arrival{at: at(arrive), updatedMS: at(made).UnixMilli()} }
	// Viewer A shows K1 and K2 throughout; viewer B shows K1 until 5 s,
	// then K3.
	a := view{
		epochs: []epoch{{from: at(0), tiles: map[string]bool{"K1": true, "K2": true}}},
		arrivals: map[string][]arrival{
			// Made at 1000 from an update composed before the change at
			// 1100: arrives after it but does not show it. The next does.
			"K1": {tile(1050, 1000), tile(1500, 1000), tile(2400, 2300), tile(9000, 8900)},
			"K2": {tile(3000, 2950)},
		},
	}
	b := view{
		epochs: []epoch{
			{from: at(0), to: at(5000), tiles: map[string]bool{"K1": true}},
			{from: at(5000), tiles: map[string]bool{"K3": true}},
		},
		arrivals: map[string][]arrival{"K1": {tile(2600, 2300)}, "K3": {tile(6000, 5900)}},
	}
	changes := []change{
		{kiosk: "K1", at: at(1100), composed: at(2200)},   // A: 1300, B: 1500
		{kiosk: "K2", at: at(2000), composed: at(2000)},   // A: 1000
		{kiosk: "K1", at: at(4000), composed: at(8800)},   // A: 5000; B stopped showing K1 first: dropped
		{kiosk: "K3", at: at(5500), composed: at(5800)},   // B: 500
		{kiosk: "K2", at: at(7000)},                       // never composed: A unseen, age 12000 - 7000
		{kiosk: "K9", at: at(3000), composed: at(3000)},   // nobody shows K9
		{kiosk: "K1", at: at(500), composed: at(600)},     // before the period
		{kiosk: "K1", at: at(11000), composed: at(11000)}, // after it
	}
	f := measureFreshness(changes, []view{a, b}, at(1000), at(10000), at(12000), 5*time.Second, 2*time.Second)
	want := []time.Duration{ms(500), ms(1000), ms(1300), ms(1500), ms(5000), ms(5000)}
	if !slices.Equal(f.ages, want) {
		t.Errorf("ages %v, want %v", f.ages, want)
	}
	if f.changes != 5 || f.unseen != 1 || f.dropped != 1 {
		t.Errorf("changes %d, unseen %d, dropped %d; want 5, 1, 1", f.changes, f.unseen, f.dropped)
	}
	// Windows of 5 s from 1 s: [1,6) holds 1300, 1500, 1000, 5000, 500
	// (p95 5 s: late); [6,11) holds 5000 (late).
	if f.windows != 2 || f.windowsOK != 0 {
		t.Errorf("windows %d, of which ok %d; want 2, 0", f.windows, f.windowsOK)
	}
	g := measureFreshness(changes[:2], []view{a, b}, at(1000), at(10000), at(12000), 5*time.Second, 2*time.Second)
	if g.windows != 1 || g.windowsOK != 1 {
		t.Errorf("first two changes alone: windows %d, ok %d; want 1, 1", g.windows, g.windowsOK)
	}
}

func TestPercentile(t *testing.T) {
	ages := make([]time.Duration, 100)
	for i := range ages {
		ages[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.95, 95 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		if got := percentile(ages, tc.p); got != tc.want {
			t.Errorf("p%.0f = %v, want %v", 100*tc.p, got, tc.want)
		}
	}
	if got := percentile(ages[:1], 0.99); got != time.Millisecond {
		t.Errorf("p99 of one = %v", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("p50 of none = %v", got)
	}
}
