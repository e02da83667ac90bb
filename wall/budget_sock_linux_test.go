package wall

import (
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
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
