package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"kioskwall/internal/bench"
	"kioskwall/rfb/sim"
)

// serveSimStats serves the fleet's byte counts and content changes for
// kioskwall bench (kioskwall sim -stats-addr) until stop is called or ctx
// ends, and says where on out.
func serveSimStats(ctx context.Context, addr string, f *sim.Fleet, out io.Writer) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-stats-addr %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		bench.ServeSimStats(ctx, ln, f)
	}()
	fmt.Fprintf(out, "sim: stats at http://%s/\n", ln.Addr())
	return func() {
		cancel()
		<-done
	}, nil
}
