package wall

import (
	"cmp"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"kioskwall/config"
)

// manualClock is a BudgetClock that moves only when the test says.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	at time.Time
	c  chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
}

func (m *manualClock) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

func (m *manualClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{at: m.now.Add(d), c: make(chan time.Time, 1)}
	m.timers = append(m.timers, t)
	return t.c, func() bool { return m.remove(t) }
}

func (m *manualClock) remove(t *manualTimer) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.timers {
		if x == t {
			m.timers = append(m.timers[:i], m.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Advance moves the clock and fires the timers that came due.
func (m *manualClock) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
	keep := m.timers[:0]
	for _, t := range m.timers {
		if t.at.After(m.now) {
			keep = append(keep, t)
			continue
		}
		t.c <- m.now
	}
	m.timers = keep
}

// pending is the number of timers not yet fired or stopped.
func (m *manualClock) pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.timers)
}

const (
	testMbit = int64(config.Mbit)
	kib      = 1024
)

func TestTokenBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type step struct {
		at       time.Time
		take     float64
		tokens   float64
		debtTime time.Duration
	}
	tests := []struct {
		name  string
		floor float64
		steps []step
	}{
		{"starts full and keeps no more than its size", math.Inf(-1), []step{
			{ms(0), 0, 500, 0},
			{ms(900), 0, 500, 0},
		}},
		{"debt is paid at the rate", math.Inf(-1), []step{
			{ms(0), 800, -300, 300 * time.Millisecond},
			{ms(100), 0, -200, 200 * time.Millisecond},
			{ms(400), 0, 100, 0},
			{ms(2000), 0, 500, 0},
		}},
		{"a floor forgives debt beyond it", -100, []step{
			{ms(0), 5000, -100, 100 * time.Millisecond},
			{ms(100), 0, 0, 0},
		}},
		{"a clock going back adds nothing", math.Inf(-1), []step{
			{ms(100), 600, -100, 100 * time.Millisecond},
			{ms(50), 0, -100, 100 * time.Millisecond},
			{ms(150), 0, -50, 50 * time.Millisecond},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTokenBucket(1000, 500, tt.floor, t0)
			for i, s := range tt.steps {
				b.refill(s.at)
				b.take(s.take)
				if math.Abs(b.tokens-s.tokens) > 1e-6 || b.debtTime() != s.debtTime {
					t.Fatalf("step %d: tokens %.3f, debt time %v; want %.3f, %v", i, b.tokens, b.debtTime(), s.tokens, s.debtTime)
				}
			}
		})
	}
}

// TestBudgetWaitEndsWhenDebtIsPaid checks wait against what it promises:
// after the time it names a read is allowed, and a millisecond before it is
// not, whichever line (site or total) is the tighter one.
func TestBudgetWaitEndsWhenDebtIsPaid(t *testing.T) {
	tests := []struct {
		name  string
		caps  config.Budgets
		site  string
		reads int
	}{
		{"site tighter than total", config.Budgets{Total: 20 * config.Mbit, Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit}}, "west", 30},
		{"total tighter than site", config.Budgets{Total: 1 * config.Mbit, Sites: map[string]config.Bandwidth{"west": 8 * config.Mbit}}, "west", 30},
		{"uncapped site under a total", config.Budgets{Total: 2 * config.Mbit}, "east", 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newManualClock()
			b := NewBudgets(tt.caps, BudgetOptions{Clock: clk})
			s := &budgetReader{site: b.site(tt.site)}
			for range tt.reads {
				b.charge(s, false, b.opt.ReadChunk)
			}
			w := waitOf(b, s, false)
			if w <= time.Millisecond {
				t.Fatalf("after %d chunks at once, wait %v; want a debt to pay", tt.reads, w)
			}
			// The time to pay the debt at the tightest rate bounds the wait
			// from above: the class guarantee may end it sooner, never later.
			tight := int64(tt.caps.Total)
			if c := int64(tt.caps.Sites[tt.site]); c > 0 && c < tight {
				tight = c
			}
			if most := time.Duration(float64(tt.reads*b.opt.ReadChunk) / float64(tight/8) * float64(time.Second)); w > most {
				t.Errorf("wait %v is longer than paying all %d bytes at %d bit/s (%v)", w, tt.reads*b.opt.ReadChunk, tight, most)
			}
			clk.Advance(w - time.Millisecond)
			if waitOf(b, s, false) <= 0 {
				t.Errorf("a read is allowed a millisecond before the wait of %v ended", w)
			}
			clk.Advance(time.Millisecond)
			if got := waitOf(b, s, false); got != 0 {
				t.Errorf("after the wait of %v, still %v to wait", w, got)
			}
		})
	}
}

