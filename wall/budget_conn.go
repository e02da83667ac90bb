package wall

import (
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// PacedConn is a kiosk connection whose reads draw on the budgets of its
// site and of the total. Writes (requests and input, a few bytes) pass
// through unpaced. On a capped line a read takes at most the read chunk
// and is charged for what it returned; before the next one the connection
// waits until the buckets are out of debt and, under a total cap, until its
// site's turn in the total's fair queue. The wait counts against the read
// deadline and ends early on Close or on a deadline change, so pacing never
// holds up a shutdown or a context cancellation that works by deadlines.
// Where neither the site nor the total has a cap, reads are only counted.
type PacedConn struct {
	net.Conn
	b  *Budgets
	rd budgetReader // guarded by b.mu

	ready    readyWaiter // waits for bytes to read before the budgets are asked
	live     atomic.Bool
	bufMu    sync.Mutex    // orders the receive buffer's changes
	asked    int           // receive buffer asked for, 0: the kernel's own; bufMu guards it
	deadline atomic.Int64  // read deadline, Unix nanoseconds; 0: none
	changed  chan struct{} // wakes a waiting read to look again
	closed   chan struct{}
	once     sync.Once
}

// SetLive moves the connection between the thumbnail and the live class of
// its line. A live connection is guaranteed its class's share of the rate
// and gets the larger live receive buffer so that it keeps up at a longer
// round trip; thumbnail connections slow down first.
func (c *PacedConn) SetLive(live bool) {
	if c.live.Swap(live) == live {
		return
	}
	c.fitBuffer()
	c.poke()
}

// Live reports whether the connection is in the live class.
func (c *PacedConn) Live() bool { return c.live.Load() }

// openReadBuffer is asked for a connection whose line lost its cap: a
// socket whose buffer was once set is not autotuned again, so it asks for
// a large one (the kernel holds it to net.core.rmem_max).
const openReadBuffer = 4 << 20

// fitBuffer asks for the receive buffer the connection's class needs on a
// paced line, and leaves the kernel's own on a line that never was. It
// looks at the budgets itself, so whichever of SetLive and SetCaps calls it
// last leaves the buffer that fits now. b.mu is not held.
func (c *PacedConn) fitBuffer() {
	c.bufMu.Lock()
	defer c.bufMu.Unlock()
	want := 0
	switch paced := c.b.paced(c.rd.site); {
	case paced && c.live.Load():
		want = c.b.opt.LiveReadBuffer
	case paced:
		want = c.b.opt.ReadBuffer
	case c.asked != 0:
		want = openReadBuffer
	}
	if want != c.asked {
		c.setReadBuffer(want)
		c.asked = want
	}
}

// setReadBuffer asks for a TCP receive buffer; a connection of another kind
// (a pipe in a test) has none to set, and a failure only leaves the larger
// default, which the read pacing still bounds.
func (c *PacedConn) setReadBuffer(n int) {
	if t, ok := c.Conn.(interface{ SetReadBuffer(int) error }); ok {
		_ = t.SetReadBuffer(n)
	}
}

// Read reads, after waiting for bytes to arrive and then for the budgets:
// at most one chunk on a paced line. Waiting for bytes first means that a
// read the budgets let through returns at once, so that what is under way
// on a line is only the reads between those two moments (see Budgets).
func (c *PacedConn) Read(p []byte) (int, error) {
	if len(p) > 0 && c.b.paced(c.rd.site) {
		if err := c.ready.wait(); err != nil {
			return 0, c.opError(err)
		}
	}
	chunk, err := c.pace()
	if err != nil {
		return 0, err
	}
	if chunk > 0 && len(p) > chunk {
		p = p[:chunk]
	}
	n, err := c.Conn.Read(p)
	c.b.charge(&c.rd, c.live.Load(), n)
	return n, err
}

// pace waits until the budgets allow a read, the read deadline passes, or
// the connection is closed, and returns the most the read may take (0: the
// line is not paced). It holds no lock while it sleeps.
func (c *PacedConn) pace() (chunk int, err error) {
	defer func() {
		if err != nil {
			c.b.leave(&c.rd) // it waits for the budgets no more
		}
	}()
	for {
		select {
		case <-c.closed:
			return 0, c.opError(net.ErrClosed)
		default:
		}
		left := time.Duration(math.MaxInt64)
		if dl := c.deadline.Load(); dl != 0 {
			if left = time.Unix(0, dl).Sub(c.b.clock.Now()); left <= 0 {
				return 0, c.opError(os.ErrDeadlineExceeded)
			}
		}
		wait, chunk := c.b.wait(&c.rd, c.live.Load())
		if wait <= 0 {
			return chunk, nil
		}
		wait = min(wait, left)
		tick, stop := c.b.clock.NewTimer(wait)
		select {
		case <-tick:
		case <-c.changed:
		case <-c.closed:
		}
		stop()
	}
}

// opError dresses err as the net package does, so callers that look for
// timeouts and closed connections (rfb.Diagnose) see what they know.
func (c *PacedConn) opError(err error) error {
	return &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

func (c *PacedConn) poke() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// SetDeadline sets both deadlines; see SetReadDeadline.
func (c *PacedConn) SetDeadline(t time.Time) error {
	c.storeDeadline(t)
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline bounds reads, the wait for the budgets included.
func (c *PacedConn) SetReadDeadline(t time.Time) error {
	c.storeDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *PacedConn) storeDeadline(t time.Time) {
	var ns int64
	if !t.IsZero() {
		ns = max(t.UnixNano(), 1)
	}
	c.deadline.Store(ns)
	c.poke()
}

// Close closes the connection and ends a read waiting for the budgets.
func (c *PacedConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.b.forget(c)
	})
	return c.Conn.Close()
}
