package wall

import (
	"testing"
	"time"

	"kioskwall/rfb"
)

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: 2 * time.Second, Max: time.Minute, Auth: 10 * time.Minute}
	tests := []struct {
		failures int
		auth     bool
		lo, hi   time.Duration
	}{
		{1, false, time.Second, 2 * time.Second},
		{2, false, 2 * time.Second, 4 * time.Second},
		{3, false, 4 * time.Second, 8 * time.Second},
		{10, false, 30 * time.Second, time.Minute},
		{100, false, 30 * time.Second, time.Minute},
		{1, true, 10 * time.Minute, 12 * time.Minute},
	}
	for _, tt := range tests {
		for _, r := range []float64{0, 0.5, 0.999} {
			got := b.Next(tt.failures, tt.auth, func() float64 { return r })
			if got < tt.lo || got > tt.hi {
				t.Errorf("Next(%d, auth=%v) with jitter %v = %v, want within [%v, %v]", tt.failures, tt.auth, r, got, tt.lo, tt.hi)
			}
		}
	}
	// Jitter spreads a campus's kiosks: the same failure count gives different waits.
	rnd := jitter(1)
	seen := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		seen[b.Next(4, false, rnd)] = true
	}
	if len(seen) < 10 {
		t.Errorf("20 retries gave only %d distinct waits", len(seen))
	}
}

func TestRampDelay(t *testing.T) {
	ramp := 20 * time.Second
	if d := rampDelay(0, 1000, ramp); d != 0 {
		t.Errorf("first kiosk waits %v", d)
	}
	if d := rampDelay(500, 1000, ramp); d != 10*time.Second {
		t.Errorf("middle kiosk waits %v, want 10s", d)
	}
	if d := rampDelay(999, 1000, ramp); d >= ramp {
		t.Errorf("last kiosk waits %v, at least the whole ramp", d)
	}
	// No more than n/ramp-seconds kiosks start in any one second.
	perSecond := map[int64]int{}
	for i := 0; i < 1000; i++ {
		perSecond[int64(rampDelay(i, 1000, ramp)/time.Second)]++
	}
	for s, n := range perSecond {
		if n > 50 {
			t.Errorf("%d kiosks dialled in second %d", n, s)
		}
	}
}

func TestStateFor(t *testing.T) {
	for f, want := range map[rfb.Failure]State{
		rfb.FailRefused: StateOffline, rfb.FailTimeout: StateOffline, rfb.FailClosed: StateOffline,
		rfb.FailUnreachable: StateOffline, rfb.FailAuth: StateAuthFailed, rfb.FailTooManyAttempts: StateAuthFailed,
		rfb.FailRejected: StateAuthFailed, rfb.FailProtocol: StateError, rfb.FailNoSecurity: StateError,
	} {
		if got := stateFor(f); got != want {
			t.Errorf("stateFor(%s) = %s, want %s", f, got, want)
		}
	}
}
