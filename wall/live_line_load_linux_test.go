package wall

import (
	"context"
	"net"
	"sync"
	"testing"

	"kioskwall/internal/netns"
)

// startLineLoad busies the line the way thumbnails of real kiosks can: the
// synthetic screens are flat and cost a few KB a change, where a real page
// change costs 50-200 KB. It opens n connections across the line through
// the site's budget, in the thumbnail class, each answered by a sender in
// the namespace that writes as fast as TCP lets it: with n the site's
// request slots, every slot is busy with a large update all the time, the
// most the budget lets thumbnails take. It runs until the test ends.
func startLineLoad(t *testing.T, l *netns.Line, b *Budgets, site string, n int) {
	t.Helper()
	ln, err := l.Listen(0)
	if err != nil {
		t.Fatalf("line load: listening in namespace %s: %v", l.Namespace, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			stop := context.AfterFunc(ctx, func() { c.Close() })
			wg.Go(func() {
				defer stop()
				pump(c, c.Write)
			})
		}
	})
	var d net.Dialer
	for range n {
		c, err := b.Dial(ctx, &d, site, ln.Addr().String())
		if err != nil {
			t.Fatalf("line load: %v", err)
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		wg.Go(func() {
			defer stop()
			pump(c, c.Read)
		})
	}
}

// pump reads or writes c (op is its Read or Write) as fast as it goes,
// until it fails, and closes it.
func pump(c net.Conn, op func([]byte) (int, error)) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := op(buf); err != nil {
			return
		}
	}
}
