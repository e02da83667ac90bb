package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from the command and read
// from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// kioskwall sim starts the fleet, writes the inventory, says what runs
// where, serves until interrupted and then stops.
func TestSimCommand(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "kiosks.csv")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- simMain(ctx, []string{"-kiosks", "4", "-addr", "127.0.14.1:0", "-size", "640x360", "-password", "pw-123",
			"-inventory", inv, "-mix", "idle=1"}, &out, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "running until interrupted") {
		if time.Now().After(deadline) {
			t.Fatalf("no summary after 10 s; output %q, errors %q", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{"4 kiosks, 4 listening", "127.0.14.1:", "127.0.14.4:", "security: VNC authentication", "idle=4", "inventory written to " + inv} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "pw-123") {
		t.Error("the summary shows the password")
	}
	f, err := os.Open(inv)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 5 {
		t.Fatalf("inventory: %d rows, %v", len(rows), err)
	}
	c, err := net.Dial("tcp", net.JoinHostPort(rows[4][3], rows[4][4]))
	if err != nil {
		t.Fatalf("kiosk K0004 from the inventory does not accept: %v", err)
	}
	c.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sim returned %v after interrupt", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop after interrupt")
	}
	if !strings.Contains(out.String(), "stopping") {
		t.Errorf("no goodbye line:\n%s", out.String())
	}
}

func TestSimCommandErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		says string
	}{
		{nil, "-kiosks N"},
		{[]string{"-kiosks", "2", "-addr", "127.0.1.1"}, "e.g. 127.0.1.1:5900"},
		{[]string{"-kiosks", "2", "-addr", "127.0.1.1:http"}, "not a number"},
		{[]string{"-kiosks", "2", "-size", "big"}, "WIDTHxHEIGHT"},
		{[]string{"-kiosks", "2", "-mix", "idle"}, "-mix"},
		{[]string{"-kiosks", "2", "extra"}, "unexpected argument"},
		{[]string{"-kiosks", "2", "-addr", "10.1.1.1:5900"}, "127.0.0.0/8"},
	} {
		var out, errOut syncBuffer
		err := simMain(context.Background(), tt.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("sim %q: %v; want an error saying %q", tt.args, err, tt.says)
		}
	}
	if err := simMain(context.Background(), []string{"-h"}, &syncBuffer{}, &syncBuffer{}); err != nil {
		t.Errorf("sim -h: %v; want the usage and no error", err)
	}
}