// waitOf is how long reader r must wait before its next read.
func waitOf(b *Budgets, r *budgetReader, live bool) time.Duration {
	d, _ := b.wait(r, live)
	return d
}

// simConn is a reader in a simulated run of the budgets: it reads whenever
// the budgets allow and it has data, and asks the budgets only then, as a
// PacedConn waits for bytes before it does.
type simConn struct {
	rd     budgetReader
	site   *budgetSite
	live   bool
	demand float64 // bytes per second it has to give; 0: unlimited
	// arrive, if set, is the bytes that arrive for it in the millisecond
	// starting at now, instead of demand.
	arrive func(now time.Time) float64
	has    float64 // bytes waiting in its buffer
	next   time.Time
	got    int64
}

// simulate runs conns on b for d in 1 ms steps and returns the bytes read in
// each millisecond by all conns and by each site.
func simulate(b *Budgets, clk *manualClock, conns []*simConn, d time.Duration, rnd *rand.Rand) (all []int64, bySite map[string][]int64) {
	bySite = map[string][]int64{}
	steps := int(d / time.Millisecond)
	all = make([]int64, steps)
	for i := range steps {
		for _, c := range conns {
			limited := c.demand > 0 || c.arrive != nil
			switch {
			case c.arrive != nil:
				c.has += c.arrive(clk.Now())
			case c.demand > 0:
				c.has += c.demand / 1000
			}
			if clk.Now().Before(c.next) || (limited && c.has < 1) {
				continue
			}
			c.rd.site = c.site
			w, chunk := b.wait(&c.rd, c.live)
			if w > 0 {
				c.next = clk.Now().Add(w)
				continue
			}
			chunk = cmp.Or(chunk, b.opt.ReadChunk) // not paced: a read as large as the default chunk
			n := chunk/2 + rnd.IntN(chunk/2+1)
			if limited {
				n = min(n, int(c.has))
			}
			c.has -= float64(n)
			c.got += int64(n)
			b.charge(&c.rd, c.live, n)
			all[i] += int64(n)
			if bySite[c.site.name] == nil {
				bySite[c.site.name] = make([]int64, steps)
			}
			bySite[c.site.name][i] += int64(n)
		}
		clk.Advance(time.Millisecond)
	}
	return all, bySite
}

// worstWindow is the largest sum of w consecutive entries of per.
func worstWindow(per []int64, w int) int64 {
	var sum, worst int64
	for i, v := range per {
		sum += v
		if i >= w {
			sum -= per[i-w]
		}
		worst = max(worst, sum)
	}
	return worst
}

