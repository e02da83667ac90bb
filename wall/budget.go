package wall

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"kioskwall/config"
)

// Budgets hold every leased line under its cap. A site is one leased line;
// the total is the server's own uplink. Caps are in bits per second, as lines
// are sold, and a cap bounds the RFB bytes read from the kiosks behind it,
// counted as TCP payload (what a socket read returns): in any 10-second
// window they stay at or below 1.05 x cap x 10 s. The line carries more than
// the payload: TCP/IP headers, and on a busy line the small segments that
// small receive windows make; the live-view test on a real 2 Mbit/s tbf line
// measured 1.075-1.09 line bytes per byte read. So a cap meant to keep a
// line from queueing is set at about 85% of the line's rate (1.7 Mbit/s on
// a 2 Mbit/s line).
//
// Four things together keep that promise, because RFB lets a kiosk decide
// how much it sends once asked and a request cannot be taken back:
//
//   - Paced reads (Conn): a token bucket per capped line. Every read takes
//     at most one chunk and is charged to the site and the total; the next
//     read waits until the buckets are out of debt. The bucket keeps reads
//     smooth, and its burst lets a line that waited idle for an answer
//     catch that time up.
//   - A window limit per capped line, beside the bucket: a read starts only
//     while the bytes read in the last 10 s leave room for it (see below).
//     It is what makes the promise hold on every line, narrow ones too.
//   - Small receive buffers: the kernel holds at most one receive buffer
//     of unread bytes per connection, so a sender cannot get further ahead
//     of the pacing than that.
//   - Request slots (Acquire): only so many kiosks per line may have an
//     update request outstanding, so a fleet-wide burst (every clock turning
//     the minute at once) fills only that many receive buffers.
//
// The arithmetic, with r = cap/8 bytes per second and the margin
// M = 0.05 x 10 s x r (125,000 bytes at 2 Mbit):
//
//   - The bucket alone keeps reads in any window T at or below
//     r*T + 2B + n*c: B is the bucket's burst (B = max(4c, 20 ms of r):
//     8,192 bytes at 2 Mbit), the live and thumbnail classes (see SetLive)
//     hold another B between them (not on the total, whose fair queue
//     shares out its classes without buckets of their own), and each of the
//     n reads under way may bring one chunk (c = 2 KiB) past the moment the
//     debt shows. Below about 850 kbit that is more than M: 2B alone is
//     nearly twice M at 140 kbit (the benchmark read 1.04-1.05 x such caps
//     with the bucket alone). Shrinking B and c to fit was tried (0e95cd0)
//     and held the cap, but left such lines a third used: with one request
//     slot the line waits idle for every answer, and a burst of a few
//     hundred bytes cannot catch that time up.
//   - The line carries up to A more per connection with data in flight: the
//     receive buffer the kernel keeps. Linux doubles the size asked for and
//     never queues more than that; measured, 16 KiB asked gives 32 KiB of
//     which 24 KiB (loopback) or 30 KiB (veth, MTU 1500) fill with data.
//     Thumbnail connections ask for 4 KiB (A = 8 KiB; the tests saw at most
//     7 KiB queued), which still lets one connection carry several KiB per
//     round trip: about 160 KB/s at 50 ms.
//   - Request slots k = max(1, floor((M/2 - 2B) / (A + c))): the receive
//     buffers and chunks of every outstanding kiosk plus the buckets stay in
//     half the margin. At 2 Mbit that is 4 slots, at 20 Mbit 51. Below
//     about 850 kbit not even one slot fits; such a line still gets one,
//     and the window limit holds its cap.
//     The other half covers live connections, which skip the queue (each
//     adds 16 KiB + c at most: three fit at 2 Mbit), and the senders' own
//     socket buffers.
//
// The window limit (windowLimit) lets a read start only while every window
// of 10 to 11 s that ends now, with the read and every read already under
// way counted at a full chunk, holds at most r x its length. Then every
// such window holds at most that, at any cap: take the last read let
// through among those charged in a window; what the window had read
// before was judged then, and what it read after was under way then and
// had its room kept. The points that make this hold:
//
//   - Reads under way are few and known. Reads are charged after they
//     return (their size is unknown before), so a read let through while
//     its connection is idle could bring a chunk at any later time, and
//     most of a fleet's connections sit idle in a read. So a paced read
//     first waits for bytes to arrive (a MSG_PEEK on the socket, through
//     the poller, which keeps the deadline and Close), and asks the
//     budgets only then: a read let through returns at once. Each line
//     counts the chunks of the reads it let through and that are not yet
//     charged, and keeps room for them; that is seldom more than one.
//   - The room kept is room a busy line does not use, so a narrow line
//     reads in smaller chunks (lineChunk): the default 2 KiB halved until
//     one is at most M/4, 1.25% of a 10 s window, down to 256 bytes. Lines
//     of 140 kbit and more keep 2 KiB; 100 kbit reads 1 KiB, 64 kbit (the
//     narrowest line the tests run) 512 bytes. Below 16 kbit the chunk
//     stays at 256 bytes and keeps more of the window; the cap still holds.
//     The bucket's burst and the receive buffers stay as they are.
//   - Windows of 10 to 11 s, not just 10: a cap is read as a rate over
//     whatever span a reader of /api/stats measures (the benchmark's, 10 to
//     10.5 s between readings, longer when a reading is late), and judging
//     only 10 s would let the bucket's burst in the extra half second show
//     as a rate over the cap (4.5% at 140 kbit).
//   - Judged conservatively: bytes are kept in 20 ms slots, a window counts
//     every slot it touches and the shortest length a window starting in
//     its oldest slot can have. That keeps about two slots of a busy line
//     unused (0.4%); with the room kept for reads under way a line kept
//     busy reads 99.0% of its cap at 140 kbit, 99.7-99.8% at 64 kbit and
//     from 256 kbit to 20 Mbit (on the manual clock; the bucket alone gave
//     100%).
//   - A new cap is judged from when it took effect, as the byte meter
//     judges it (judgeFrom): a raised cap gives its room at once, and a
//     lowered one is not held to what the old one allowed.
//   - A read the window holds waits until enough bytes have left it: the
//     ring says when, and the wait counts against the read deadline like
//     the bucket's (see PacedConn).
//   - A busy line is held by its window rather than its bucket, so the
//     window keeps the classes' guarantees too: while it holds readers of
//     one class that is within its guarantee, a class reading beyond its
//     own lets them go first. A site held by its own window is held by its
//     own cap and does not hold the other sites back in the total's fair
//     queue; the total's window holds every site.
//
// When the total binds, the sites that want more than it gives share it
// max-min fair: a site that needs less than an equal share (few busy kiosks,
// or its own cap below that share) keeps what it uses, and the others split
// the rest equally, each never above its own cap. Within a site's share a
// live view keeps its priority: the site's live and thumbnail connections
// divide the share by LiveShare. A fair queue at the total does this (see
// fairQueue): the total's bucket says when the next read may go, the queue
// says which site's it is. Its request slots are shared between sites too:
// a free one goes to the waiting site that holds the fewest, and among
// those to the one given a slot longest ago.
//
// A connection whose site and total both have no cap is not paced at all:
// reads take what the caller asks, and the kernel keeps its own, autotuned,
// receive buffer, which a WAN round trip needs (4 KiB would hold a
// connection to about 160 KB/s at 50 ms). Its bytes are still counted. A cap
// given by a reload paces such a connection from its next read, and shrinks
// its receive buffer at once (SO_RCVBUF on the open socket; Budgets keep
// the open connections for this). The window the kernel has already
// offered the kiosk is not taken back, so each connection may take in that
// much once more before the small buffer holds: about 64 KiB measured on
// loopback, after a transfer had grown the buffer to megabytes; shrinking
// it only at the next read let 1.4-1.8 MiB in. Reconnecting would do no
// better: every kiosk of the line would send a full screen at once. A
// socket whose size was set is not autotuned again, so a reload that takes
// the caps away asks for a large buffer (4 MiB, as far as
// net.core.rmem_max allows) instead.
//
// Budgets charge and wait under one mutex: even a 20 Mbit total is about a
// thousand reads a second, far from contention. A window check is a sum
// kept up to date when a line is under 10 s of its rate, and otherwise a
// scan of the oldest slots that hold the excess (about 50 on a busy line);
// a paced read costs one peek more than it did.
type Budgets struct {
	opt   BudgetOptions
	clock BudgetClock
	start time.Time // when the budgets were made: the caps given then took effect

	mu         sync.Mutex
	total      *budgetLine // nil without a total cap
	totalSince time.Time   // when the total's cap (or its absence) took effect
	fair       fairQueue   // the sites' shares of the total
	all        byteMeter
	sites      map[string]*budgetSite
	// contention is closed when a kiosk queues for a slot (see Contention).
	contention chan struct{}
}

