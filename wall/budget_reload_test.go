package wall

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"kioskwall/config"
)

// TestSetCapsRates changes the caps of busy lines halfway through a run on
// the manual clock: after the change every line holds its new cap and busy
// readers fill it, a line whose cap went reads freely, no window across the
// change exceeds the larger of the two caps, and the meters count the whole
// run.
func TestSetCapsRates(t *testing.T) {
	const mbit = config.Mbit
	sites := func(kv ...any) map[string]config.Bandwidth {
		m := map[string]config.Bandwidth{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(config.Bandwidth)
		}
		return m
	}
	tests := []struct {
		name          string
		before, after config.Budgets
	}{
		{"site cap raised", config.Budgets{Sites: sites("west", 2*mbit)}, config.Budgets{Sites: sites("west", 4*mbit)}},
		{"site cap lowered", config.Budgets{Sites: sites("west", 4*mbit)}, config.Budgets{Sites: sites("west", 1*mbit)}},
		{"caps given to a server started without", config.Budgets{}, config.Budgets{Total: 3 * mbit, Sites: sites("east", 1*mbit)}},
		{"site cap removed", config.Budgets{Sites: sites("west", 2*mbit, "east", 1*mbit)}, config.Budgets{Sites: sites("east", 1*mbit)}},
		{"total lowered below a site", config.Budgets{Total: 10 * mbit, Sites: sites("west", 2*mbit)}, config.Budgets{Total: 1 * mbit, Sites: sites("west", 2*mbit)}},
	}
	const half = 20 * time.Second
	window := int(capWindow / time.Millisecond)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newManualClock()
			b := NewBudgets(tt.before, BudgetOptions{Clock: clk})
			rnd := rand.New(rand.NewPCG(3, 4))
			var conns []*simConn
			for _, name := range []string{"west", "east"} {
				s := b.site(name)
				for range 4 {
					conns = append(conns, &simConn{site: s})
				}
			}
			all1, by1 := simulate(b, clk, conns, half, rnd)
			b.SetCaps(tt.after)
			all2, by2 := simulate(b, clk, conns, half, rnd)

			lines := map[string][2][]int64{"": {all1, all2}}
			for _, name := range []string{"west", "east"} {
				lines[name] = [2][]int64{by1[name], by2[name]}
			}
			capOf := func(c config.Budgets, line string) int64 {
				if line == "" {
					return int64(c.Total)
				}
				return int64(c.Sites[line])
			}
			for line, per := range lines {
				oldCap, newCap := capOf(tt.before, line), capOf(tt.after, line)
				// The last 10 s lie wholly after the change.
				var last int64
				for _, v := range per[1][len(per[1])-window:] {
					last += v
				}
				full := int64(float64(newCap) / 8 * capWindow.Seconds())
				t.Logf("line %q: cap %d -> %d bit/s; last 10 s %d bytes", line, oldCap, newCap, last)
				switch {
				case newCap > 0 && last > full*105/100:
					t.Errorf("line %q: %d bytes in the last 10 s; the new cap allows %d", line, last, full*105/100)
				case newCap > 0 && last < full*80/100 && (line == "" || tt.after.Total == 0):
					t.Errorf("line %q: %d bytes in the last 10 s; busy readers should fill the new cap (%d)", line, last, full)
				case newCap == 0 && tt.after.Total == 0 && last < 10*int64(10*mbit/8):
					t.Errorf("line %q has no cap any more, yet its busy readers got %d bytes in 10 s", line, last)
				}
				if oldCap > 0 && newCap > 0 {
					joined := append(append([]int64{}, per[0]...), per[1]...)
					most := int64(float64(max(oldCap, newCap))/8*capWindow.Seconds()) * 105 / 100
					if w := worstWindow(joined, window); w > most {
						t.Errorf("line %q: a window across the change read %d bytes; the larger cap allows %d", line, w, most)
					}
				}
			}
			// The meters counted the whole run, before and after.
			for _, st := range append(b.Stats(), b.Total()) {
				var sum int64
				for _, half := range lines[st.Site] {
					for _, v := range half {
						sum += v
					}
				}
				if st.BytesIn != sum {
					t.Errorf("line %q: meter counted %d bytes over the run; the readers read %d", st.Site, st.BytesIn, sum)
				}
				if want := capOf(tt.after, st.Site); st.CapBPS != want {
					t.Errorf("line %q: stats say cap %d; want %d", st.Site, st.CapBPS, want)
				}
			}
		})
	}
}

