package wall

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// socketQueue asks the kernel how many bytes a TCP socket holds: req is
// syscall.TIOCINQ (received, not yet read) or syscall.TIOCOUTQ (written, not
// yet acknowledged by the peer).
func socketQueue(c net.Conn, req uint) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, fmt.Errorf("%T has no socket", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int32
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(req), uintptr(unsafe.Pointer(&n)))
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// timeline counts bytes in 100 ms slots from a start, for checking 10 s
// windows independently of the budgets' own meter.
type timeline struct {
	start time.Time
	slots []atomic.Int64
}

func newTimeline(start time.Time, d time.Duration) *timeline {
	return &timeline{start: start, slots: make([]atomic.Int64, int(d/(100*time.Millisecond))+1)}
}

func (tl *timeline) add(at time.Time, n int) {
	i := int(at.Sub(tl.start) / (100 * time.Millisecond))
	if i >= 0 && i < len(tl.slots) {
		tl.slots[i].Add(int64(n))
	}
}

// worstAfter is the largest sum of 100 consecutive slots (10 s) among the
// windows that start at or after skip and end within the first upto slots.
func (tl *timeline) worstAfter(skip time.Duration, upto int) int64 {
	first := int(skip / (100 * time.Millisecond))
	var worst int64
	for s := first; s+100 <= upto; s++ {
		var sum int64
		for k := s; k < s+100; k++ {
			sum += tl.slots[k].Load()
		}
		worst = max(worst, sum)
	}
	return worst
}

// busyKiosks are loopback kiosks that answer every request at once with a
// large update (burstSender's 'B'), or stream as a live view ('L'), and
// receivers that fetch from them as sessions do. Stop ends them all.
type busyKiosks struct {
	ctx context.Context
	ln  net.Listener
	wg  sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn // both sides, closed by stop
}

// startBusyKiosks listens on loopback and serves each connection until ctx
// ends, counting what is written in written; seed varies their updates.
func startBusyKiosks(t *testing.T, ctx context.Context, seed uint64, liveRate int, written *timeline) *busyKiosks {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := &busyKiosks{ctx: ctx, ln: ln}
	cb := &changeBoard{epoch: 1, next: make(chan struct{})}
	k.wg.Go(func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			k.keep(c)
			s := &burstSender{conn: c}
			rnd := rand.New(rand.NewPCG(uint64(i), seed))
			k.wg.Go(func() { s.serve(ctx, cb, rnd, liveRate, written) })
		}
	})
	return k
}

func (k *busyKiosks) keep(c net.Conn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.conns = append(k.conns, c)
}

// dial connects a kiosk of site through b and says hello.
func (k *busyKiosks) dial(t *testing.T, b *Budgets, site string, hello byte) *PacedConn {
	t.Helper()
	c, err := b.Dial(k.ctx, &net.Dialer{}, site, k.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	k.keep(c)
	if _, err := c.Write([]byte{hello}); err != nil {
		t.Fatal(err)
	}
	return c.(*PacedConn)
}

// fetchAll has a receiver take a request slot of site, fetch one update
// into tl and give the slot back, until the connection ends.
func (k *busyKiosks) fetchAll(b *Budgets, site string, pc *PacedConn, tl *timeline) {
	k.wg.Go(func() {
		buf := make([]byte, 32<<10)
		for {
			release, err := b.Acquire(k.ctx, site, false)
			if err != nil {
				return
			}
			err = fetch(pc, buf, tl)
			release()
			if err != nil {
				return
			}
		}
	})
}

// stop waits for ctx to end, then closes everything and waits for every
// goroutine.
func (k *busyKiosks) stop() {
	<-k.ctx.Done()
	k.ln.Close()
	k.mu.Lock()
	for _, c := range k.conns {
		c.Close()
	}
	k.mu.Unlock()
	k.wg.Wait()
}