// BudgetOptions tune the budgets; zero values take the defaults. The
// defaults are what the arithmetic in the Budgets comment assumes.
type BudgetOptions struct {
	// LiveShare is the fraction of each capped rate guaranteed to
	// connections in live mode (default 0.75); thumbnails keep the rest
	// guaranteed, and either class borrows what the other leaves unused.
	LiveShare float64
	// ReadChunk is the most one paced read takes (default 2 KiB).
	ReadChunk int
	// ReadBuffer is the TCP receive buffer asked for thumbnail connections
	// on a capped line (default 4 KiB; Linux doubles it). LiveReadBuffer is
	// the one of live connections (default 8 KiB), so a live view keeps up
	// at a longer round trip. Lines without caps keep the kernel's own.
	ReadBuffer     int
	LiveReadBuffer int
	// Clock is the time source; tests substitute their own.
	Clock BudgetClock
}

// BudgetClock is the time the budgets refill by.
type BudgetClock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed, and a
	// function that stops it.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// The cap's contract: the window it is measured over and the margin allowed.
const (
	capWindow = 10 * time.Second
	capMargin = 0.05
)

// budgetSite is one site: its line if it has a cap, its byte meter, and
// its account in the total's fair queue.
type budgetSite struct {
	name     string
	capBPS   int64
	capSince time.Time   // when its cap (or its absence) took effect
	line     *budgetLine // nil without a cap: the site draws on the total only
	meter    byteMeter
	share    shareTags
	conns    map[*PacedConn]struct{} // open connections, whose buffers follow the caps
}

