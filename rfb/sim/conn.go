package sim

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// meteredConn counts the bytes a kiosk writes and can hold every write back
// by a fixed delay, standing in for a leased line's round trip. Counting at
// the socket makes the count independent of what the RFB code believes it
// sent.
type meteredConn struct {
	net.Conn
	sent  *atomic.Int64
	delay time.Duration

	closeOnce sync.Once
	closed    chan struct{} // closed by Close, so a delayed write gives up at once
}

func newMeteredConn(c net.Conn, sent *atomic.Int64, delay time.Duration) *meteredConn {
	return &meteredConn{Conn: c, sent: sent, delay: delay, closed: make(chan struct{})}
}

func (c *meteredConn) Write(p []byte) (int, error) {
	if c.delay > 0 {
		t := time.NewTimer(c.delay)
		select {
		case <-t.C:
		case <-c.closed:
			t.Stop()
			return 0, net.ErrClosed
		}
	}
	n, err := c.Conn.Write(p)
	c.sent.Add(int64(n))
	return n, err
}

func (c *meteredConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
