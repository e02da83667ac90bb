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
// second, and the busiest 10 s window since the line's cap took effect,
// which is what a cap is judged by. Its fields are guarded by Budgets.mu.
type byteMeter struct {
	total int64
	ring  [meterSlots]int64
	cur   int64 // number of the current slot, counted from the Unix epoch
	// Once a cap changed (rejudged), only bytes of slots from on count
	// towards sum and worst.
	rejudged bool
	from     int64
	sum      int64 // bytes of the window ending with the current slot that count
	worst    int64 // the largest sum seen
}

// judgeFrom starts the busiest window afresh at now, when a new cap took
// effect: windows that began before count only the bytes read from now's
// slot on (its earlier bytes too, so that an overrun is never hidden).
func (m *byteMeter) judgeFrom(now time.Time) {
	m.advance(now)
	m.rejudged, m.from = true, m.cur
	m.sum = m.ring[ringIndex(m.cur, meterSlots)]
	m.worst = m.sum
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
		i := ringIndex(m.cur, meterSlots)
		if !m.rejudged || m.cur-int64(meterSlots) >= m.from {
			m.sum -= m.ring[i] // the slot leaving the window counted
		}
		m.ring[i] = 0
	}
}

func (m *byteMeter) add(now time.Time, n int64) {
	m.advance(now)
	m.ring[ringIndex(m.cur, meterSlots)] += n
	m.sum += n
	m.total += n
	m.worst = max(m.worst, m.sum)
}

// lastSecond is the bytes of the last whole second, the current slot left
// out because it has only begun.
func (m *byteMeter) lastSecond() int64 {
	var n int64
	for k := int64(1); k <= int64(time.Second/meterSlot); k++ {
		n += m.ring[ringIndex(m.cur-k, meterSlots)]
	}
	return n
}

// ringIndex places a slot number in a ring of n slots (the meter's or the
// window limit's); slot numbers before the epoch (a test clock's) are
// negative.
func ringIndex(slot int64, n int) int {
	m := int64(n)
	return int((slot%m + m) % m)
}
