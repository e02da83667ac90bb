package wall

import (
	"cmp"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"kioskwall/config"
)

// pacedPipe returns a paced conn of site "west" (capped at 2 Mbit) on a
// manual clock, fed by a writer that always has data, and its budgets.
func pacedPipe(t *testing.T) (*PacedConn, *Budgets, *manualClock) {
	t.Helper()
	clk := newManualClock()
	b := NewBudgets(config.Budgets{Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit}}, BudgetOptions{Clock: clk})
	local, remote := net.Pipe()
	pc := b.Conn("west", local)
	go func() {
		junk := make([]byte, 64<<10)
		for {
			if _, err := remote.Write(junk); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		remote.Close()
	})
	return pc, b, clk
}

// drain reads until a read would wait for the budgets, and returns what it read.
func drain(t *testing.T, pc *PacedConn, b *Budgets) int {
	t.Helper()
	p := make([]byte, 64<<10)
	total := 0
	for waitOf(b, &pc.rd, pc.Live()) == 0 {
		n, err := pc.Read(p)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if n > b.opt.ReadChunk {
			t.Fatalf("a read returned %d bytes; the chunk is %d", n, b.opt.ReadChunk)
		}
		total += n
	}
	return total
}

// readAsync starts a read and returns where its outcome arrives.
func readAsync(pc *PacedConn) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := pc.Read(make([]byte, 4096))
		done <- err
	}()
	return done
}

func notDone(t *testing.T, done <-chan error, why string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("read returned (%v) %s", err, why)
	case <-time.After(30 * time.Millisecond):
	}
}

func TestPacedConnWaitsForBudget(t *testing.T) {
	pc, b, clk := pacedPipe(t)
	n := drain(t, pc, b)
	if st := b.Stats()[0]; st.BytesIn != int64(n) {
		t.Errorf("read %d bytes, stats say %d", n, st.BytesIn)
	}
	wait := waitOf(b, &pc.rd, false)
	done := readAsync(pc)
	eventually(t, "read to wait on a timer", func() bool { return clk.pending() == 1 })
	notDone(t, done, "while the budget is in debt")
	clk.Advance(wait)
	if err := <-done; err != nil {
		t.Fatalf("read after the debt was paid: %v", err)
	}
}

func TestPacedConnWaitEnds(t *testing.T) {
	tests := []struct {
		name string
		end  func(pc *PacedConn, clk *manualClock)
		want error
	}{
		{"read deadline passes during the wait", func(pc *PacedConn, clk *manualClock) {
			// The deadline is an hour of the manual clock ahead, so the pipe
			// itself (on the real clock) never sees it pass.
			pc.SetReadDeadline(clk.Now().Add(time.Hour))
			clk.Advance(time.Hour)
		}, os.ErrDeadlineExceeded},
		{"deadline set in the past, as rfb.Client cancels", func(pc *PacedConn, _ *manualClock) {
			pc.SetDeadline(time.Unix(1, 0))
		}, os.ErrDeadlineExceeded},
		{"close", func(pc *PacedConn, _ *manualClock) { pc.Close() }, net.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, b, clk := pacedPipe(t)
			// Run the line deep into debt, so that the wait is long.
			for range 100 {
				b.charge(&pc.rd, false, b.opt.ReadChunk)
			}
			done := readAsync(pc)
			eventually(t, "read to wait on a timer", func() bool { return clk.pending() == 1 })
			tt.end(pc, clk)
			select {
			case err := <-done:
				var ne net.Error
				if !errors.Is(err, tt.want) || !errors.As(err, &ne) {
					t.Fatalf("read ended with %v; want a net.Error wrapping %v", err, tt.want)
				}
				if tt.want == os.ErrDeadlineExceeded && !ne.Timeout() {
					t.Errorf("deadline error %v does not say it is a timeout", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("read still waiting for the budget")
			}
		})
	}
}

func TestPacedConnLiveBypassesThumbnailDebt(t *testing.T) {
	pc, b, _ := pacedPipe(t)
	// Thumbnails borrowed the whole line and then some: their class and the
	// line are in debt, the live class is not.
	for range 20 {
		b.charge(&pc.rd, false, b.opt.ReadChunk)
	}
	if waitOf(b, &pc.rd, false) == 0 {
		t.Fatal("thumbnail class is not in debt after 20 chunks")
	}
	pc.SetLive(true)
	if _, err := pc.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	pc.SetLive(false)
	done := readAsync(pc)
	notDone(t, done, "for a thumbnail connection on a line in debt")
	pc.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	if _, err := pc.Read(nil); !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("read of a closed conn: %v", err)
	}
}

// TestPacedConnReadSize: on a capped line a read takes at most one chunk;
// where neither the site nor the total has a cap a read takes all the
// caller asks, and its bytes are still counted.
func TestPacedConnReadSize(t *testing.T) {
	tests := []struct {
		name string
		caps config.Budgets
		most int // 0: what the caller asks
	}{
		{"no caps", config.Budgets{}, 0},
		{"another site capped", config.Budgets{Sites: map[string]config.Bandwidth{"east": 2 * config.Mbit}}, 0},
		{"site capped", config.Budgets{Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit}}, 2 << 10},
		{"total capped", config.Budgets{Total: 20 * config.Mbit}, 2 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudgets(tt.caps, BudgetOptions{})
			local, remote := net.Pipe()
			pc := b.Conn("west", local)
			defer pc.Close()
			go func() {
				defer remote.Close()
				remote.Write(make([]byte, 64<<10))
			}()
			n, err := pc.Read(make([]byte, 64<<10))
			if err != nil {
				t.Fatal(err)
			}
			if want := cmp.Or(tt.most, 64<<10); n != want {
				t.Errorf("a read of 64 KiB returned %d bytes; want %d", n, want)
			}
			if got := b.Total().BytesIn; got != int64(n) {
				t.Errorf("%d bytes read, %d counted", n, got)
			}
		})
	}
}
