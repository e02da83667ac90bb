package wall

import (
	"context"
	"slices"
)

// slotQueue is a counting semaphore served in arrival order, so that on a
// busy line every kiosk gets its turn; a plain channel semaphore would let a
// lucky kiosk win again and again. Its fields are guarded by Budgets.mu.
type slotQueue struct {
	size  int
	held  int
	queue []*slotWaiter
}

type slotWaiter struct {
	ready   chan struct{} // closed when the slot is handed over
	granted bool
}

// take waits for a slot of q or for ctx to end.
func (b *Budgets) take(ctx context.Context, q *slotQueue) error {
	b.mu.Lock()
	if q.held < q.size && len(q.queue) == 0 {
		q.held++
		b.mu.Unlock()
		return nil
	}
	w := &slotWaiter{ready: make(chan struct{})}
	q.queue = append(q.queue, w)
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

// give returns a slot of q, handing it straight to the longest waiter.
func (b *Budgets) give(q *slotQueue) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(q.queue) == 0 {
		q.held--
		return
	}
	w := q.queue[0]
	q.queue[0] = nil
	q.queue = q.queue[1:]
	w.granted = true
	close(w.ready)
}
