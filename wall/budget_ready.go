package wall

import (
	"errors"
	"net"
	"syscall"
)

// readyWaiter waits until a socket has bytes to read (or its end, or an
// error to report) without reading them: a paced read asks the budgets
// only then, so a connection idle in its read is not counted as a read
// under way. A connection without a socket (a pipe in a test) does not
// wait: its read is under way from the moment the budgets let it through.
// It is used by the connection's one reader only.
type readyWaiter struct {
	raw  syscall.RawConn // nil: no socket
	peek [1]byte
	try  func(fd uintptr) bool
}

func newReadyWaiter(c net.Conn) readyWaiter {
	var w readyWaiter
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			w.raw = raw
		}
	}
	return w
}

// wait returns once a read would not block, or with the error (a passed
// deadline, a closed connection) that ended the wait; the net package's
// wrapping is taken off, for the caller's own.
func (w *readyWaiter) wait() error {
	if w.raw == nil {
		return nil
	}
	if w.try == nil {
		w.try = w.peekOne
	}
	err := w.raw.Read(w.try)
	if oe := (*net.OpError)(nil); errors.As(err, &oe) {
		return oe.Err
	}
	return err
}

// peekOne reports whether the socket has a byte to read, its end, or an
// error: anything but "nothing yet" ends the wait.
func (w *readyWaiter) peekOne(fd uintptr) bool {
	for {
		_, _, err := syscall.Recvfrom(int(fd), w.peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err != syscall.EINTR {
			return err != syscall.EAGAIN
		}
	}
}
