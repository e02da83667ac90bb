package wall

import (
	"math/rand/v2"
	"testing"
	"time"

	"kioskwall/config"
)

// worstRatio is the largest ratio, over every window of 10 to 11 s at 1 ms
// steps, of the bytes per (read in each millisecond) to rate x the
// window's length: what the cap promises to hold at 1.0, judged more
// finely than any slot of the budgets.
func worstRatio(per []int64, rate float64) float64 {
	prefix := make([]int64, len(per)+1)
	for i, v := range per {
		prefix[i+1] = prefix[i] + v
	}
	shortest, longest := int(capWindow/time.Millisecond), int(windowLong/time.Millisecond)
	worst := 0.0
	for end := shortest; end <= len(per); end++ {
		for l := shortest; l <= longest && l <= end; l++ {
			worst = max(worst, float64(prefix[end]-prefix[end-l])/(rate*float64(l)/1000))
		}
	}
	return worst
}

// TestWindowLimit runs a line through busy and idle spells, one read at a
// time as soon as the window limit allows it, and checks what wait
// promises: a read it lets through leaves every window of 10 to 11 s at or
// below rate x its length (a byte over is let pass), and the time it names
// when it holds a read is one at which the read may go.
func TestWindowLimit(t *testing.T) {
	const (
		rate  = 10_000.0 // bytes per second
		chunk = 2048
	)
	start := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w := newWindowLimit(rate)
	rnd := rand.New(rand.NewPCG(21, 22))
	per := make([]int64, 60_000)
	busy, spellEnd := false, 0
	held := 0
	for i := range per {
		if i >= spellEnd {
			busy, spellEnd = !busy, i+200+rnd.IntN(5000)
		}
		if !busy {
			continue
		}
		now := start.Add(time.Duration(i) * time.Millisecond)
		d := w.wait(now, chunk)
		if d > 0 {
			held++
			later := w
			if again := later.wait(now.Add(d), chunk); again != 0 {
				t.Fatalf("at %d ms wait named %v, and then still %v", i, d, again)
			}
			continue
		}
		n := 1 + rnd.IntN(chunk)
		w.add(now, n)
		per[i] += int64(n)
	}
	worst := worstRatio(per, rate)
	t.Logf("%d reads held; worst window of 10-11 s %.5f x rate", held, worst)
	if held == 0 {
		t.Fatal("the window limit never held a read: the run does not test it")
	}
	if allowed := 1 + 1/(rate*capWindow.Seconds()); worst > allowed {
		t.Errorf("worst window %.5f x rate x its length; the limit allows 1", worst)
	}
}

// kioskArrivals is a kiosk behind a line of rate bytes per second: after
// a quiet spell of 0.5 to 4 s it has an update of 0.1 to 0.6 s of the line
// at once, and every clock minute (every 17 s here, to fall at different
// points of the 10 s windows) all kiosks of the fleet have one together.
func kioskArrivals(rnd *rand.Rand, rate float64, start time.Time) func(time.Time) float64 {
	next := start.Add(time.Duration(rnd.IntN(4000)) * time.Millisecond)
	const minute = 17 * time.Second
	return func(now time.Time) float64 {
		turn := now.Sub(start)%minute == 0 && now.After(start)
		if now.Before(next) && !turn {
			return 0
		}
		next = now.Add(500*time.Millisecond + time.Duration(rnd.IntN(3500))*time.Millisecond)
		return (0.1 + 0.5*rnd.Float64()) * rate
	}
}

// TestWindowHoldsTheCap runs lines of 64, 140 and 256 kbit/s and 2 Mbit/s
// on the manual clock, each with eight kiosks that answer in bursts with
// quiet spells between (so the buckets fill up, the case a bucket alone
// lets past the cap) and a live view streaming a fifth of the line. Every
// window of 10 to 11 s, counted here at 1 ms, must stay at or below the cap
// (reads let through are charged in the same step, so nothing is under
// way), and so must the budgets' own meter; the bursts must fill the line
// (a worst 10 s window of at least 0.95 x the cap). The bucket alone
// measured 1.121, 1.057, 1.031 and 1.004 x here.
func TestWindowHoldsTheCap(t *testing.T) {
	for _, kbit := range []int64{64, 140, 256, 2000} {
		t.Run(config.Bandwidth(kbit*int64(config.Kbit)).String(), func(t *testing.T) {
			capBPS := config.Bandwidth(kbit * int64(config.Kbit))
			clk := newManualClock()
			b := NewBudgets(config.Budgets{Sites: map[string]config.Bandwidth{"clinic": capBPS}}, BudgetOptions{Clock: clk})
			s := b.site("clinic")
			rate := float64(capBPS) / 8
			rnd := rand.New(rand.NewPCG(uint64(kbit), 23))
			conns := []*simConn{{site: s, live: true, demand: rate / 5}}
			for range 8 {
				conns = append(conns, &simConn{site: s, arrive: kioskArrivals(rnd, rate, clk.Now())})
			}
			_, bySite := simulate(b, clk, conns, time.Minute, rnd)
			per := bySite["clinic"]
			worst := worstRatio(per, rate)
			st := siteStats(t, b, "clinic")
			busiest := float64(worstWindow(per, int(capWindow/time.Millisecond))) / (rate * capWindow.Seconds())
			t.Logf("worst window of 10-11 s %.5f x cap; the meter's %.4f x; busiest 10 s %.4f x", worst, float64(st.WorstWindowBPS)/float64(capBPS), busiest)
			if allowed := 1 + 1/(rate*capWindow.Seconds()); worst > allowed {
				t.Errorf("a window of 10-11 s read %.5f x the cap over its length; the window limit allows 1", worst)
			}
			if st.WorstWindowBPS > int64(capBPS) {
				t.Errorf("the meter's worst window is %d bit/s, over the cap of %d", st.WorstWindowBPS, capBPS)
			}
			if busiest < 0.95 {
				t.Errorf("the busiest 10 s read %.4f x the cap; the kiosks' bursts should fill the line", busiest)
			}
		})
	}
}