// NewBudgets builds budgets from the configured caps. A cap of zero or less,
// and a site that is not listed, means no cap of its own.
func NewBudgets(caps config.Budgets, o BudgetOptions) *Budgets {
	if o.LiveShare <= 0 || o.LiveShare > 1 {
		o.LiveShare = 0.75
	}
	if o.ReadChunk <= 0 {
		o.ReadChunk = 2 << 10
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 4 << 10
	}
	if o.LiveReadBuffer <= 0 {
		o.LiveReadBuffer = 8 << 10
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	now := o.Clock.Now()
	b := &Budgets{opt: o, clock: o.Clock, start: now, totalSince: now, fair: newFairQueue(o.LiveShare), sites: map[string]*budgetSite{}}
	if caps.Total > 0 {
		b.total = b.newTotal(int64(caps.Total), now)
	}
	for name, bps := range caps.Sites {
		s := &budgetSite{name: name, capSince: now}
		if bps > 0 {
			s.capBPS = int64(bps)
			s.line = b.newLine(int64(bps), now)
		}
		b.sites[name] = s
	}
	return b
}

func (b *Budgets) newLine(bps int64, now time.Time) *budgetLine {
	return newBudgetLine(bps, b.opt.LiveShare, b.opt.ReadChunk, 2*b.opt.ReadBuffer, now)
}

// newTotal makes the total's line, whose classes its fair queue keeps per
// site; a site may run ahead of the others by the line's burst. b.mu is
// held, or b is new.
func (b *Budgets) newTotal(bps int64, now time.Time) *budgetLine {
	l := newBudgetLine(bps, 0, b.opt.ReadChunk, 2*b.opt.ReadBuffer, now)
	b.fair.quantum = l.all.size
	return l
}

// site returns a site's state, creating an uncapped one on first use so
// that its bytes are measured too.
func (b *Budgets) site(name string) *budgetSite {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sites[name]
	if s == nil {
		s = &budgetSite{name: name, capSince: b.start}
		b.sites[name] = s
	}
	return s
}

// paced reports whether connections of site s are paced: whether the site
// or the total has a cap.
func (b *Budgets) paced(s *budgetSite) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pacedLocked(s)
}

func (b *Budgets) pacedLocked(s *budgetSite) bool { return s.line != nil || b.total != nil }

