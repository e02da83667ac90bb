package wall

import "time"

// Resolution of the byte meter: 100 slots of 100 ms make the 10 s window of
// the cap. A window measured on slot edges can miss the true worst window by
// at most one slot's bytes, a 1% error at a steady rate.
const (
	meterSlot  = 100 * time.Millisecond
	meterSlots = int(capWindow / meterSlot)
)

// byteMeter counts bytes in a ring of time slots: the rate of the last
// second, and the busiest 10 s window ever seen, which is what a cap is
// judged by. Its fields are guarded by Budgets.mu.
type byteMeter struct {
	total int64
	ring  [meterSlots]int64
	cur   int64 // number of the current slot, counted from the Unix epoch
	sum   int64 // bytes of the window ending with the current slot
	worst int64 // the largest sum seen
}

// advance moves the ring to now, emptying the slots it passes.
func (m *byteMeter) advance(now time.Time) {
	slot := now.UnixNano() / int64(meterSlot)
	if slot <= m.cur {
		return // the same slot, or a clock that went back
	}
	if slot-m.cur >= int64(meterSlots) {
		m.ring = [meterSlots]int64{}
		m.sum = 0
		m.cur = slot
		return
	}
	for m.cur < slot {
		m.cur++
		i := ringIndex(m.cur)
		m.sum -= m.ring[i]
		m.ring[i] = 0
	}
}

func (m *byteMeter) add(now time.Time, n int64) {
	m.advance(now)
	m.ring[ringIndex(m.cur)] += n
	m.sum += n
	m.total += n
	m.worst = max(m.worst, m.sum)
}

// lastSecond is the bytes of the last whole second, the current slot left
// out because it has only begun.
func (m *byteMeter) lastSecond() int64 {
	var n int64
	for k := int64(1); k <= int64(time.Second/meterSlot); k++ {
		n += m.ring[ringIndex(m.cur-k)]
	}
	return n
}

// ringIndex places a slot number in the ring; slot numbers before the epoch
// (a test clock's) are negative.
func ringIndex(slot int64) int {
	n := int64(meterSlots)
	return int((slot%n + n) % n)
}
