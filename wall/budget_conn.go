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
// through unpaced. A read takes at most the read chunk and is charged for
// what it returned; before the next one the connection waits until the
// buckets are out of debt. The wait counts against the read deadline and
// ends early on Close or on a deadline change, so pacing never holds up a
// shutdown or a context cancellation that works by deadlines.
type PacedConn struct {
	net.Conn
	b    *Budgets
	site *budgetSite

	live     atomic.Bool
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
	size := c.b.opt.ReadBuffer
	if live {
		size = c.b.opt.LiveReadBuffer
	}
	c.setReadBuffer(size)
	c.poke()
}

// Live reports whether the connection is in the live class.
func (c *PacedConn) Live() bool { return c.live.Load() }

// setReadBuffer asks for a TCP receive buffer; a connection of another kind
// (a pipe in a test) has none to set, and a failure only leaves the larger
// default, which the read pacing still bounds.
func (c *PacedConn) setReadBuffer(n int) {
	if t, ok := c.Conn.(interface{ SetReadBuffer(int) error }); ok {
		_ = t.SetReadBuffer(n)
	}
}

// Read reads at most one chunk, after waiting for the budgets.
func (c *PacedConn) Read(p []byte) (int, error) {
	if len(p) > c.b.opt.ReadChunk {
		p = p[:c.b.opt.ReadChunk]
	}
	if err := c.pace(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.b.charge(c.site, c.live.Load(), n)
	}
	return n, err
}

// pace waits until the budgets allow a read, the read deadline passes, or
// the connection is closed. It holds no lock while it sleeps.
func (c *PacedConn) pace() error {
	for {
		select {
		case <-c.closed:
			return c.opError(net.ErrClosed)
		default:
		}
		left := time.Duration(math.MaxInt64)
		if dl := c.deadline.Load(); dl != 0 {
			if left = time.Unix(0, dl).Sub(c.b.clock.Now()); left <= 0 {
				return c.opError(os.ErrDeadlineExceeded)
			}
		}
		wait := c.b.wait(c.site, c.live.Load())
		if wait <= 0 {
			return nil
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
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
