package wall

import (
	"math"
	"time"

	"kioskwall/config"
)

// SetCaps changes the caps of running budgets, as a reloaded config file
// asks; a cap of zero or less, and a site that is not listed, means no cap
// of its own, as in NewBudgets.
//
// What was measured stays: byte counts, rates, the busiest window, and the
// debts of the token buckets, so a line that was just busy gets no fresh
// burst from a reload. Connections already paced follow the new caps at
// their next read. Request slots change without breaking the ones held: a
// line that shrank hands no slot on until fewer than its new count are held
// (see give), a line that grew grants its waiters at once, and a line whose
// cap is gone lets every waiter go.
func (b *Budgets) SetCaps(caps config.Budgets) {
	b.mu.Lock()
	now := b.clock.Now()
	var grants []*slotQueue // a slot for the most urgent waiter of each entry
	b.total = b.recap(b.total, int64(caps.Total), now, &grants)
	for name, s := range b.sites {
		s.line = b.recap(s.line, int64(caps.Sites[name]), now, &grants)
		s.capBPS = capOf(s.line)
	}
	for name, bps := range caps.Sites {
		if b.sites[name] == nil {
			s := &budgetSite{name: name}
			s.line = b.recap(nil, int64(bps), now, &grants)
			s.capBPS = capOf(s.line)
			b.sites[name] = s
		}
	}
	b.mu.Unlock()
	// Each grant was counted as held above; give hands it to the waiter
	// the line's own order picks, or takes it back if that waiter left.
	for _, q := range grants {
		b.give(q)
	}
}

func capOf(l *budgetLine) int64 {
	if l == nil {
		return 0
	}
	return l.bps
}

// recap returns line l with a cap of bps: nil without a cap, a new line
// where there was none, or l itself retuned. Slots that waiters may take
// now are added to grants. b.mu is held.
func (b *Budgets) recap(l *budgetLine, bps int64, now time.Time, grants *[]*slotQueue) *budgetLine {
	switch {
	case bps <= 0 && l == nil:
		return nil
	case bps <= 0:
		// Holders of this line's slots give them back to it later; it
		// must let everyone through meanwhile.
		l.slots.size = math.MaxInt
		grantLocked(&l.slots, grants)
		return nil
	case l == nil:
		return b.newLine(bps, now)
	case l.bps == bps:
		return l
	}
	fresh := b.newLine(bps, now)
	l.bps = bps
	l.all.refill(now) // the time passed is paid at the old rate
	l.all = retune(l.all, fresh.all)
	for c := range l.class {
		l.class[c].refill(now)
		l.class[c] = retune(l.class[c], fresh.class[c])
	}
	l.slots.size = fresh.slots.size
	grantLocked(&l.slots, grants)
	return l
}

// retune gives a bucket the rate and sizes of fresh and keeps its tokens:
// a debt stays to be paid, credit beyond the new burst is dropped.
func retune(old, fresh tokenBucket) tokenBucket {
	fresh.tokens = min(max(old.tokens, fresh.floor), fresh.size)
	fresh.at = old.at
	return fresh
}

// grantLocked counts as held the free slots of q that its waiters can
// take, and lists one grant for each. Budgets.mu is held.
func grantLocked(q *slotQueue, grants *[]*slotQueue) {
	for n := 0; q.held < q.size && n < len(q.queue); n++ {
		q.held++
		*grants = append(*grants, q)
	}
}