// TestWorstWindowAfterCapChange lowers west's cap from 4 to 1 Mbit/s while
// its readers are busy: from the change on, west is judged by its new cap
// (cap_since is the change, and its busiest window counts only bytes read
// since), so a lowered cap does not look broken for the next 10 s; east,
// whose cap stayed, keeps its busiest window and its cap_since, and so does
// the total.
func TestWorstWindowAfterCapChange(t *testing.T) {
	clk := newManualClock()
	start := clk.Now()
	caps := func(west config.Bandwidth) config.Budgets {
		return config.Budgets{Sites: map[string]config.Bandwidth{"west": west, "east": 2 * config.Mbit}}
	}
	b := NewBudgets(caps(4*config.Mbit), BudgetOptions{Clock: clk})
	var conns []*simConn
	for _, name := range []string{"west", "east"} {
		for range 4 {
			conns = append(conns, &simConn{site: b.site(name)})
		}
	}
	rnd := rand.New(rand.NewPCG(9, 10))
	simulate(b, clk, conns, 15*time.Second, rnd)
	stat := func(site string) BudgetStats { return siteStats(t, b, site) }
	near := func(got, want int64) bool { return got >= want*95/100 && got <= want*105/100 }
	before := stat("east")
	if w := stat("west").WorstWindowBPS; !near(w, 4*testMbit) {
		t.Fatalf("west at 4 Mbit/s: busiest window %d bit/s", w)
	}

	changed := clk.Now()
	b.SetCaps(caps(1 * config.Mbit))
	for _, when := range []string{"at the change", "5 s after", "20 s after"} {
		switch when {
		case "5 s after":
			simulate(b, clk, conns, 5*time.Second, rnd)
		case "20 s after":
			simulate(b, clk, conns, 15*time.Second, rnd)
		}
		west := stat("west")
		if !west.CapSince.Equal(changed) || west.CapBPS != testMbit {
			t.Errorf("%s: west's cap %d since %v; want 1 Mbit/s since %v", when, west.CapBPS, west.CapSince, changed)
		}
		if limit := int64(1.05 * float64(testMbit)); west.WorstWindowBPS > limit {
			t.Errorf("%s: west's busiest window %d bit/s, over its new cap's contract (%d): the old cap's windows still count", when, west.WorstWindowBPS, limit)
		}
		if when == "20 s after" && !near(west.WorstWindowBPS, testMbit) {
			t.Errorf("%s: west's busiest window %d bit/s; its busy readers fill the new cap", when, west.WorstWindowBPS)
		}
		east := stat("east")
		if !east.CapSince.Equal(start) || east.WorstWindowBPS < before.WorstWindowBPS {
			t.Errorf("%s: east (cap unchanged) since %v, busiest window %d; want since %v and at least %d", when, east.CapSince, east.WorstWindowBPS, start, before.WorstWindowBPS)
		}
		if tot := b.Total(); !tot.CapSince.Equal(start) || tot.WorstWindowBPS < 5*testMbit {
			t.Errorf("%s: the total (no cap, unchanged) since %v, busiest window %d; want since %v and its 6 Mbit/s of before", when, tot.CapSince, tot.WorstWindowBPS, start)
		}
	}
}

// TestSetCapsSlots changes a line's cap while kiosks hold its request slots
// and others wait: a smaller line hands no slot on until its holders are
// fewer than its new count, a larger one grants its waiters at once, and a
// line whose cap is removed lets every waiter go.
func TestSetCapsSlots(t *testing.T) {
	b := NewBudgets(config.Budgets{Sites: map[string]config.Bandwidth{"west": 20 * config.Mbit}}, BudgetOptions{})
	ctx := context.Background()
	west := func() BudgetStats { return siteStats(t, b, "west") }
	var held []func()
	acquire := func() {
		t.Helper()
		r, err := b.Acquire(ctx, "west", false)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	release := func(n int) {
		for _, r := range held[:n] {
			r()
		}
		held = held[n:]
	}
	big := west().Slots
	for range big {
		acquire()
	}
	granted := make(chan func(), 8)
	wait := func(n int) {
		t.Helper()
		want := west().Waiting + n
		for range n {
			go func() {
				if r, err := b.Acquire(ctx, "west", false); err == nil {
					granted <- r
				}
			}()
		}
		eventually(t, fmt.Sprintf("%d waiters to queue", want), func() bool { return west().Waiting == want })
	}
	none := func(when string) {
		t.Helper()
		select {
		case <-granted:
			t.Fatalf("%s: a waiter got a slot", when)
		case <-time.After(50 * time.Millisecond):
		}
	}
	got := func(when string) func() {
		t.Helper()
		select {
		case r := <-granted:
			return r
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no waiter got a slot", when)
			return nil
		}
	}
	wait(3)

	b.SetCaps(config.Budgets{Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit}})
	s := west()
	small := s.Slots
	if small >= big || s.Outstanding != big || s.Waiting != 3 || s.CapBPS != 2_000_000 {
		t.Fatalf("after shrinking: %+v; want fewer than %d slots, all %d still held, 3 waiting", s, big, big)
	}
	release(big - small)
	none("holders given back down to the new count")
	if s := west(); s.Outstanding != small {
		t.Fatalf("after giving back %d: %d outstanding; want %d", big-small, s.Outstanding, small)
	}
	release(1)
	held = append(held, got("a slot given back on the shrunken line"))
	none("one slot given back")

	b.SetCaps(config.Budgets{Sites: map[string]config.Bandwidth{"west": 3 * config.Mbit}})
	grown := west().Slots
	if grown-small < 2 {
		t.Fatalf("3 Mbit gives %d slots, 2 Mbit %d; the test needs two more", grown, small)
	}
	held = append(held, got("the line grew"), got("the line grew"))
	if s := west(); s.Outstanding != small+2 || s.Waiting != 0 {
		t.Fatalf("after growing: %+v; want %d outstanding, none waiting", s, small+2)
	}

	for len(held) < grown {
		acquire()
	}
	wait(2)
	b.SetCaps(config.Budgets{})
	held = append(held, got("the cap went"), got("the cap went"))
	if s := west(); s.CapBPS != 0 || s.Slots != 0 {
		t.Errorf("without a cap: %+v; want no cap, no slots", s)
	}
	for range 3 * grown {
		acquire() // never waits
	}
	release(len(held)) // slots of the old line go back to it harmlessly
}
