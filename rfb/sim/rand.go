package sim

import "math/rand/v2"

// Everything random in a fleet comes from its seed through independent
// streams, so that adding a kind of randomness, or drawing more in one
// stream, never changes what another stream gives.
const (
	streamMix      uint64 = iota + 1 // behaviour dealing, per block
	streamFleet                      // the hospital and its campuses
	streamIdentity                   // per kiosk: site, role, MAC
	streamScript                     // per kiosk: its activity
)

// newRand returns the generator for one stream and one item (a kiosk, a block).
func newRand(seed, stream, item uint64) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix(seed^splitmix(stream)), splitmix(item^splitmix(^stream))))
}

// splitmix is SplitMix64's finaliser: it spreads nearby inputs (kiosk 1 and
// kiosk 2) over unrelated states.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