// TestNarrowLineStaysUsed is a 140 kbit/s line of one request slot,
// which kiosks take in turn as sessions do: a kiosk asks, its update of 1
// to 6 KB arrives a 100 ms round trip later, is read as the budgets allow,
// and the slot goes to the next kiosk. The line waits idle for every
// answer; the bucket's burst lets the reads catch that time up, so over a
// minute the line must carry at least 0.85 x its cap. Sized down to a
// 512-byte burst and 128-byte chunks (the narrow sizes tried and backed
// out in 0e95cd0), the same run carried 0.738 x.
func TestNarrowLineStaysUsed(t *testing.T) {
	const (
		capBPS = 140 * config.Kbit
		rtt    = 100 * time.Millisecond
		run    = time.Minute
	)
	clk := newManualClock()
	b := NewBudgets(config.Budgets{Sites: map[string]config.Bandwidth{"clinic": capBPS}}, BudgetOptions{Clock: clk})
	s := b.site("clinic")
	if slots := siteStats(t, b, "clinic").Slots; slots != 1 {
		t.Fatalf("a 140 kbit/s line has %d request slots; this test is about a line of one", slots)
	}
	rnd := rand.New(rand.NewPCG(31, 32))
	var (
		rd      budgetReader
		left    int       // bytes of the update not yet read
		arrives time.Time // when the update's bytes are there
		read    int64
		updates int
	)
	ask := func(now time.Time) {
		rd = budgetReader{site: s} // the next kiosk's connection
		left, arrives = 1000+rnd.IntN(5000), now.Add(rtt)
		updates++
	}
	ask(clk.Now())
	for range int(run / time.Millisecond) {
		now := clk.Now()
		if !now.Before(arrives) {
			if w, chunk := b.wait(&rd, false); w == 0 {
				n := min(left, chunk)
				b.charge(&rd, false, n)
				left -= n
				read += int64(n)
				if left == 0 {
					ask(now)
				}
			}
		}
		clk.Advance(time.Millisecond)
	}
	used := float64(read) / (float64(capBPS) / 8 * run.Seconds())
	t.Logf("%d updates in %v: the line carried %.3f x its cap", updates, run, used)
	if used < 0.85 {
		t.Errorf("the line carried %.3f x its cap over %v; waiting for answers should cost little of it", used, run)
	}
}

// TestNarrowLineChunk: a line's read chunk is the options' chunk, halved on
// narrow lines until a read keeps at most a quarter of the cap's margin,
// and never below minReadChunk.
func TestNarrowLineChunk(t *testing.T) {
	tests := []struct {
		kbit  int64
		chunk int // the options'
		want  int
	}{
		{2000, 2048, 2048},
		{256, 2048, 2048},
		{140, 2048, 2048},
		{100, 2048, 1024},
		{64, 2048, 512},
		{16, 2048, minReadChunk},
		{64, 128, 128},
	}
	for _, tt := range tests {
		rate := float64(tt.kbit*1000) / 8
		if got := lineChunk(rate, tt.chunk); got != tt.want {
			t.Errorf("%d kbit/s, chunk %d: line chunk %d; want %d", tt.kbit, tt.chunk, got, tt.want)
		}
	}
}

// TestWindowFollowsCapChange: a line whose window is full holds reads;
// a new cap judges it from the change on, as the byte meter does, so a
// raised cap lets a read go at once, and so does a lowered one (the bytes
// read under the old cap are the old cap's); the line's chunk follows.
func TestWindowFollowsCapChange(t *testing.T) {
	caps := func(c config.Bandwidth) config.Budgets {
		return config.Budgets{Sites: map[string]config.Bandwidth{"clinic": c}}
	}
	tests := []struct {
		name          string
		before, after config.Bandwidth
		chunk         int
	}{
		{"raised", 140 * config.Kbit, 280 * config.Kbit, 2048},
		{"lowered", 2 * config.Mbit, 64 * config.Kbit, 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newManualClock()
			b := NewBudgets(caps(tt.before), BudgetOptions{Clock: clk})
			s := b.site("clinic")
			rd := &budgetReader{site: s}
			// Read the old cap's 10 s in 10 s: the window is full.
			per := float64(tt.before) / 8 / 100
			for range 1000 {
				b.charge(rd, false, int(per))
				clk.Advance(10 * time.Millisecond)
			}
			if w := s.line.windowWait(clk.Now(), classThumb, 2048); w == 0 {
				t.Fatal("after 10 s at the cap the window lets a read go; the test needs it full")
			}
			b.SetCaps(caps(tt.after))
			if w := s.line.windowWait(clk.Now(), classThumb, float64(s.line.chunk)); w != 0 {
				t.Errorf("after the cap changed the window holds a read for %v; want it judged from the change", w)
			}
			if _, chunk := b.wait(rd, false); chunk != tt.chunk {
				t.Errorf("the line's chunk is %d; want %d", chunk, tt.chunk)
			}
		})
	}
}
