package wall

import (
	"context"
	"sync"
)

// slotHolder is a session's claim on its site's update request slots (see
// Budgets.Acquire). Waiting for a slot happens in a goroutine of its own, so
// that the session keeps noticing viewers while it waits; the holder owns
// that goroutine, and release and close end it.
type slotHolder struct {
	b    *Budgets // nil: the line has no budget and every request may go
	site string
	ctx  context.Context

	results chan func() // a granted slot's release func, or nil when waiting failed
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	waiting bool
	rel     func() // the slot held, if any
}

func newSlotHolder(ctx context.Context, b *Budgets, site string) *slotHolder {
	return &slotHolder{b: b, site: site, ctx: ctx, results: make(chan func(), 1)}
}

// held reports whether the session may send a thumbnail request now.
func (h *slotHolder) held() bool { return h.b == nil || h.rel != nil }

// want starts waiting for a slot with the given urgency, unless the holder
// already waits or holds one.
func (h *slotHolder) want(claim SlotClaim) {
	if h.held() || h.waiting {
		return
	}
	h.waiting = true
	ctx, cancel := context.WithCancel(h.ctx)
	h.cancel = cancel
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		rel, err := h.b.AcquireFor(ctx, h.site, claim)
		if err != nil {
			rel = nil
		}
		h.results <- rel
	}()
}

// granted delivers the outcome of want to the session's select; it is nil
// (never ready) when nothing is awaited.
func (h *slotHolder) granted() <-chan func() {
	if !h.waiting {
		return nil
	}
	return h.results
}

// got records what granted delivered.
func (h *slotHolder) got(rel func()) {
	h.waiting = false
	h.cancel()
	h.wg.Wait()
	h.rel = rel
}

// release gives back the slot held and stops any wait for one.
func (h *slotHolder) release() {
	if h.waiting {
		h.got(<-h.stopWaiting())
	}
	if h.rel != nil {
		h.rel()
		h.rel = nil
	}
}

// stopWaiting cancels the wait and returns the channel its outcome arrives on.
func (h *slotHolder) stopWaiting() <-chan func() {
	h.cancel()
	return h.results
}

// close gives everything back; the session calls it when it ends.
func (h *slotHolder) close() { h.release() }

// contended reports whether another kiosk waits for a slot of the line.
func (h *slotHolder) contended() bool { return h.b != nil && h.b.Contended(h.site) }

// contention is closed when a kiosk starts waiting for a slot; nil (never
// ready) without budgets or without a slot to give back.
func (h *slotHolder) contention() <-chan struct{} {
	if h.b == nil || h.rel == nil {
		return nil
	}
	return h.b.Contention()
}
