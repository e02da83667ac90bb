package wall

import (
	"context"
	"slices"
	"time"
)

// slotQueue is a counting semaphore whose free slots go to the most urgent
// waiter (see SlotClaim), so that on a busy line the kiosks people watch
// are asked first and every other kiosk still gets its turn. The total's
// slots are shared between sites first: a free slot goes to the waiting
// site that holds the fewest, and among those to the one served longest
// ago, so a site with many kiosks cannot keep the others from being asked
// at all, even on a line of one slot. Its fields are guarded by Budgets.mu.
type slotQueue struct {
	size  int
	held  int
	sites map[*budgetSite]*siteSlots
	turns uint64        // slots handed out so far
	queue []*slotWaiter // in arrival order, which breaks ties
}

// siteSlots is a site's part of a slotQueue.
type siteSlots struct {
	held int    // slots it holds
	last uint64 // the turn it was last given a slot
}

// SlotClaim is how urgent a waiter's update request is.
type SlotClaim struct {
	// Due is when the kiosk's request fell due.
	Due time.Time
	// Grace is how long after Due the request may wait behind others: the
	// claim ranks from Due+Grace (Schedule.grace: none for a watched screen
	// that is changing, more for a quiet one, the class interval for an
	// unwatched kiosk), and an unwatched kiosk goes with the watched ones
	// only once its grace is over.
	Grace time.Duration
	// Watched reports whether a page shows the kiosk now; nil means no.
	Watched func() bool
}

type slotWaiter struct {
	site    *budgetSite
	claim   SlotClaim
	ready   chan struct{} // closed when the slot is handed over
	granted bool
}

// first reports whether claim a goes before claim b at now: watched (or
// unwatched but later than its grace) before the rest, then the one ranked
// from earlier (Due+Grace). Ranked by due time alone, a kiosk nobody
// watches, due since minutes, went before every watched kiosk on a line
// short of slots, and quiet watched kiosks, due every second to catch a
// first change, took most turns from the ones whose screens were changing.
func (a SlotClaim) first(b SlotClaim, now time.Time) bool {
	ua, ub := a.urgent(now), b.urgent(now)
	if ua != ub {
		return ua
	}
	return a.rankedFrom().Before(b.rankedFrom())
}

func (c SlotClaim) urgent(now time.Time) bool {
	return (c.Watched != nil && c.Watched()) || (!c.Due.IsZero() && now.Sub(c.Due) > c.Grace)
}

func (c SlotClaim) rankedFrom() time.Time { return c.Due.Add(c.Grace) }

// before reports whether waiter a is given a free slot of q before b at
// now: the site holding fewer slots first, then the one given a slot
// longest ago, then the more urgent claim.
func (q *slotQueue) before(a, b *slotWaiter, now time.Time) bool {
	sa, sb := q.site(a.site), q.site(b.site)
	switch {
	case sa.held != sb.held:
		return sa.held < sb.held
	case sa.last != sb.last:
		return sa.last < sb.last
	}
	return a.claim.first(b.claim, now)
}

func (q *slotQueue) site(s *budgetSite) *siteSlots {
	if q.sites == nil {
		q.sites = map[*budgetSite]*siteSlots{}
	}
	ss := q.sites[s]
	if ss == nil {
		ss = &siteSlots{}
		q.sites[s] = ss
	}
	return ss
}

// hold counts a slot of q as given to site s.
func (q *slotQueue) hold(s *budgetSite) {
	ss := q.site(s)
	q.turns++
	ss.held, ss.last = ss.held+1, q.turns
}

// unhold counts a slot of q held by site s no more.
func (q *slotQueue) unhold(s *budgetSite) { q.site(s).held-- }

// take waits for a slot of q for site s, or for ctx to end.
func (b *Budgets) take(ctx context.Context, q *slotQueue, s *budgetSite, claim SlotClaim) error {
	b.mu.Lock()
	if q.held < q.size && len(q.queue) == 0 {
		q.held++
		q.hold(s)
		b.mu.Unlock()
		return nil
	}
	w := &slotWaiter{site: s, claim: claim, ready: make(chan struct{})}
	q.queue = append(q.queue, w)
	b.announceContentionLocked()
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	if w.granted {
		// The slot came as the context ended: pass it on.
		b.mu.Unlock()
		b.give(q, s)
		return ctx.Err()
	}
	q.queue = slices.DeleteFunc(q.queue, func(x *slotWaiter) bool { return x == w })
	b.mu.Unlock()
	return ctx.Err()
}

// give returns a slot of q that site s held, handing it straight to the
// waiter next in turn.
func (b *Budgets) give(q *slotQueue, s *budgetSite) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q.unhold(s)
	b.passLocked(q)
}

// passLocked hands a slot of q, counted as held, to the waiter next in
// turn; when nobody waits, or the line shrank, the slot is gone. b.mu is
// held.
func (b *Budgets) passLocked(q *slotQueue) {
	if len(q.queue) == 0 || q.held > q.size {
		q.held--
		return
	}
	now := b.clock.Now()
	best := 0
	for i, w := range q.queue[1:] {
		if q.before(w, q.queue[best], now) {
			best = i + 1
		}
	}
	w := q.queue[best]
	q.queue = slices.Delete(q.queue, best, best+1)
	q.hold(w.site)
	w.granted = true
	close(w.ready)
}

// announceContentionLocked wakes the sessions that hold a slot with a
// request the kiosk has not answered: somebody now waits for a slot, so a
// quiet kiosk should give its slot back. b.mu is held.
func (b *Budgets) announceContentionLocked() {
	if b.contention != nil {
		close(b.contention)
		b.contention = nil
	}
}

// Contention returns a channel that is closed the next time a kiosk queues
// for a request slot on any full line.
func (b *Budgets) Contention() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.contention == nil {
		b.contention = make(chan struct{})
	}
	return b.contention
}

// Contended reports whether kiosks wait for a request slot of site's line
// or of the total.
func (b *Budgets) Contended(site string) bool {
	s := b.site(site)
	b.mu.Lock()
	defer b.mu.Unlock()
	return (s.line != nil && len(s.line.slots.queue) > 0) || (b.total != nil && len(b.total.slots.queue) > 0)
}
