package wall

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kioskwall/config"
)

// receiveBuffer is the SO_RCVBUF the kernel reports for c (on Linux twice
// the size asked for).
func receiveBuffer(t *testing.T, c net.Conn) int {
	t.Helper()
	if pc, ok := c.(*PacedConn); ok {
		c = pc.Conn
	}
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		n, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return n
}

// feeder is a loopback server that sends what each connection asks for: a
// 4-byte decimal count, answered with that many bytes.
func feeder(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				ask := make([]byte, 4)
				for {
					if _, err := io.ReadFull(c, ask); err != nil {
						return
					}
					n, _ := strconv.Atoi(strings.TrimSpace(string(ask)))
					if _, err := c.Write(make([]byte, n)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// readSome asks the feeder for n bytes and reads them through c.
func readSome(t *testing.T, c net.Conn, n int) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "%04d", n); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
}

// TestReceiveBufferFollowsCaps dials loopback connections through budgets
// and asks the kernel what receive buffer each has: a connection whose site
// and total have no cap keeps the kernel's own (the size an ordinary dial
// gets, autotuned), a capped one gets the small buffer from the start, and
// an open connection's buffer follows a reload at once, without waiting
// for a read: small once a cap came, the live size while live, and large
// once the cap went (a socket whose size was set is not autotuned again).
func TestReceiveBufferFollowsCaps(t *testing.T) {
	addr := feeder(t)
	ctx := context.Background()
	d := &net.Dialer{}
	plain, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	kernels := receiveBuffer(t, plain)

	west := config.Budgets{Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit}}
	tests := []struct {
		name string
		caps config.Budgets
		site string
		want int // 0: the kernel's own
	}{
		{"no caps", config.Budgets{}, "west", 0},
		{"another site capped", west, "east", 0},
		{"site capped", west, "west", 2 * 4 << 10},
		{"total capped", config.Budgets{Total: 20 * config.Mbit}, "east", 2 * 4 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudgets(tt.caps, BudgetOptions{})
			c, err := b.Dial(ctx, d, tt.site, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			readSome(t, c, 9000)
			// Autotuning only grows the kernel's own.
			if got := receiveBuffer(t, c); (tt.want == 0 && got < kernels) || (tt.want != 0 && got != tt.want) {
				t.Errorf("receive buffer %d bytes; want %d (0: the kernel's own, at least %d)", got, tt.want, kernels)
			}
		})
	}

	t.Run("reloads", func(t *testing.T) {
		b := NewBudgets(config.Budgets{}, BudgetOptions{})
		conn, err := b.Dial(ctx, d, "west", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c := conn.(*PacedConn)
		open := 2 * openReadBuffer
		if raw, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
			if most, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil {
				open = 2 * min(openReadBuffer, most)
			}
		}
		steps := []struct {
			what string
			do   func()
			want int // 0: the kernel's own
		}{
			{"dialled without caps", func() {}, 0},
			{"a cap came", func() { b.SetCaps(west) }, 2 * b.opt.ReadBuffer},
			{"live", func() { c.SetLive(true) }, 2 * b.opt.LiveReadBuffer},
			{"the cap went", func() { b.SetCaps(config.Budgets{}) }, open},
			{"thumbnails again, still no cap", func() { c.SetLive(false) }, open},
			{"a total came", func() { b.SetCaps(config.Budgets{Total: 20 * config.Mbit}) }, 2 * b.opt.ReadBuffer},
		}
		for _, s := range steps {
			s.do()
			if got := receiveBuffer(t, c); (s.want == 0 && got < kernels) || (s.want != 0 && got != s.want) {
				t.Errorf("%s: receive buffer %d bytes; want %d (0: the kernel's own, at least %d)", s.what, got, s.want, kernels)
			}
			readSome(t, c, 3000)
		}
	})
}

// TestCapOnOpenConnection gives a cap to a connection that was dialled
// without one and carried 4 MiB at loopback speed, so that the kernel grew
// its receive buffer (to megabytes). The reload shrinks the buffer at once;
// then the kiosk sends 4 MiB while nobody reads. What the kernel takes in
// is the window it had offered before the cap, which it cannot take back
// (about 64 KiB measured), not the grown buffer: waiting for the next read
// to shrink it let 1.4-1.8 MiB in.
func TestCapOnOpenConnection(t *testing.T) {
	ln, accepted := acceptOne(t)
	b := NewBudgets(config.Budgets{}, BudgetOptions{})
	c, err := b.Dial(context.Background(), &net.Dialer{}, "west", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kiosk := <-accepted
	defer kiosk.Close()
	go kiosk.Write(make([]byte, 4<<20))
	if _, err := io.ReadFull(c, make([]byte, 4<<20)); err != nil {
		t.Fatal(err)
	}
	grown := receiveBuffer(t, c)

	b.SetCaps(config.Budgets{Sites: map[string]config.Bandwidth{"west": 2 * config.Mbit}})
	if got := receiveBuffer(t, c); got != 2*b.opt.ReadBuffer {
		t.Fatalf("after the cap came: receive buffer %d bytes; want %d", got, 2*b.opt.ReadBuffer)
	}
	go kiosk.Write(make([]byte, 4<<20))
	queued, last := 0, -1
	for queued != last {
		time.Sleep(100 * time.Millisecond)
		last = queued
		if queued, err = socketQueue(c.(*PacedConn).Conn, syscall.TIOCINQ); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("receive buffer %d bytes before the cap; %d bytes queued after it", grown, queued)
	if queued > 256<<10 {
		t.Errorf("%d bytes queued after the cap came; want no more than the window offered before it (256 KiB at most)", queued)
	}
}

// acceptOne listens on loopback for one connection, which arrives on the
// channel; the listener closes when the test ends.
func acceptOne(t *testing.T) (net.Listener, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	return ln, accepted
}
