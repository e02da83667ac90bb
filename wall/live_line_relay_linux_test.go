package wall

import (
	"io"
	"net"
	"sync"
	"testing"

	"kioskwall/internal/netns"
)

// lineRelay puts a kiosk behind a capped line. Synthetic kiosks listen on
// loopback addresses of the host (rfb/sim allows no other), so the relay
// listens inside the line's namespace and joins every connection it accepts
// to the kiosk. Whatever the kiosk sends is written by the relay into a
// socket of the namespace and leaves through the shaper, as a kiosk's bytes
// cross its campus's leased line; what kioskwall sends back enters the
// namespace unshaped, as requests and input are a few bytes. The kiosk's
// own socket buffers on loopback stand in for the send buffer a real kiosk
// has: bytes wait there, before the line, either way.
type lineRelay struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup // the accept loop and two copiers a connection
}

// startLineRelay relays connections to target (the kiosk's host:port)
// across l until the test ends.
func startLineRelay(t *testing.T, l *netns.Line, target string) *lineRelay {
	t.Helper()
	ln, err := l.Listen(0)
	if err != nil {
		t.Fatalf("relay to %s: listening in namespace %s: %v", target, l.Namespace, err)
	}
	r := &lineRelay{ln: ln, target: target, conns: map[net.Conn]bool{}}
	r.wg.Go(r.accept)
	t.Cleanup(r.close)
	return r
}

// Addr is where kioskwall dials the kiosk: the far end of the line.
func (r *lineRelay) Addr() string { return r.ln.Addr().String() }

func (r *lineRelay) accept() {
	for {
		far, err := r.ln.Accept()
		if err != nil {
			return // closed
		}
		near, err := net.Dial("tcp", r.target)
		if err != nil {
			far.Close() // kioskwall sees a refused kiosk, as it would
			continue
		}
		if !r.track(far, near) {
			return
		}
		// Either direction ending ends both, as one TCP connection would.
		pipe := func(dst, src net.Conn) {
			io.Copy(dst, src)
			far.Close()
			near.Close()
			r.untrack(far, near)
		}
		r.wg.Go(func() { pipe(far, near) })
		r.wg.Go(func() { pipe(near, far) })
	}
}

// track registers a joined pair; false (and both closed) once the relay is
// closing.
func (r *lineRelay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		r.conns[c] = true
	}
	return true
}

func (r *lineRelay) untrack(cs ...net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		delete(r.conns, c)
	}
}

// close stops listening, ends every relayed connection and waits for the
// copiers.
func (r *lineRelay) close() {
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.ln.Close()
	r.wg.Wait()
}
