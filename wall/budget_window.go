package wall

import "time"

// The window limit's resolution and reach. Its slots are finer than the
// byte meter's so that judging on slot edges costs little of the line
// (about two slots' worth of bytes in ten seconds, 0.4%); it judges every
// window from 10 to 11 s long, because the cap is read as a rate over
// whatever span a reader of /api/stats measures: the benchmark's span is
// 10 to 10.5 s, and a late or lost reading makes it longer.
const (
	windowSlot  = 20 * time.Millisecond
	windowLong  = capWindow + time.Second
	windowSlots = int(windowLong/windowSlot) + 1
)

// windowLimit is a capped line's second limit, beside its token bucket: a
// read may start only while, for every window of 10 to 11 s that ends now,
// the bytes read in it plus reserve (what reads already under way and this
// one may still bring) fit in rate x its length. Bytes are kept in slots;
// a window is judged by every slot it touches, and by the shortest length
// a window starting in its oldest slot can have, so the judgment never
// counts fewer bytes or more time than the true window has. Its fields are
// guarded by Budgets.mu.
type windowLimit struct {
	rate  float64 // bytes per second
	ring  [windowSlots]int64
	cur   int64 // number of the current slot, counted from the Unix epoch
	total int64 // bytes in the ring
}

func newWindowLimit(rate float64) windowLimit { return windowLimit{rate: rate} }

// advance moves the ring to now, emptying the slots it passes.
func (w *windowLimit) advance(now time.Time) {
	slot := now.UnixNano() / int64(windowSlot)
	if slot <= w.cur {
		return // the same slot, or a clock that went back
	}
	if slot-w.cur >= int64(windowSlots) {
		w.ring, w.total, w.cur = [windowSlots]int64{}, 0, slot
		return
	}
	for w.cur < slot {
		w.cur++
		i := ringIndex(w.cur, windowSlots)
		w.total -= w.ring[i]
		w.ring[i] = 0
	}
}

func (w *windowLimit) add(now time.Time, n int) {
	w.advance(now)
	w.ring[ringIndex(w.cur, windowSlots)] += int64(n)
	w.total += int64(n)
}

// judgeFrom forgets what was read before now's slot: a new cap is judged
// from when it took effect, as the byte meter judges it (see
// byteMeter.judgeFrom), so a raised cap gives its room at once and a
// lowered one is not held to what the old one allowed.
func (w *windowLimit) judgeFrom(now time.Time) {
	w.advance(now)
	keep := w.ring[ringIndex(w.cur, windowSlots)]
	w.ring, w.total = [windowSlots]int64{}, keep
	w.ring[ringIndex(w.cur, windowSlots)] = keep
}

// wait is how long until a read may start with reserve bytes of reads
// that may still be charged, if nothing else is read meanwhile. A reserve
// larger than half the shortest window's bytes counts as that half, so
// that a line whose reserve cannot fit is slowed, not stopped.
//
// Windows starting in slot j hold the bytes of slots j to now, S_j, and
// are at least max(10 s, now - end of slot j) long; they are judged until
// they are longer than 11 s. So the read waits, for every j whose S_j (with
// the reserve) is more than 10 s of the rate, until the windows starting
// in j are long enough for S_j or too long to be judged. A younger slot
// holds no more bytes than an older one, so the scan stops at the first
// slot within 10 s of the rate; the latest of those times is the earliest
// at which every window judged then fits.
func (w *windowLimit) wait(now time.Time, reserve float64) time.Duration {
	w.advance(now)
	short := w.rate * capWindow.Seconds()
	bytes := float64(w.total) + min(reserve, short/2)
	if bytes <= short+1 { // less than a byte over counts as fitting
		return 0
	}
	need := now
	longest := w.rate * windowLong.Seconds()
	for j := w.cur - int64(windowSlots) + 1; j <= w.cur && bytes > short+1; j++ {
		end := time.Unix(0, (j+1)*int64(windowSlot))
		if at := end.Add(readTime(min(bytes, longest), w.rate)); at.After(need) {
			need = at
		}
		bytes -= float64(w.ring[ringIndex(j, windowSlots)])
	}
	return need.Sub(now)
}
