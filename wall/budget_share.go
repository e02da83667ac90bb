package wall

import (
	"math"
	"slices"
	"time"
)

// fairQueue divides the total cap between the sites that want it, max-min
// fair, the way start-time fair queueing divides a link: the total's bucket
// says when the next read may go, the queue says whose it is. Each site
// keeps a tag, the bytes it was served through the total; a connection
// waiting for the total may read only while its site's tag is within a
// quantum of the least served waiting site's, so the sites that wait are
// served bytes in step and split what is left equally. A site that needs
// less than that never waits long, and a site held by its own cap does not
// wait for the total at all: both keep what they use, and the others share
// the rest. Within a site, its live and thumbnail classes share the site's
// turn the same way, weighted by LiveShare, so a live view keeps its
// priority inside its site's share.
//
// A site that was idle must not come back with credit for the time it did
// not use: the queue's virtual time follows the tags of the sites served,
// and a tag is never let fall more than two quanta behind it. One quantum
// is how far the others may lead while it waits; the second lets its
// connection step out of the queue to read and back in without losing its
// place (with one, a site of one connection lost up to 10% of its share to
// sites of many in the simulations).
type fairQueue struct {
	quantum float64       // bytes a site may run ahead of the least served
	weight  [2]float64    // of the classes within a site: thumbnails, live
	v       float64       // virtual time; never decreases
	waiting []*budgetSite // sites with a connection waiting for the total
}

// lag is how far a tag may fall behind the virtual time.
func (q *fairQueue) lag() float64 { return 2 * q.quantum }

// shareTags is a site's account in the total's fair queue; b.mu guards it.
type shareTags struct {
	served  float64    // bytes read through the total, in virtual time
	class   [2]float64 // bytes read by each class, over its weight
	classV  float64    // the site's own virtual time among its classes
	waiting [2]int     // its connections of each class waiting for the total
}

// budgetReader is one connection as the budgets see it: its site, and
// whether it waits in the total's fair queue and in which class.
type budgetReader struct {
	site   *budgetSite
	queued bool
	class  int
	// The lines whose inflight counts its chunk (inChunk bytes), from when
	// it may read until its read is charged.
	in      [2]*budgetLine
	inChunk float64
	// The line whose window holds it, and in which class.
	heldBy    *budgetLine
	heldClass int
}

// newFairQueue makes the queue of a total; newTotal sets its quantum.
func newFairQueue(liveShare float64) fairQueue {
	// A LiveShare of 1 still leaves thumbnails a weight, so that their tag
	// stays finite; they go only when no live view waits.
	return fairQueue{weight: [2]float64{max(1-liveShare, 0.001), liveShare}}
}

// join puts r in the queue in class c (moving it if it waited in the
// other). A site or class that starts waiting gives up credit beyond the
// lag.
func (q *fairQueue) join(r *budgetReader, c int) {
	if r.queued && r.class == c {
		return
	}
	q.leave(r)
	t := &r.site.share
	if t.waiting == [2]int{} {
		t.served = max(t.served, q.v-q.lag())
		q.waiting = append(q.waiting, r.site)
	}
	if t.waiting[c] == 0 {
		t.class[c] = max(t.class[c], t.classV-q.lag())
	}
	t.waiting[c]++
	r.queued, r.class = true, c
}

// leave takes r out of the queue, if it waits there.
func (q *fairQueue) leave(r *budgetReader) {
	if !r.queued {
		return
	}
	t := &r.site.share
	t.waiting[r.class]--
	if t.waiting == [2]int{} {
		q.waiting = slices.DeleteFunc(q.waiting, func(s *budgetSite) bool { return s == r.site })
	}
	r.queued = false
}

// ahead is how many bytes r's site or class must let the others read
// before r may: 0 when it may read now. r waits in the queue.
func (q *fairQueue) ahead(r *budgetReader) float64 {
	least := math.Inf(1)
	for _, s := range q.waiting {
		least = min(least, s.share.served)
	}
	t := &r.site.share
	gap := t.served - least - q.quantum
	leastClass := math.Inf(1)
	for c, n := range t.waiting {
		if n > 0 {
			leastClass = min(leastClass, t.class[c])
		}
	}
	// Class tags count bytes over the class's weight: the other class
	// closes a gap by reading it times its own weight.
	classGap := (t.class[r.class] - leastClass - q.quantum) * q.weight[1-r.class]
	return max(0, gap, classGap)
}

// served books n bytes read by a connection of site s in class c.
func (q *fairQueue) served(s *budgetSite, c int, n int) {
	t := &s.share
	// A site reading without having waited gets no credit either.
	t.served = max(t.served, q.v-q.lag())
	t.class[c] = max(t.class[c], t.classV-q.lag())
	start, classStart := t.served, t.class[c]
	t.served += float64(n)
	t.class[c] += float64(n) / q.weight[c]
	// Virtual time follows the least served of the sites waiting and the
	// one just served, as a scheduler's clock follows the task it runs.
	least := start
	for _, w := range q.waiting {
		least = min(least, w.share.served)
	}
	q.v = max(q.v, least)
	leastClass := classStart
	for k, n := range t.waiting {
		if n > 0 {
			leastClass = min(leastClass, t.class[k])
		}
	}
	t.classV = max(t.classV, leastClass)
}

// readTime is how long the total takes to read n bytes at rate bytes per
// second.
func readTime(n, rate float64) time.Duration {
	return time.Duration(math.Ceil(n / rate * float64(time.Second)))
}