// wait is how long connection r must wait before its next read, and the
// most that read may take (0: it is not paced at all). A connection that
// may read leaves the total's fair queue, and its chunk counts as under
// way on its lines until charge; one that must wait for the total joins
// the queue.
func (b *Budgets) wait(r *budgetReader, live bool) (d time.Duration, chunk int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	s, c := r.site, classOf(live)
	chunk = b.chunkLocked(s)
	b.unholdLocked(r)
	if s.line != nil {
		win := s.line.windowWait(now, c, float64(chunk))
		if win > 0 {
			b.holdLocked(r, s.line, c)
		}
		d = max(s.line.bucketWait(now, c), win)
	}
	switch {
	case b.total == nil:
		b.fair.leave(r) // the total's cap went while r waited for it
	case d > 0:
		// Held by its own cap: it does not hold back the other sites.
		b.fair.leave(r)
		d = max(d, b.total.wait(now, c, float64(chunk)))
	default:
		b.fair.join(r, c)
		d = b.total.wait(now, c, float64(chunk))
		if ahead := b.fair.ahead(r); ahead > 0 {
			// Look again once the others could have read that much, or a chunk.
			d = max(d, readTime(max(ahead, float64(b.opt.ReadChunk)), b.total.all.rate))
		}
		if d == 0 {
			b.fair.leave(r)
		}
	}
	if d == 0 && chunk > 0 {
		b.enterLocked(r, chunk)
	}
	return d, chunk
}

// chunkLocked is the most one read of site s takes: the smaller of its
// line's chunk and the total's, 0 when neither has a cap. b.mu is held.
func (b *Budgets) chunkLocked(s *budgetSite) int {
	chunk := 0
	for _, l := range [2]*budgetLine{s.line, b.total} {
		if l != nil && (chunk == 0 || l.chunk < chunk) {
			chunk = l.chunk
		}
	}
	return chunk
}

// enterLocked counts r's read as under way on its lines, once. b.mu is
// held.
func (b *Budgets) enterLocked(r *budgetReader, chunk int) {
	if r.inChunk > 0 {
		return
	}
	r.in, r.inChunk = [2]*budgetLine{r.site.line, b.total}, float64(chunk)
	for _, l := range r.in {
		if l != nil {
			l.inflight += r.inChunk
		}
	}
}

// exitLocked counts r's read as under way no more. b.mu is held.
func (b *Budgets) exitLocked(r *budgetReader) {
	for _, l := range r.in {
		if l != nil {
			l.inflight -= r.inChunk
		}
	}
	r.in, r.inChunk = [2]*budgetLine{}, 0
}

// holdLocked records that line l's window holds r, of class c. b.mu is
// held.
func (b *Budgets) holdLocked(r *budgetReader, l *budgetLine, c int) {
	r.heldBy, r.heldClass = l, c
	l.held[c]++
}

// unholdLocked records that no window holds r. b.mu is held.
func (b *Budgets) unholdLocked(r *budgetReader) {
	if r.heldBy != nil {
		r.heldBy.held[r.heldClass]--
		r.heldBy = nil
	}
}

// leave takes r out of the total's fair queue and its line's held
// readers: it stopped waiting to read.
func (b *Budgets) leave(r *budgetReader) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fair.leave(r)
	b.unholdLocked(r)
}

// charge books n bytes read by connection r, whose read is no longer
// under way.
func (b *Budgets) charge(r *budgetReader, live bool, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.exitLocked(r)
	if n <= 0 {
		return
	}
	now := b.clock.Now()
	s := r.site
	if s.line != nil {
		s.line.charge(now, live, n)
	}
	if b.total != nil {
		b.total.charge(now, live, n)
		b.fair.served(s, classOf(live), n)
	}
	s.meter.add(now, int64(n))
	b.all.add(now, int64(n))
}

