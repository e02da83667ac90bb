package rfb_test

import (
	"context"
	"errors"
	"image"
	"runtime"
	"testing"
	"time"

	"kioskwall/rfb"
	"kioskwall/rfb/sim"
)

// TestClientLifetime checks against a synthetic kiosk that cancelling the
// context unblocks a waiting Next, that byte counts move both ways, and that
// no goroutine outlives Close.
func TestClientLifetime(t *testing.T) {
	fctx, fcancel := context.WithCancel(context.Background())
	defer fcancel()
	fleet, err := sim.Start(fctx, sim.Config{Kiosks: 1, Behaviours: []sim.Behaviour{sim.Frozen}, Password: "pw12", Seed: 1,
		Size: image.Pt(640, 400)})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	addr := fleet.Kiosks()[0].Addr()
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()

	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		c, err := rfb.Dial(ctx, addr, rfb.ClientConfig{Password: "pw12", Framebuffer: &rfb.Buffer{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Request(false, image.Rect(0, 0, 640, 400)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Next(); err != nil {
			t.Fatal(err)
		}
		if c.BytesIn() < 1000 || c.BytesOut() < 10 {
			t.Fatalf("byte counts in %d, out %d", c.BytesIn(), c.BytesOut())
		}
		// A frozen screen never answers an incremental request: only the
		// context can end this wait.
		if err := c.Request(true, image.Rect(0, 0, 640, 400)); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			for {
				if _, err := c.Next(); err != nil {
					done <- err
					return
				}
			}
		}()
		time.AfterFunc(20*time.Millisecond, cancel)
		select {
		case err := <-done:
			if !isTimeout(err) {
				t.Fatalf("Next after cancel returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("cancelling the context did not unblock Next")
		}
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines before, %d after 20 sessions", before, n)
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// TestHandshakeDeadlineBoundsOnlyTheHandshake: a context with a timeout,
// as a caller bounds the handshake with, must not end the session when the
// timeout passes later (a synthetic kiosk from rfb/sim serves it).
func TestHandshakeDeadlineBoundsOnlyTheHandshake(t *testing.T) {
	fctx, fcancel := context.WithCancel(context.Background())
	defer fcancel()
	fleet, err := sim.Start(fctx, sim.Config{Kiosks: 1, Behaviours: []sim.Behaviour{sim.Idle}, Seed: 1, Size: image.Pt(640, 400)})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	hctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	c, err := rfb.Dial(hctx, fleet.Kiosks()[0].Addr(), rfb.ClientConfig{Framebuffer: &rfb.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-hctx.Done()
	time.Sleep(50 * time.Millisecond)
	if err := c.Request(false, image.Rect(0, 0, 640, 400)); err != nil {
		t.Fatalf("request after the handshake's timeout passed: %v", err)
	}
	for {
		m, err := c.Next()
		if err != nil {
			t.Fatalf("the session ended when the handshake's timeout passed: %v", err)
		}
		if u, ok := m.(*rfb.Update); ok && len(u.Rects) > 0 {
			return
		}
	}
}
