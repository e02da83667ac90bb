package wall

import (
	"context"
	"testing"
	"time"

	"kioskwall/config"
)

// Free slots go to watched kiosks first, then by due time; an unwatched
// kiosk later than its grace goes with the watched ones.
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
		{"watched, due later", SlotClaim{Due: now.Add(-time.Second), Grace: time.Second, Watched: yes}},
		{"unwatched, starving", SlotClaim{Due: now.Add(-time.Minute), Grace: 30 * time.Second}},
		{"watched, due earlier", SlotClaim{Due: now.Add(-1500 * time.Millisecond), Grace: time.Second, Watched: yes}},
	}
	want := []string{"unwatched, starving", "watched, due earlier", "watched, due later", "unwatched, due first"}

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
