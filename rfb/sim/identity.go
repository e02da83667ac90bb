package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// identity is who a kiosk is in the inventory: what the operations team's
// database would hold for it.
type identity struct {
	id    string // "K0001"
	name  string // "Registration West 1"
	site  string // "west"
	role  string
	floor int
	mac   string
}

// hospital is the fleet-wide part of every kiosk's identity.
type hospital struct {
	name  string
	sites []string
}

func newHospital(seed uint64) hospital {
	rng := newRand(seed, streamFleet, 0)
	return hospital{
		name:  hospitals[rng.IntN(len(hospitals))],
		sites: campuses[:3+rng.IntN(len(campuses)-2)],
	}
}

// identities names kiosks 0..n-1. Kiosk i's site, role and MAC come from its
// own stream, and its number counts the kiosks before it with the same role
// and site, so kiosk i is the same in a fleet of any size.
func (h hospital) identities(seed uint64, n int) []identity {
	ids := make([]identity, n)
	seen := make(map[string]int)
	for i := range ids {
		rng := newRand(seed, streamIdentity, uint64(i))
		site := h.sites[rng.IntN(len(h.sites))]
		role := pickRole(rng)
		key := role + " " + titleCase(site)
		seen[key]++
		mac := make([]string, 6)
		// Locally administered, unicast: no real vendor's address space.
		mac[0] = fmt.Sprintf("%02x", byte(rng.Uint32())&^0x03|0x02)
		for j := 1; j < 6; j++ {
			mac[j] = fmt.Sprintf("%02x", byte(rng.Uint32()))
		}
		ids[i] = identity{
			id:    fmt.Sprintf("K%04d", i+1),
			name:  fmt.Sprintf("%s %d", key, seen[key]),
			site:  site,
			role:  role,
			floor: rng.IntN(4),
			mac:   strings.Join(mac, ":"),
		}
	}
	return ids
}

func pickRole(rng *rand.Rand) string {
	total := 0
	for _, r := range roles {
		total += r.weight
	}
	p := rng.IntN(total)
	for _, r := range roles {
		if p < r.weight {
			return r.name
		}
		p -= r.weight
	}
	return roles[len(roles)-1].name
}

// titleCase capitalises an ASCII site name: "west" -> "West".
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
