package sim

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// loopbackLast is 127.255.255.255, the last address of 127.0.0.0/8.
const loopbackLast = 0x7fffffff

// kioskHost returns the address of kiosk i: base plus i, carrying into the
// higher octets (127.0.1.255 is followed by 127.0.2.0). Every address must
// stay inside 127.0.0.0/8: on Linux the whole block reaches the loopback
// interface without configuration, so a fleet needs no set-up, and it never
// touches a real network.
func kioskHost(base netip.Addr, i int) (netip.Addr, error) {
	if !base.Is4() || !base.IsLoopback() {
		return netip.Addr{}, fmt.Errorf("sim: base address %s is not in 127.0.0.0/8; simulated kiosks listen on loopback addresses only", base)
	}
	b := base.As4()
	n := uint64(binary.BigEndian.Uint32(b[:])) + uint64(i)
	if i < 0 || n > loopbackLast {
		return netip.Addr{}, fmt.Errorf("sim: kiosk %d would be at base %s + %d, past 127.255.255.255; use a lower base address or fewer kiosks", i+1, base, i)
	}
	binary.BigEndian.PutUint32(b[:], uint32(n))
	return netip.AddrFrom4(b), nil
}
