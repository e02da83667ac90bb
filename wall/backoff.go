package wall

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Backoff decides how long a kiosk waits before the next connection attempt.
// Failures double the wait up to Max, with jitter so that a campus whose line
// came back is not redialled in one burst. After an authentication failure
// the wait is much longer: VNC servers blacklist an address that keeps
// failing, and a wrong password does not fix itself.
type Backoff struct {
	Initial time.Duration // first retry after a failure
	Max     time.Duration // cap for ordinary failures
	Auth    time.Duration // wait after an authentication failure
}

// DefaultBackoff suits kiosks on leased lines: quick first retry, at most
// two minutes between attempts, ten minutes after a wrong password.
var DefaultBackoff = Backoff{Initial: 2 * time.Second, Max: 2 * time.Minute, Auth: 10 * time.Minute}

// Next returns the wait before attempt number failures+1, given how many
// attempts in a row have failed and whether the last was an auth failure.
// rnd returns a float in [0,1).
func (b Backoff) Next(failures int, authFailed bool, rnd func() float64) time.Duration {
	if authFailed {
		return b.Auth + time.Duration(float64(b.Auth)*0.2*rnd())
	}
	d := b.Initial
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	// Full jitter in the upper half: never less than half the nominal wait.
	return d/2 + time.Duration(float64(d/2)*rnd())
}

// rampDelay spreads the first connection of kiosk number i over the start-up
// ramp, so a thousand kiosks are not dialled in the same second.
func rampDelay(i, n int, ramp time.Duration) time.Duration {
	if n <= 1 || ramp <= 0 {
		return 0
	}
	return time.Duration(int64(ramp) * int64(i) / int64(n))
}

// jitter returns a random fraction source; a seeded one in tests. Every
// session of a fleet draws from it, so it is safe for concurrent use.
func jitter(seed uint64) func() float64 {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}