// TestBudgetCapHolds runs busy readers on several lines and checks the cap's
// contract on every 10 s window (at 1 ms steps), and that a busy line is also
// used: a cap that held by starving everyone would be no budget. Under the
// 5 Mbit/s total east fills its own 1 Mbit/s cap, and the three others
// share the remaining 4 Mbit/s (TestBudgetFairShares checks how evenly).
func TestBudgetCapHolds(t *testing.T) {
	clk := newManualClock()
	caps := config.Budgets{Total: 5 * config.Mbit, Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit, "east": 1 * config.Mbit}}
	b := NewBudgets(caps, BudgetOptions{Clock: clk})
	rnd := rand.New(rand.NewPCG(1, 2))
	var conns []*simConn
	for _, name := range []string{"west", "east", "north", "south"} {
		s := b.site(name)
		for i := range 12 {
			conns = append(conns, &simConn{site: s, live: i == 0 && name == "west"})
		}
	}
	all, bySite := simulate(b, clk, conns, 40*time.Second, rnd)

	window := int(capWindow / time.Millisecond)
	check := func(name string, per []int64, capBPS, shareBPS int64) {
		limit := int64(float64(capBPS) / 8 * 10 * 1.05)
		worst := worstWindow(per, window)
		t.Logf("%s: worst 10 s window %d bytes, %.4f x cap", name, worst, float64(worst)/(float64(capBPS)/8*10))
		if worst > limit {
			t.Errorf("%s: worst 10 s window %d bytes; the cap allows %d", name, worst, limit)
		}
		if floor := int64(float64(shareBPS) / 8 * 10 * 0.95); worst < floor {
			t.Errorf("%s: worst 10 s window %d bytes; busy readers should get %d bit/s (at least %d bytes)", name, worst, shareBPS, floor)
		}
	}
	check("total", all, int64(caps.Total), int64(caps.Total))
	check("west", bySite["west"], int64(caps.Sites["west"]), 4*testMbit/3)
	check("east", bySite["east"], int64(caps.Sites["east"]), int64(caps.Sites["east"]))
	// The uncapped sites share what the total leaves.
	for _, name := range []string{"north", "south"} {
		if got, floor := worstWindow(bySite[name], window), 4*testMbit/3/8*10*95/100; got < floor {
			t.Errorf("%s: worst 10 s window %d bytes; busy readers should get their share of the total (at least %d)", name, got, floor)
		}
	}

	// The meter's own figures agree with the simulation's count.
	for _, st := range append(b.Stats(), b.Total()) {
		per := all
		if st.Site != "" {
			per = bySite[st.Site]
		}
		var sum int64
		for _, v := range per {
			sum += v
		}
		if st.BytesIn != sum {
			t.Errorf("%q: meter counted %d bytes, the readers read %d", st.Site, st.BytesIn, sum)
		}
		// The meter's windows are aligned to 100 ms slots: at most one slot
		// of bytes away from the exact worst window, never above it.
		exact := worstWindow(per, window)
		slot := worstWindow(per, int(meterSlot/time.Millisecond))
		if got := st.WorstWindowBPS * 10 / 8; got > exact || got < exact-slot {
			t.Errorf("%q: meter's worst window %d bytes, exact %d", st.Site, got, exact)
		}
	}
}

// TestBudgetLiveShare checks the two classes of a line: a busy live
// connection gets its guaranteed share against busy thumbnails, thumbnails
// keep theirs, and a class left idle lends its share to the other.
func TestBudgetLiveShare(t *testing.T) {
	rate := float64(2*testMbit) / 8
	tests := []struct {
		name       string
		liveDemand float64 // bytes per second; 0: unlimited, -1: no live conn
		wantLive   float64 // least fraction of the rate
		wantThumbs float64
	}{
		{"both busy", 0, 0.74, 0.24},
		{"no live connection", -1, 0, 0.97},
		{"live asks for less than its share", rate / 4, 0.245, 0.72},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newManualClock()
			b := NewBudgets(config.Budgets{Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit}}, BudgetOptions{Clock: clk})
			s := b.site("west")
			var conns []*simConn
			live := &simConn{site: s, live: true, demand: tt.liveDemand}
			if tt.liveDemand >= 0 {
				conns = append(conns, live)
			}
			for range 4 {
				conns = append(conns, &simConn{site: s})
			}
			d := 20 * time.Second
			simulate(b, clk, conns, d, rand.New(rand.NewPCG(3, 4)))
			var thumbs int64
			for _, c := range conns[len(conns)-4:] {
				thumbs += c.got
			}
			secs := d.Seconds()
			gotLive, gotThumbs := float64(live.got)/secs/rate, float64(thumbs)/secs/rate
			if gotLive < tt.wantLive || gotThumbs < tt.wantThumbs {
				t.Errorf("live got %.3f of the rate, thumbnails %.3f; want at least %.3f and %.3f", gotLive, gotThumbs, tt.wantLive, tt.wantThumbs)
			}
			if sum := gotLive + gotThumbs; sum > 1.01 {
				t.Errorf("the classes together read %.3f of the rate", sum)
			}
		})
	}
}

