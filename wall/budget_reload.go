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
// What was measured stays: byte counts, rates, and the debts of the token
// buckets, so a line that was just busy gets no fresh burst from a reload.
// A line whose cap changed is judged by the new one from now: its
// CapSince is now, and its busiest window counts only what it reads from
// now on, as does its window limit, so a raised cap gives its room at
// once. Connections already paced follow the new caps at their next read
// (the chunk of a narrow line too). A connection that was not paced (no
// cap on its site or the total) is paced from then on, and its receive
// buffer shrinks at once; one whose caps are all gone asks for a large one
// (see Budgets). Request slots
// change without breaking the ones held: a line that shrank hands no slot
// on until fewer than its new count are held (see give), a line that grew
// grants its waiters at once, and a line whose cap is gone lets every
// waiter go.
func (b *Budgets) SetCaps(caps config.Budgets) {
	for _, pc := range b.setCaps(caps) {
		pc.fitBuffer()
	}
}

// setCaps does SetCaps's work under b.mu, and returns the connections that
// were paced and are no more, or the other way round.
func (b *Budgets) setCaps(caps config.Budgets) []*PacedConn {
	b.mu.Lock()
	defer b.mu.Unlock()
	wasPaced := map[*budgetSite]bool{}
	for _, s := range b.sites {
		wasPaced[s] = b.pacedLocked(s)
	}
	now := b.clock.Now()
	if total := max(int64(caps.Total), 0); total != capOf(b.total) {
		b.total = b.recap(b.total, total, now, b.newTotal)
		b.totalSince = now
		b.all.judgeFrom(now)
	}
	for name, s := range b.sites {
		b.recapSite(s, int64(caps.Sites[name]), now)
	}
	for name, bps := range caps.Sites {
		if b.sites[name] == nil {
			s := &budgetSite{name: name, capSince: b.start}
			b.sites[name] = s
			b.recapSite(s, int64(bps), now)
		}
	}
	var refit []*PacedConn
	for s, was := range wasPaced {
		if was != b.pacedLocked(s) {
			for pc := range s.conns {
				refit = append(refit, pc)
			}
		}
	}
	return refit
}

// recapSite gives site s a cap of bps, if that is a change. b.mu is held.
func (b *Budgets) recapSite(s *budgetSite, bps int64, now time.Time) {
	if max(bps, 0) == s.capBPS {
		return
	}
	s.line = b.recap(s.line, bps, now, b.newLine)
	s.capBPS = capOf(s.line)
	s.capSince = now
	s.meter.judgeFrom(now)
}

func capOf(l *budgetLine) int64 {
	if l == nil {
		return 0
	}
	return l.bps
}

// recap returns line l with a cap of bps: nil without a cap, a new line
// made by mk where there was none, or l itself retuned. Waiters are granted
// the slots they may take now. b.mu is held.
func (b *Budgets) recap(l *budgetLine, bps int64, now time.Time, mk func(int64, time.Time) *budgetLine) *budgetLine {
	switch {
	case bps <= 0 && l == nil:
		return nil
	case bps <= 0:
		// Holders of this line's slots give them back to it later; it
		// must let everyone through meanwhile.
		l.slots.size = math.MaxInt
		b.grantLocked(&l.slots)
		return nil
	case l == nil:
		return mk(bps, now)
	case l.bps == bps:
		return l
	}
	fresh := mk(bps, now)
	l.bps = bps
	l.all.refill(now) // the time passed is paid at the old rate
	l.all = retune(l.all, fresh.all)
	if l.classed {
		for c := range l.class {
			l.class[c].refill(now)
			l.class[c] = retune(l.class[c], fresh.class[c])
		}
	}
	l.slots.size = fresh.slots.size
	l.chunk = fresh.chunk
	l.window.rate = fresh.window.rate
	l.window.judgeFrom(now)
	b.grantLocked(&l.slots)
	return l
}

// retune gives a bucket the rate and sizes of fresh and keeps its tokens:
// a debt stays to be paid, credit beyond the new burst is dropped.
func retune(old, fresh tokenBucket) tokenBucket {
	fresh.tokens = min(max(old.tokens, fresh.floor), fresh.size)
	fresh.at = old.at
	return fresh
}

// grantLocked hands the free slots of q to its waiters, in their turn.
// b.mu is held.
func (b *Budgets) grantLocked(q *slotQueue) {
	for q.held < q.size && len(q.queue) > 0 {
		q.held++
		b.passLocked(q)
	}
}
