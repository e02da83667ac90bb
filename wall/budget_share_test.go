package wall

import (
	"math/rand/v2"
	"testing"
	"time"

	"kioskwall/config"
)

// TestBudgetFairShares runs four sites under a 3 Mbit/s total on the manual
// clock. Their max-min fair shares: east is held by its own 500 kbit/s cap
// and south by its demand (300 kbit/s), so each keeps what it can use; west
// (cap 2 Mbit/s, twelve busy readers) and north (no cap, one busy live view
// and three thumbnail readers) split the remaining 2.2 Mbit/s equally, and
// north's live view keeps its LiveShare of north's half. Every 10 s window
// after the first second must give each site its fair share within 3%, and
// the total stays within its cap's contract.
func TestBudgetFairShares(t *testing.T) {
	clk := newManualClock()
	caps := config.Budgets{Total: 3 * config.Mbit, Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit, "east": 500 * config.Kbit}}
	b := NewBudgets(caps, BudgetOptions{Clock: clk})
	var conns []*simConn
	add := func(site string, n int, live bool, demandBPS float64) {
		for range n {
			conns = append(conns, &simConn{site: b.site(site), live: live, demand: demandBPS / 8})
		}
	}
	// West first: when everyone wakes at once, its readers ask first.
	add("west", 12, false, 0)
	add("east", 4, false, 0)
	add("north", 3, false, 0)
	add("north", 1, true, 0)
	add("south", 1, false, 300_000)
	const run = 40 * time.Second
	_, bySite := simulate(b, clk, conns, run, rand.New(rand.NewPCG(7, 8)))

	fair := map[string]float64{"east": 500_000, "south": 300_000, "west": 1_100_000, "north": 1_100_000} // bit/s
	window := int(capWindow / time.Millisecond)
	skip := int(time.Second / time.Millisecond)
	var all []int64
	for site, share := range fair {
		per := bySite[site]
		if per == nil {
			per = make([]int64, run/time.Millisecond) // a starved site read nothing
		}
		want := share / 8 * capWindow.Seconds()
		lo, hi := int64(want*0.97), int64(want*1.03)
		least, most := windowRange(per[skip:], window)
		t.Logf("%s: 10 s windows %.3f..%.3f x its fair share of %.0f bit/s", site, float64(least)/want, float64(most)/want, share)
		if least < lo || most > hi {
			t.Errorf("%s: 10 s windows read %d..%d bytes; its fair share is %.0f (%d..%d)", site, least, most, want, lo, hi)
		}
		if all == nil {
			all = make([]int64, len(per))
		}
		for i, v := range per {
			all[i] += v
		}
	}
	limit := int64(float64(caps.Total) / 8 * capWindow.Seconds() * (1 + capMargin))
	if worst := worstWindow(all, window); worst > limit {
		t.Errorf("total: worst 10 s window %d bytes; the cap allows %d", worst, limit)
	}
	var live, thumbs int64
	for _, c := range conns {
		if c.site.name == "north" {
			if c.live {
				live += c.got
			} else {
				thumbs += c.got
			}
		}
	}
	// Within 2% of it: a single live connection leaves the queue at each
	// read and may lose up to the lag when it comes back (0.741 measured
	// with the bucket alone, 0.739 with the window limit beside it).
	if share := float64(live) / float64(live+thumbs); share < 0.735 {
		t.Errorf("north's live view read %.3f of the site's bytes; LiveShare guarantees it 0.75", share)
	}
}

// windowRange is the smallest and the largest sum of w consecutive entries of per.
func windowRange(per []int64, w int) (least, most int64) {
	var sum int64
	least = -1
	for i, v := range per {
		sum += v
		if i >= w {
			sum -= per[i-w]
		}
		if i >= w-1 {
			if least < 0 || sum < least {
				least = sum
			}
			most = max(most, sum)
		}
	}
	return least, most
}

// TestBudgetFairShareNoCreditForIdleness: east is idle for 20 s while west
// reads the whole 2 Mbit/s total alone; when east's readers come, the two
// split the total from then on. East gets no credit for the time it was
// idle (it would otherwise hold west back for 20 s): in the 10 s after it
// came, west reads its half but for at most two of the total's bursts.
func TestBudgetFairShareNoCreditForIdleness(t *testing.T) {
	clk := newManualClock()
	b := NewBudgets(config.Budgets{Total: 2 * config.Mbit}, BudgetOptions{Clock: clk})
	rnd := rand.New(rand.NewPCG(11, 12))
	var west, both []*simConn
	for range 4 {
		west = append(west, &simConn{site: b.site("west")})
	}
	both = append(both, west...)
	for range 4 {
		both = append(both, &simConn{site: b.site("east")})
	}
	simulate(b, clk, west, 20*time.Second, rnd)
	_, bySite := simulate(b, clk, both, capWindow, rnd)
	var got int64
	for _, v := range bySite["west"] {
		got += v
	}
	half := int64(float64(2*testMbit) / 8 / 2 * capWindow.Seconds())
	if least := half - int64(2*b.fair.quantum); got < least {
		t.Errorf("west read %d bytes in the 10 s after east came back; its half is %d, at least %d", got, half, least)
	}
}
