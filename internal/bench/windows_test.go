package bench

import (
	"math"
	"testing"
	"time"
)

func TestSeriesWindows(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	// Readings every 500 ms; 1000 bytes a second, except 5000 bytes a
	// second on site "west" from 20 s to 25 s.
	var s series
	var total, west int64
	for i := 0; i <= 80; i++ {
		at := t0.Add(time.Duration(i) * 500 * time.Millisecond)
		s = append(s, counts{at: at, total: total, sites: map[string]int64{"west": west}})
		total += 500
		if i >= 40 && i < 50 {
			total += 2000
			west += 2500
		}
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-6*want }

	if got := s.rate("", t0, t0.Add(10*time.Second)); !near(got, 1000) {
		t.Errorf("rate over the first 10 s = %v, want 1000", got)
	}
	// Any 10 s holding the whole 5-s burst: 10000 + 5 x 4000 bytes.
	bps, at := s.worstWindow("", 10*time.Second)
	if want := (10000 + 5*4000) * 8 / 10.0; !near(bps, want) {
		t.Errorf("worst total window %v bit/s, want %v", bps, want)
	}
	if at.Before(t0.Add(15*time.Second)) || at.After(t0.Add(20*time.Second)) {
		t.Errorf("worst window starts at %v, want between 15 s and 20 s", at.Sub(t0))
	}
	if bps, _ := s.worstWindow("west", 10*time.Second); !near(bps, 5*5000*8/10.0) {
		t.Errorf("worst west window %v bit/s, want %v", bps, 5*5000*8/10.0)
	}
	if bps, _ := s.worstWindow("", time.Minute); bps != 0 {
		t.Errorf("a window longer than the readings gave %v", bps)
	}
	if got := s.rate("", t0.Add(time.Hour), t0.Add(2*time.Hour)); got != 0 {
		t.Errorf("rate with no readings = %v", got)
	}
}
