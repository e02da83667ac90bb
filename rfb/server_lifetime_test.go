package rfb

import (
	"context"
	"image"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// Serve owns its goroutine: however a session ends, nothing is left behind
// and the connection is closed.
func TestServeLeavesNoGoroutine(t *testing.T) {
	d := newSceneDesktop(64, 48, Format32, 1)
	start := runtime.NumGoroutine()
	endings := []struct {
		name         string
		clientCloses bool
		run          func(t *testing.T, cancel context.CancelFunc, conn net.Conn)
	}{
		{"client leaves during the handshake", true, func(t *testing.T, cancel context.CancelFunc, conn net.Conn) {
			io.ReadFull(conn, make([]byte, 12))
			conn.Close()
		}},
		{"context ends during the handshake", false, func(t *testing.T, cancel context.CancelFunc, conn net.Conn) {
			io.ReadFull(conn, make([]byte, 12))
			cancel()
		}},
		{"client leaves mid-session", true, func(t *testing.T, cancel context.CancelFunc, conn net.Conn) {
			c := newRawClient(t, conn)
			c.handshake38None()
			c.setEncodings(EncRaw)
			c.request(false, image.Rect(0, 0, 64, 48))
			c.readUpdate(4)
			c.request(true, image.Rect(0, 0, 64, 48))
			conn.Close()
		}},
		{"context ends mid-session, while a request is held", false, func(t *testing.T, cancel context.CancelFunc, conn net.Conn) {
			c := newRawClient(t, conn)
			c.handshake38None()
			c.request(true, image.Rect(0, 0, 1, 1))
			cancel()
		}},
		{"context ends while an update is blocked on the client", false, func(t *testing.T, cancel context.CancelFunc, conn net.Conn) {
			c := newRawClient(t, conn)
			c.handshake38None()
			c.request(false, image.Rect(0, 0, 64, 48))
			c.read(100) // part of the update, then stall
			cancel()
		}},
	}
	for i := 0; i < 40; i++ {
		e := endings[i%len(endings)]
		ctx, cancel := context.WithCancel(context.Background())
		server, client := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, server, d, ServerConfig{}) }()
		e.run(t, cancel, client)
		select {
		case err := <-done:
			if !e.clientCloses && err != nil {
				t.Errorf("%s: Serve: %v, want nil when the context ends", e.name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Serve did not return", e.name)
		}
		cancel()
		if !e.clientCloses {
			client.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := io.Copy(io.Discard, client); err != nil {
				t.Errorf("%s: the connection was not closed: %v", e.name, err)
			}
		}
		client.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > start && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > start {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after 40 sessions, %d before:\n%s", n, start, buf[:runtime.Stack(buf, true)])
	}
}

// A client that stops reading ends its own session when the write timeout
// passes, and never holds up the drawing side.
func TestServeStalledClient(t *testing.T) {
	d := newSceneDesktop(640, 480, Format32, 1)
	server, client := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(t.Context(), server, d, ServerConfig{WriteTimeout: 300 * time.Millisecond}) }()
	c := newRawClient(t, client)
	c.handshake38None()
	c.setEncodings(EncRaw)
	c.request(false, image.Rect(0, 0, 640, 480))
	// Never read the update. Drawing goes on meanwhile.
	drawn := make(chan struct{})
	go func() {
		defer close(drawn)
		for i := 0; i < 50; i++ {
			fillDesktop(d, image.Rect(i, i, i+10, i+10), [3]uint8{uint8(i), 0, 0})
		}
	}()
	select {
	case <-drawn:
	case <-time.After(2 * time.Second):
		t.Fatal("drawing blocked behind a stalled client")
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("Serve returned nil for a client that stopped reading")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running 5 s after its client stalled")
	}
}
