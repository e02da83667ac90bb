package wall

import (
	"context"
	"slices"
	"time"
)

// slotQueue is a counting semaphore whose free slots go to the most urgent
// waiter (see SlotClaim), so that on a busy line the kiosks people watch
// are asked first and every other kiosk still gets its turn. Its fields are
// guarded by Budgets.mu.
type slotQueue struct {
	size  int
	held  int
	queue []*slotWaiter // in arrival order, which breaks ties
}

// SlotClaim is how urgent a waiter's update request is.
type SlotClaim struct {
	// Due is when the kiosk's request fell due: earlier goes first.
	Due time.Time
	// Grace is how late an unwatched kiosk may be before it goes with the
	// watched ones (Schedule: its own interval).
	Grace time.Duration
	// Watched reports whether a page shows the kiosk now; nil means no.
	Watched func() bool
}

type slotWaiter struct {
	claim   SlotClaim
	ready   chan struct{} // closed when the slot is handed over
	granted bool
}

// first reports whether claim a goes before claim b at now: watched (or
// unwatched but later than its grace) before the rest, then by due time.
func (a SlotClaim) first(b SlotClaim, now time.Time) bool {
	ua, ub := a.urgent(now), b.urgent(now)
	if ua != ub {
		return ua
	}
	return a.Due.Before(b.Due)
}

func (c SlotClaim) urgent(now time.Time) bool {
	return (c.Watched != nil && c.Watched()) || (!c.Due.IsZero() && now.Sub(c.Due) > c.Grace)
}

// take waits for a slot of q or for ctx to end.
func (b *Budgets) take(ctx context.Context, q *slotQueue, claim SlotClaim) error {
	b.mu.Lock()
	if q.held < q.size && len(q.queue) == 0 {
		q.held++
		b.mu.Unlock()
		return nil
	}
	w := &slotWaiter{claim: claim, ready: make(chan struct{})}
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
		b.give(q)
		return ctx.Err()
	}
	q.queue = slices.DeleteFunc(q.queue, func(x *slotWaiter) bool { return x == w })
	b.mu.Unlock()
	return ctx.Err()
}

// give returns a slot of q, handing it straight to the most urgent waiter.
func (b *Budgets) give(q *slotQueue) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(q.queue) == 0 || q.held > q.size {
		// Nobody waits, or the line shrank: the slot is gone.
		q.held--
		return
	}
	now := b.clock.Now()
	best := 0
	for i, w := range q.queue[1:] {
		if w.claim.first(q.queue[best].claim, now) {
			best = i + 1
		}
	}
	w := q.queue[best]
	q.queue = slices.Delete(q.queue, best, best+1)
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
