package wall

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"kioskwall/config"
)

// TestPacedReadWaitsForBytes: a paced read on a real socket waits for bytes
// before it asks the budgets, so while the kiosk sends nothing no read is
// under way on the line (the window limit keeps no room for it); once bytes
// come, the read returns them and is charged. The wait for bytes ends with
// a timeout when the read deadline passes and with net.ErrClosed when the
// connection is closed, as the net package's own reads do.
func TestPacedReadWaitsForBytes(t *testing.T) {
	ln, accepted := acceptOne(t)
	b := NewBudgets(config.Budgets{Total: 420 * config.Kbit, Sites: map[string]config.Bandwidth{"clinic": 140 * config.Kbit}}, BudgetOptions{})
	c, err := b.Dial(context.Background(), &net.Dialer{}, "clinic", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	pc := c.(*PacedConn)
	kiosk := <-accepted
	defer kiosk.Close()
	underWay := func() (site, total float64) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return pc.rd.site.line.inflight, b.total.inflight
	}

	type result struct {
		n   int
		err error
	}
	read := func() <-chan result {
		done := make(chan result, 1)
		go func() {
			n, err := pc.Read(make([]byte, 64<<10))
			done <- result{n, err}
		}()
		return done
	}
	var first result
	done := read()
	time.Sleep(100 * time.Millisecond)
	if site, total := underWay(); site != 0 || total != 0 {
		t.Errorf("an idle read counts %.0f bytes under way on its line and %.0f on the total; want none", site, total)
	}
	if _, err := kiosk.Write(make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	select {
	case first = <-done:
		if first.err != nil || first.n < 1 || first.n > 2048 {
			t.Fatalf("read after 5000 bytes came: %d bytes, %v; want 1 to a chunk of 2048", first.n, first.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read did not return the bytes that came")
	}
	if site, total := underWay(); site != 0 || total != 0 {
		t.Errorf("after the read was charged %.0f bytes are under way on its line and %.0f on the total; want none", site, total)
	}
	if got := siteStats(t, b, "clinic").BytesIn; got != int64(first.n) {
		t.Errorf("the line counted %d bytes; want the %d read", got, first.n)
	}
	// Drain what is left, so that the next reads wait again.
	for left := 5000 - first.n; left > 0; {
		n, err := pc.Read(make([]byte, left))
		if err != nil {
			t.Fatal(err)
		}
		left -= n
	}

	pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	r := <-read()
	var ne net.Error
	if !errors.Is(r.err, os.ErrDeadlineExceeded) || !errors.As(r.err, &ne) || !ne.Timeout() {
		t.Errorf("an idle read past its deadline ended with %v; want a timeout", r.err)
	}
	pc.SetReadDeadline(time.Time{})
	done = read()
	time.Sleep(50 * time.Millisecond)
	pc.Close()
	select {
	case r := <-done:
		if !errors.Is(r.err, net.ErrClosed) {
			t.Errorf("an idle read of a closed connection ended with %v; want net.ErrClosed", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("closing the connection did not end an idle read")
	}
}