// Dial connects to a kiosk of site and returns the connection paced (a
// *PacedConn). On a capped line the receive buffer is made small before
// the connection is set up, so the window the kernel first offers is small
// too; on a line without caps the kernel's own is kept. The dialer's own
// settings, Control included, are kept.
func (b *Budgets) Dial(ctx context.Context, d *net.Dialer, site, addr string) (net.Conn, error) {
	s := b.site(site)
	dd := *d
	size := 0
	if b.paced(s) {
		size = b.opt.ReadBuffer
		inner := d.Control
		dd.Control = func(network, address string, rc syscall.RawConn) error {
			if inner != nil {
				if err := inner(network, address, rc); err != nil {
					return err
				}
			}
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	c, err := dd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return b.conn(s, c, size), nil
}

// Conn returns c with its reads paced by the budgets of site and the total,
// in thumbnail mode. A TCP connection on a capped line also gets the small
// receive buffer; Dial sets it before connecting, which is better.
func (b *Budgets) Conn(site string, c net.Conn) *PacedConn {
	pc := b.conn(b.site(site), c, 0)
	pc.fitBuffer()
	return pc
}

// conn wraps c, whose receive buffer was asked to be asked bytes (0: the
// kernel's own), and keeps it until it is closed, so that SetCaps can fit
// its receive buffer to new caps.
func (b *Budgets) conn(s *budgetSite, c net.Conn, asked int) *PacedConn {
	pc := &PacedConn{Conn: c, b: b, rd: budgetReader{site: s}, ready: newReadyWaiter(c), asked: asked, changed: make(chan struct{}, 1), closed: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.conns == nil {
		s.conns = map[*PacedConn]struct{}{}
	}
	s.conns[pc] = struct{}{}
	return pc
}

// forget drops a closed connection.
func (b *Budgets) forget(pc *PacedConn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(pc.rd.site.conns, pc)
}

// Acquire waits for a request slot on site's line (and the total's) before
// a kiosk is asked for an update, so that no more kiosks than the slots can
// answer at once; see Budgets for the arithmetic. Waiters without a claim
// are served in arrival order; AcquireFor says how urgent a request is. The
// caller holds the slot until the update has been read, then calls release
// (more than once is harmless). Live sessions skip the queue: their bytes
// are paced like any other, and their share is guaranteed by the buckets,
// not by waiting here. A site without a cap, under no total cap, never
// waits.
func (b *Budgets) Acquire(ctx context.Context, site string, live bool) (release func(), err error) {
	if live {
		return func() {}, nil
	}
	return b.AcquireFor(ctx, site, SlotClaim{})
}

// AcquireFor is Acquire for a thumbnail request of the given urgency.
func (b *Budgets) AcquireFor(ctx context.Context, site string, claim SlotClaim) (release func(), err error) {
	s := b.site(site)
	var held []*slotQueue
	releaseAll := func() {
		for _, q := range held {
			b.give(q, s)
		}
		held = nil
	}
	b.mu.Lock()
	lines := []*budgetLine{s.line, b.total} // SetCaps may change them
	b.mu.Unlock()
	for i, l := range lines {
		if l == nil {
			continue
		}
		if err := b.take(ctx, &l.slots, s, claim); err != nil {
			releaseAll()
			which := fmt.Sprintf("site %q's line", site)
			if i == 1 {
				which = fmt.Sprintf("the total cap (for site %q)", site)
			}
			return nil, fmt.Errorf("waiting for an update request slot on %s: %w", which, err)
		}
		held = append(held, &l.slots)
	}
	var once sync.Once
	return func() { once.Do(releaseAll) }, nil
}

// BudgetStats are one site's figures, or the total's (Site empty). Rates are
// in bits per second, byte counts in bytes of TCP payload.
type BudgetStats struct {
	Site     string    `json:"site"`
	CapBPS   int64     `json:"cap_bps"`   // 0: no cap of its own
	CapSince time.Time `json:"cap_since"` // when the cap (or its absence) took effect
	BytesIn  int64     `json:"bytes_in"`
	BPS      int64     `json:"bps"` // over the last whole second
	// WorstWindowBPS is the busiest 10 s window since CapSince, as a rate:
	// a window that began before counts only the bytes read after, so a
	// line is judged by the cap in force when it read.
	WorstWindowBPS int64 `json:"worst_window_bps"`
	Slots          int   `json:"request_slots"` // 0: no cap, no slots
	Outstanding    int   `json:"requests_outstanding"`
	Waiting        int   `json:"requests_waiting"`
}

// Stats returns every site's figures, ordered by site.
func (b *Budgets) Stats() []BudgetStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	out := make([]BudgetStats, 0, len(b.sites))
	for _, s := range b.sites {
		out = append(out, statsOf(s.name, s.capBPS, s.capSince, s.line, &s.meter, now))
	}
	slices.SortFunc(out, func(x, y BudgetStats) int { return cmp.Compare(x.Site, y.Site) })
	return out
}

// Total returns the figures of all sites together, against the total cap.
func (b *Budgets) Total() BudgetStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	var capBPS int64
	if b.total != nil {
		capBPS = b.total.bps
	}
	return statsOf("", capBPS, b.totalSince, b.total, &b.all, b.clock.Now())
}

func statsOf(name string, capBPS int64, since time.Time, l *budgetLine, m *byteMeter, now time.Time) BudgetStats {
	m.advance(now)
	st := BudgetStats{
		Site: name, CapBPS: capBPS, CapSince: since.UTC(), BytesIn: m.total,
		BPS: 8 * m.lastSecond(), WorstWindowBPS: 8 * m.worst / int64(capWindow/time.Second),
	}
	if l != nil {
		st.Slots, st.Outstanding, st.Waiting = l.slots.size, l.slots.held, len(l.slots.queue)
	}
	return st
}
