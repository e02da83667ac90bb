package wall

import (
	"math"
	"time"
)

// tokenBucket counts bytes. Tokens may go below zero: a read is charged
// after it happened, for what it returned (its size is unknown before), and
// the debt makes the next read wait. Charging before would have to reserve a
// chunk for every connection blocked in Read, most of which are idle.
type tokenBucket struct {
	rate   float64 // bytes per second
	size   float64 // the most tokens held: the burst
	floor  float64 // the least tokens held; -Inf keeps every debt
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newTokenBucket(rate, size, floor float64, now time.Time) tokenBucket {
	return tokenBucket{rate: rate, size: size, floor: floor, tokens: size, at: now}
}

// refill adds what the rate gave since the last refill. A clock that went
// back adds nothing and does not move the reference.
func (b *tokenBucket) refill(now time.Time) {
	if dt := now.Sub(b.at); dt > 0 {
		b.tokens = min(b.size, b.tokens+b.rate*dt.Seconds())
		b.at = now
	}
}

func (b *tokenBucket) take(n float64) { b.tokens = max(b.tokens-n, b.floor) }

// debtTime is how long until the bucket is out of debt, if nobody else
// takes from it meanwhile. Less than a byte of debt counts as paid: the
// refill's floating point would otherwise leave a nanosecond to wait.
func (b *tokenBucket) debtTime() time.Duration {
	if b.tokens > -1 {
		return 0
	}
	if b.rate <= 0 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(math.Ceil(-b.tokens / b.rate * float64(time.Second)))
}

// Classes of connections on a line.
const (
	classThumb = iota
	classLive
)

// budgetLine is one capped line. A site's line works in the way of a
// two-class hierarchical token bucket: the line's bucket holds the cap, and
// each class has a bucket of its guaranteed share. A connection may read
// when the line is out of debt (it borrows what the other class leaves) or
// when its own class is (its guarantee). Over any window the line gives no
// more than its bucket allows up to the last borrowing read, and after that
// only the two guaranteed rates, which add up to the cap: so the reads stay
// within rate x window + line burst + class bursts + a chunk per reader.
// The total's line has no classes: its fair queue divides it between the
// sites, and their classes within each site (see fairQueue).
type budgetLine struct {
	bps     int64
	all     tokenBucket
	classed bool
	class   [2]tokenBucket
	slots   slotQueue
	chunk   int         // the most one read takes (see lineChunk)
	window  windowLimit // the second limit (see Budgets)
	// inflight is the bytes that reads let through and not yet charged may
	// bring: a chunk each.
	inflight float64
	// held counts the readers of each class that its window holds.
	held [2]int
}

// newBudgetLine makes a line of bps bits per second, with classes when
// liveShare is above 0. absorb is what the kernel may hold per connection
// (twice the receive buffer asked for); it sizes the request slots, as the
// Budgets comment explains.
func newBudgetLine(bps int64, liveShare float64, chunk, absorb int, now time.Time) *budgetLine {
	rate := float64(bps) / 8
	burst := max(4*float64(chunk), rate*0.020)
	l := &budgetLine{bps: bps, all: newTokenBucket(rate, burst, math.Inf(-1), now), classed: liveShare > 0,
		chunk: lineChunk(rate, chunk), window: newWindowLimit(rate)}
	if l.classed {
		// A class that borrowed keeps at most its own burst of debt, so
		// after a quiet spell of the other class its guarantee returns
		// within one burst time instead of paying back all it borrowed.
		for c, share := range [2]float64{1 - liveShare, liveShare} {
			size := burst * share
			l.class[c] = newTokenBucket(rate*share, size, -size, now)
		}
	}
	l.slots.size = requestSlots(rate, burst, float64(chunk), float64(absorb))
	return l
}

// minReadChunk is the least read chunk of a narrow line.
const minReadChunk = 256

// lineChunk is the read chunk of a line of rate bytes per second: chunk,
// halved while it is more than a quarter of the cap's margin, down to
// minReadChunk. The window limit keeps room for every read under way (see
// Budgets), and room kept is room a busy line does not use: with this a
// read keeps at most 1.25% of a 10 s window. Lines of 140 kbit/s and more
// keep the 2 KiB default; 64 kbit/s reads 512 bytes at a time.
func lineChunk(rate float64, chunk int) int {
	margin := capMargin * capWindow.Seconds() * rate
	for chunk > minReadChunk && float64(chunk) > margin/4 {
		chunk /= 2
	}
	return chunk
}

// requestSlots is how many kiosks of a line may have a request outstanding:
// their receive buffers and chunks, with the line and class bursts, fill
// half the margin of the cap (see Budgets).
func requestSlots(rate, burst, chunk, absorb float64) int {
	margin := capMargin * capWindow.Seconds() * rate
	return max(1, int((margin/2-2*burst)/(absorb+chunk)))
}

func classOf(live bool) int {
	if live {
		return classLive
	}
	return classThumb
}

// bucketWait is how long a connection of class c must wait for the
// line's buckets before it may read.
func (l *budgetLine) bucketWait(now time.Time, c int) time.Duration {
	l.all.refill(now)
	if !l.classed {
		return l.all.debtTime()
	}
	cb := &l.class[c]
	cb.refill(now)
	return min(l.all.debtTime(), cb.debtTime())
}

// windowWait is how long a connection of class c must wait for the line's
// window limit before it may read chunk bytes: room for them and for the
// reads under way. Where the window holds readers of the other class
// that are within their class's guarantee while c reads beyond its own,
// c lets them go first, as its buckets would if they were what held the
// line; it looks again once the line could have read a chunk.
func (l *budgetLine) windowWait(now time.Time, c int, chunk float64) time.Duration {
	if d := l.window.wait(now, l.inflight+chunk); d > 0 {
		return d
	}
	if !l.classed || l.held[1-c] == 0 {
		return 0
	}
	mine, other := &l.class[c], &l.class[1-c]
	mine.refill(now)
	other.refill(now)
	if mine.debtTime() > 0 && other.debtTime() == 0 {
		return readTime(chunk, l.all.rate)
	}
	return 0
}

// wait is how long a connection of class c must wait for both of the
// line's limits before it may read chunk bytes.
func (l *budgetLine) wait(now time.Time, c int, chunk float64) time.Duration {
	return max(l.bucketWait(now, c), l.windowWait(now, c, chunk))
}

func (l *budgetLine) charge(now time.Time, live bool, n int) {
	l.window.add(now, n)
	l.all.refill(now)
	l.all.take(float64(n))
	if l.classed {
		c := &l.class[classOf(live)]
		c.refill(now)
		c.take(float64(n))
	}
}