// TestRequestSlots checks the slot arithmetic against its two aims: the
// outstanding kiosks' receive buffers and chunks, with the bursts, fit in
// half of the cap's margin, as many slots as fit are given, and on a line of
// 2 Mbit or more the slots' receive buffers can keep the line busy over a
// 50 ms round trip.
func TestRequestSlots(t *testing.T) {
	o := BudgetOptions{}
	b := NewBudgets(config.Budgets{}, o)
	chunk, absorb := float64(b.opt.ReadChunk), float64(2*b.opt.ReadBuffer)
	for _, bps := range []int64{1 * testMbit, 2 * testMbit, 3 * testMbit, 10 * testMbit, 20 * testMbit, 100 * testMbit, 1000 * testMbit} {
		l := newBudgetLine(bps, b.opt.LiveShare, b.opt.ReadChunk, int(absorb), time.Now())
		rate := float64(bps) / 8
		halfMargin := 0.05 * 10 * rate / 2
		bursts := l.all.size + l.class[0].size + l.class[1].size
		k := float64(l.slots.size)
		if k < 1 {
			t.Errorf("%d bit/s: %v slots", bps, k)
		}
		if k > 1 && bursts+k*(absorb+chunk) > halfMargin {
			t.Errorf("%d bit/s: %v slots hold %.0f bytes with the bursts, over half the margin (%.0f)", bps, k, bursts+k*(absorb+chunk), halfMargin)
		}
		if bursts+(k+1)*(absorb+chunk) <= halfMargin {
			t.Errorf("%d bit/s: %v slots, but one more would fit in half the margin", bps, k)
		}
		if bps >= 2*testMbit && k*absorb < rate*0.050 {
			t.Errorf("%d bit/s: %v slots of %.0f bytes cannot keep the line busy over a 50 ms round trip", bps, k, absorb)
		}
	}
}

// siteStats is the figures of site.
func siteStats(t *testing.T, b *Budgets, site string) BudgetStats {
	t.Helper()
	for _, s := range b.Stats() {
		if s.Site == site {
			return s
		}
	}
	t.Fatalf("no stats for site %q", site)
	return BudgetStats{}
}

func TestAcquire(t *testing.T) {
	clk := newManualClock()
	b := NewBudgets(config.Budgets{Total: 4 * config.Mbit, Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit}}, BudgetOptions{Clock: clk})
	ctx := context.Background()
	stat := func(site string) BudgetStats { return siteStats(t, b, site) }
	slots := stat("west").Slots
	var held []func()
	for range slots {
		r, err := b.Acquire(ctx, "west", false)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	if got := stat("west").Outstanding; got != slots {
		t.Fatalf("%d slots taken, stats say %d outstanding", slots, got)
	}

	// Three waiters queue in order; the middle one gives up.
	type result struct {
		i   int
		err error
	}
	got := make(chan result, 3)
	cancels := make([]context.CancelFunc, 3)
	releases := make([]func(), 3)
	for i := range 3 {
		wctx, cancel := context.WithCancel(ctx)
		cancels[i] = cancel
		go func() {
			r, err := b.Acquire(wctx, "west", false)
			releases[i] = r
			got <- result{i, err}
		}()
		eventually(t, "waiter to queue", func() bool { return stat("west").Waiting == i+1 })
	}
	if r, err := b.Acquire(ctx, "west", true); err != nil {
		t.Fatalf("live acquire on a full line: %v", err)
	} else {
		r()
	}
	cancels[1]()
	if r := <-got; r.i != 1 || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled waiter: got waiter %d, err %v; want waiter 1, context.Canceled", r.i, r.err)
	}
	held[0]()
	held[0]() // a second release must not free a second slot
	if r := <-got; r.i != 0 || r.err != nil {
		t.Fatalf("first slot freed went to waiter %d (err %v); want waiter 0", r.i, r.err)
	}
	select {
	case r := <-got:
		t.Fatalf("waiter %d got a slot though only one was freed", r.i)
	case <-time.After(50 * time.Millisecond):
	}
	held[1]()
	if r := <-got; r.i != 2 || r.err != nil {
		t.Fatalf("second slot freed went to waiter %d (err %v); want waiter 2", r.i, r.err)
	}
	for _, r := range append(held[2:], releases[0], releases[2]) {
		r()
	}
	for _, c := range cancels {
		c()
	}
	if s := stat("west"); s.Outstanding != 0 || s.Waiting != 0 {
		t.Errorf("all released: %d outstanding, %d waiting", s.Outstanding, s.Waiting)
	}
	if tot := b.Total(); tot.Outstanding != 0 {
		t.Errorf("all released: the total still has %d outstanding", tot.Outstanding)
	}

	// A site without a cap waits for the total's slots only.
	tot := b.Total().Slots
	held = held[:0]
	for range tot {
		r, err := b.Acquire(ctx, "east", false)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(short, "east", false); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("acquire beyond the total's %d slots: %v; want a deadline error", tot, err)
	}
	for _, r := range held {
		r()
	}
}

