package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// benchChildEnv makes the test binary act as kioskwall itself, so that
// kioskwall bench under test can start its kiosks and server as the real
// command does: by running its own executable with "sim" and "serve".
const benchChildEnv = "KIOSKWALL_TEST_AS_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(benchChildEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:])
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// A short benchmark run: the kiosks and the server in processes of their
// own, four viewers, the baseline. The JSON has every field the issue asks
// for, with values that hang together: bytes flowed, the kiosks' count and
// the server's agree within 10%, freshness was measured.
func TestBenchShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("a 20-second benchmark run; skipped with -short")
	}
	t.Setenv(benchChildEnv, "1")
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	err := benchMain(ctx, []string{"-kiosks", "20", "-duration", "20s", "-viewers", "4", "-baseline-kiosks", "10",
		"-baseline-duration", "5s", "-sim-addr", "127.0.201.1", "-json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("bench: %v\nprogress:\n%s", err, errOut.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out.String())
	}
	num := func(name string) float64 {
		t.Helper()
		v, ok := got[name].(float64)
		if !ok {
			t.Fatalf("field %q missing or not a number: %v\n%s", name, got[name], out.String())
		}
		return v
	}
	for _, name := range []string{"kiosks", "cap_bps", "bytes_per_sec", "sim_bytes_per_sec", "worst_window_bps",
		"baseline_bytes_per_sec", "freshness_p50_ms", "freshness_p95_ms", "freshness_p99_ms", "cpu_cores", "rss_bytes", "viewers"} {
		num(name)
	}
	if num("kiosks") != 20 || num("cap_bps") != 20e6 || num("viewers") != 4 {
		t.Errorf("scenario: kiosks %v, cap_bps %v, viewers %v; want 20, 20000000, 4", got["kiosks"], got["cap_bps"], got["viewers"])
	}
	server, kiosks := num("bytes_per_sec"), num("sim_bytes_per_sec")
	if server <= 0 || kiosks <= 0 || math.Abs(kiosks-server) > 0.1*server {
		t.Errorf("bytes per second: server read %.0f, kiosks sent %.0f; want both > 0 and within 10%%", server, kiosks)
	}
	if w := num("worst_window_bps"); w < 0.9*8*server {
		t.Errorf("worst 10 s window %.0f bit/s is below the average %.0f bit/s", w, 8*server)
	}
	if num("baseline_bytes_per_sec") <= 0 {
		t.Errorf("baseline_bytes_per_sec %v", got["baseline_bytes_per_sec"])
	}
	p50, p95, p99 := num("freshness_p50_ms"), num("freshness_p95_ms"), num("freshness_p99_ms")
	if num("freshness_samples") < 1 || p50 <= 0 || p50 > p95 || p95 > p99 {
		t.Errorf("freshness: %v samples, p50 %v, p95 %v, p99 %v; want samples and 0 < p50 <= p95 <= p99", got["freshness_samples"], p50, p95, p99)
	}
	if num("cpu_cores") <= 0 || num("rss_bytes") <= 0 {
		t.Errorf("server: %v cores, %v bytes resident; want both > 0", got["cpu_cores"], got["rss_bytes"])
	}
	// One viewer and all four take turns, at least four of them.
	if turns, ok := got["turn_cpu_cores"].([]any); !ok || num("viewer_turns") < 4 || len(turns) != int(num("viewer_turns")) {
		t.Errorf("viewer_turns %v, turn_cpu_cores %v; want at least 4 turns, each with its CPU", got["viewer_turns"], got["turn_cpu_cores"])
	}
	// Where the bytes go: the classes' bytes add up to the kiosks' count.
	classes, _ := got["classes"].([]any)
	var classBytes float64
	for _, c := range classes {
		c, _ := c.(map[string]any)
		each, _ := c["bytes_per_sec_per_kiosk"].(float64)
		n, _ := c["kiosks"].(float64)
		classBytes += each * n
	}
	if len(classes) < 2 || math.Abs(classBytes-kiosks) > 0.1*kiosks {
		t.Errorf("classes %v: %.0f bytes per second in all; want watched and unwatched classes adding up to the kiosks' %.0f", got["classes"], classBytes, kiosks)
	}
	if t.Failed() {
		t.Logf("progress:\n%s", errOut.String())
	}
}
