package wall

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kioskwall/config"
)

// TestNarrowLinesOnLoopback is two clinics' narrow lines on real sockets
// and the real clock (about 16 s; skipped with -short). On the 256 kbit/s
// line six busy carousels answer every request with 30-150 KB through
// paced connections while a live view streams 96 kbit/s; on the 140 kbit/s
// line four carousels do. Receivers work as sessions do (a request slot
// before each request, a poke when no answer comes). For each line the
// budgets' own meter must find every 10 s window since the start, the
// first burst included, within 1.05 x the cap, and so must an independent
// count of what its receivers read; the busy line must be used (at least
// 0.9 x), and every connection must have the kernel's least receive buffer
// and never hold more than it.
func TestNarrowLinesOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test on the real clock (16 s); skipped with -short")
	}
	const (
		run      = 16 * time.Second
		liveRate = 12_000 // bytes per second
	)
	lines := []struct {
		site     string
		capBPS   config.Bandwidth
		senders  int
		withLive bool
	}{
		{"clinic", 256 * config.Kbit, 6, true},
		{"post", 140 * config.Kbit, 4, false},
	}
	caps := config.Budgets{Sites: map[string]config.Bandwidth{}}
	for _, l := range lines {
		caps.Sites[l.site] = l.capBPS
	}
	b := NewBudgets(caps, BudgetOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	start := time.Now()
	kiosks := startBusyKiosks(t, ctx, 13, liveRate, newTimeline(start, run))
	read := map[string]*timeline{}
	var receivers []*PacedConn
	for _, l := range lines {
		tl := newTimeline(start, run)
		read[l.site] = tl
		for range l.senders {
			pc := kiosks.dial(t, b, l.site, 'B')
			receivers = append(receivers, pc)
			kiosks.fetchAll(b, l.site, pc, tl)
		}
		if !l.withLive {
			continue
		}
		live := kiosks.dial(t, b, l.site, 'L')
		live.SetLive(true)
		receivers = append(receivers, live)
		kiosks.wg.Go(func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := live.Read(buf)
				tl.add(time.Now(), n)
				if err != nil {
					return
				}
			}
		})
	}
	for _, c := range receivers {
		if got := receiveBuffer(t, c); got != b.minBuffer {
			t.Errorf("a receiver on a narrow line has a %d-byte receive buffer; want the kernel's least, %d", got, b.minBuffer)
		}
	}

	// Sample what the kernel holds for each receiver while the run goes on.
	var mostQueued atomic.Int64
	kiosks.wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, c := range receivers {
				if n, err := socketQueue(c.Conn, syscall.TIOCINQ); err == nil {
					mostQueued.Store(max(mostQueued.Load(), int64(n)))
				}
			}
		}
	})
	kiosks.stop()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("run ended early: %v", ctx.Err())
	}

	for _, l := range lines {
		st := siteStats(t, b, l.site)
		capBPS := float64(l.capBPS)
		allowed := capBPS / 8 * 10
		tl := read[l.site]
		worstRead := float64(tl.worstAfter(0, len(tl.slots)-1))
		t.Logf("%s, %.0f kbit/s: the meter's worst 10 s window %.4f x cap, the receivers' count %.4f x", l.site, capBPS/1000, float64(st.WorstWindowBPS)/capBPS, worstRead/allowed)
		if float64(st.WorstWindowBPS) > 1.05*capBPS {
			t.Errorf("%s: the meter's worst 10 s window is %d bit/s; the cap allows %.0f", l.site, st.WorstWindowBPS, 1.05*capBPS)
		}
		if worstRead > 1.05*allowed {
			t.Errorf("%s: the receivers read %.0f bytes in their busiest 10 s; the cap allows %.0f", l.site, worstRead, 1.05*allowed)
		}
		// Loose: a busy machine slows the readers a little.
		if float64(st.WorstWindowBPS) < 0.9*capBPS {
			t.Errorf("%s: the meter's worst 10 s window is %d bit/s; busy senders should keep the %.0f bit/s line busy", l.site, st.WorstWindowBPS, capBPS)
		}
	}
	t.Logf("at most %d bytes queued in a receive buffer of %d", mostQueued.Load(), b.minBuffer)
	if most := mostQueued.Load(); most > int64(b.minBuffer) {
		t.Errorf("a receive buffer held %d bytes; the slot arithmetic assumes at most %d", most, b.minBuffer)
	}
}