// TestAcquireCancelRacesRelease cancels waiters while slots are freed and
// checks that no slot is lost or doubled.
func TestAcquireCancelRacesRelease(t *testing.T) {
	b := NewBudgets(config.Budgets{Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit}}, BudgetOptions{})
	ctx := context.Background()
	for range 100 {
		r, err := b.Acquire(ctx, "west", false)
		if err != nil {
			t.Fatal(err)
		}
		var rest []func()
		for range b.Stats()[0].Slots - 1 {
			r2, _ := b.Acquire(ctx, "west", false)
			rest = append(rest, r2)
		}
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan func(), 1)
		go func() {
			r3, err := b.Acquire(wctx, "west", false)
			if err != nil {
				r3 = func() {}
			}
			done <- r3
		}()
		eventually(t, "waiter to queue", func() bool { return b.Stats()[0].Waiting == 1 })
		go cancel()
		r()
		(<-done)()
		for _, r2 := range rest {
			r2()
		}
		if s := b.Stats()[0]; s.Outstanding != 0 || s.Waiting != 0 {
			t.Fatalf("after the race: %d outstanding, %d waiting; want none", s.Outstanding, s.Waiting)
		}
	}
}

// TestByteMeter checks the meter against a brute-force count of a random
// log, in which a cap changes halfway: the busiest window counts only the
// bytes from the change's slot on.
func TestByteMeter(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var m byteMeter
	type entry struct {
		at time.Time
		n  int64
	}
	var log []entry
	at := start
	var judged time.Time
	for i := range 5000 {
		// Mostly short gaps, some long quiet spells that empty the ring.
		gap := time.Duration(rnd.IntN(30)) * time.Millisecond
		if rnd.IntN(500) == 0 {
			gap = time.Duration(5+rnd.IntN(15)) * time.Second
		}
		at = at.Add(gap)
		if i == 2500 {
			judged = at
			m.judgeFrom(at)
		}
		n := int64(rnd.IntN(4096))
		m.add(at, n)
		log = append(log, entry{at, n})
	}
	slotOf := func(t time.Time) int64 { return t.UnixNano() / int64(100*time.Millisecond) }
	perSlot := map[int64]int64{}
	var total int64
	for _, e := range log {
		perSlot[slotOf(e.at)] += e.n
		total += e.n
	}
	var worst int64
	from, last := slotOf(judged), slotOf(log[len(log)-1].at)
	for s := from; s <= last; s++ {
		var sum int64
		for k := max(s-99, from); k <= s; k++ {
			sum += perSlot[k]
		}
		worst = max(worst, sum)
	}
	var second int64
	for k := last - 10; k < last; k++ {
		second += perSlot[k]
	}
	if m.total != total || m.worst != worst || m.lastSecond() != second {
		t.Errorf("meter: total %d, worst window %d, last second %d; want %d, %d, %d", m.total, m.worst, m.lastSecond(), total, worst, second)
	}
	m.advance(at.Add(11 * time.Second))
	if m.lastSecond() != 0 || m.sum != 0 {
		t.Errorf("after 11 quiet seconds: last second %d, window %d; want 0", m.lastSecond(), m.sum)
	}
}
