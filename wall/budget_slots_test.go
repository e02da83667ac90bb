package wall

import (
	"context"
	"slices"
	"testing"
	"time"

	"kioskwall/config"
)

// Free slots go to watched kiosks first, ranked from their due time plus
// their grace: a changing screen's request has none, a quiet one's some; an
// unwatched kiosk later than its grace goes with the watched ones, ranked
// from the end of its grace.
func TestSlotsGoToTheMostUrgent(t *testing.T) {
	clock := newManualClock()
	// 900 kbit/s: one request slot.
	b := NewBudgets(config.Budgets{Sites: map[string]config.Bandwidth{"west": 900_000}}, BudgetOptions{Clock: clock})
	ctx := context.Background()
	hold, err := b.AcquireFor(ctx, "west", SlotClaim{})
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	yes := func() bool { return true }
	claims := []struct {
		name  string
		claim SlotClaim
	}{
		{"unwatched, due first", SlotClaim{Due: now.Add(-2 * time.Second), Grace: 30 * time.Second}},
		{"watched changing, due later", SlotClaim{Due: now.Add(-time.Second), Watched: yes}},
		{"unwatched, starving", SlotClaim{Due: now.Add(-time.Minute), Grace: 30 * time.Second}},
		{"watched changing, due earlier", SlotClaim{Due: now.Add(-1500 * time.Millisecond), Watched: yes}},
		// Due before both changing screens, but its grace ranks it after them.
		{"watched quiet, due first", SlotClaim{Due: now.Add(-3 * time.Second), Grace: 2500 * time.Millisecond, Watched: yes}},
		// Late by more than its grace, but by less beyond it than the
		// watched kiosks are late: they go first.
		{"unwatched, just urgent", SlotClaim{Due: now.Add(-30200 * time.Millisecond), Grace: 30 * time.Second}},
	}
	want := []string{"unwatched, starving", "watched changing, due earlier", "watched changing, due later",
		"watched quiet, due first", "unwatched, just urgent", "unwatched, due first"}

	contention := b.Contention()
	got := make(chan string, len(claims))
	releases := make(chan func(), len(claims))
	for i, c := range claims {
		go func() {
			rel, err := b.AcquireFor(ctx, "west", c.claim)
			if err != nil {
				t.Error(err)
				return
			}
			got <- c.name
			releases <- rel
		}()
		waitForWaiters(t, b, "west", i+1)
	}
	select {
	case <-contention:
	default:
		t.Fatal("kiosks queue for the slot and the contention channel is still open")
	}
	if !b.Contended("west") || b.Contended("east") {
		t.Errorf("Contended: west %v, east %v", b.Contended("west"), b.Contended("east"))
	}
	hold()
	for i, w := range want {
		name := <-got
		if name != w {
			t.Fatalf("slot %d went to %q, want %q", i, name, w)
		}
		(<-releases)()
	}
	if b.Contended("west") {
		t.Error("nobody waits and the line is still contended")
	}
}

// waitForWaiters waits until n kiosks queue on site's line.
func waitForWaiters(t *testing.T, b *Budgets, site string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, st := range b.Stats() {
			if st.Site == site && st.Waiting == n {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d kiosks do not queue on %s", n, site)
}

// The total's request slots are shared between sites: a freed slot goes to
// the waiting site that holds the fewest, whoever queued first, so a site
// with many kiosks due cannot keep another from being asked at all. Here
// west holds all four slots of a 2 Mbit/s total and six more of its kiosks
// wait, due before the three of east: as west's four come back, two go to
// east and two to west.
func TestTotalSlotsSharedBetweenSites(t *testing.T) {
	clock := newManualClock()
	b := NewBudgets(config.Budgets{Total: 2 * config.Mbit}, BudgetOptions{Clock: clock})
	if n := b.Total().Slots; n != 4 {
		t.Fatalf("a 2 Mbit/s total has %d request slots; the test needs 4", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // the waiters left over give up
	now := clock.Now()
	var holds []func()
	for i := range 4 {
		rel, err := b.AcquireFor(ctx, "west", SlotClaim{Due: now.Add(time.Duration(i-20) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		holds = append(holds, rel)
	}
	got := make(chan string, 9)
	queue := func(site string, due time.Duration) {
		go func() {
			if _, err := b.AcquireFor(ctx, site, SlotClaim{Due: now.Add(due), Grace: time.Minute}); err == nil {
				got <- site
			}
		}()
	}
	for i := range 6 {
		queue("west", time.Duration(i-10)*time.Second)
		eventually(t, "west's kiosks to queue", func() bool { return b.Total().Waiting == i+1 })
	}
	for i := range 3 {
		queue("east", time.Duration(i-3)*time.Second)
		eventually(t, "east's kiosks to queue", func() bool { return b.Total().Waiting == 7+i })
	}
	var order []string
	for _, rel := range holds {
		rel()
		select {
		case site := <-got:
			order = append(order, site)
		case <-time.After(10 * time.Second):
			t.Fatalf("a slot came back and no waiter got it (so far: %v)", order)
		}
	}
	if want := []string{"east", "east", "west", "west"}; !slices.Equal(order, want) {
		t.Errorf("west's four slots went to %v; want %v (east holding none, then one, goes first)", order, want)
	}
}

// On a line of one slot the sites take turns: the slot goes to the waiting
// site given one longest ago, so two kiosks of small are asked in between
// big's four though big's were due first.
func TestOneSlotSitesTakeTurns(t *testing.T) {
	clock := newManualClock()
	b := NewBudgets(config.Budgets{Total: 900_000}, BudgetOptions{Clock: clock})
	if n := b.Total().Slots; n != 1 {
		t.Fatalf("a 900 kbit/s total has %d request slots; the test needs 1", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := clock.Now()
	hold, err := b.AcquireFor(ctx, "big", SlotClaim{Due: now.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	type grant struct {
		site string
		rel  func()
	}
	got := make(chan grant, 6)
	for i, site := range []string{"big", "big", "big", "big", "small", "small"} {
		go func() {
			rel, err := b.AcquireFor(ctx, site, SlotClaim{Due: now.Add(time.Duration(i-10) * time.Second), Grace: time.Minute})
			if err == nil {
				got <- grant{site, rel}
			}
		}()
		eventually(t, "kiosks to queue", func() bool { return b.Total().Waiting == i+1 })
	}
	hold()
	var order []string
	for range 6 {
		select {
		case g := <-got:
			order = append(order, g.site)
			g.rel()
		case <-time.After(10 * time.Second):
			t.Fatalf("a slot came back and no waiter got it (so far: %v)", order)
		}
	}
	if want := []string{"small", "big", "small", "big", "big", "big"}; !slices.Equal(order, want) {
		t.Errorf("the slot went to %v; want %v", order, want)
	}
}
