package bench

import (
	"math"
	"testing"
)

func TestByClass(t *testing.T) {
	start := []SimKiosk{
		{ID: "a", Behaviour: "idle", BytesSent: 100},
		{ID: "b", Behaviour: "idle", BytesSent: 100},
		{ID: "c", Behaviour: "interactive", BytesSent: 0},
		// d connected during the measurement: it counts from zero.
	}
	end := []SimKiosk{
		{ID: "a", Behaviour: "idle", BytesSent: 300},
		{ID: "b", Behaviour: "idle", BytesSent: 500},
		{ID: "c", Behaviour: "interactive", BytesSent: 1000},
		{ID: "d", Behaviour: "idle", BytesSent: 200},
	}
	got := byClass(start, end, []string{"a", "c"}, 10)
	want := []ClassResult{
		{Class: "watched interactive", Watched: true, Behaviour: "interactive", Kiosks: 1, BytesPerSecPerKiosk: 100, Share: 1000.0 / 1800},
		{Class: "unwatched idle", Behaviour: "idle", Kiosks: 2, BytesPerSecPerKiosk: 30, Share: 600.0 / 1800},
		{Class: "watched idle", Watched: true, Behaviour: "idle", Kiosks: 1, BytesPerSecPerKiosk: 20, Share: 200.0 / 1800},
	}
	if len(got) != len(want) {
		t.Fatalf("byClass = %+v; want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Class != w.Class || g.Watched != w.Watched || g.Behaviour != w.Behaviour || g.Kiosks != w.Kiosks ||
			math.Abs(g.BytesPerSecPerKiosk-w.BytesPerSecPerKiosk) > 1e-9 || math.Abs(g.Share-w.Share) > 1e-9 {
			t.Errorf("class %d = %+v; want %+v", i, g, w)
		}
	}
	if got := byClass(start, end, nil, 0); got != nil {
		t.Errorf("byClass over no time = %+v; want nil", got)
	}
}
