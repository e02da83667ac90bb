package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"kioskwall/rfb/sim"
	"kioskwall/wall"
)

// running is a serve or demo command running in the test's process.
type running struct {
	t           *testing.T
	url         string
	out, errOut *syncBuffer
	cancel      context.CancelFunc
	done        chan error
}

var urlPattern = regexp.MustCompile(`http://[^ \n]+/`)

// start runs main (serveMain or demoMain) with args until stop, and waits
// for the URL it prints.
func start(t *testing.T, main func(context.Context, []string, io.Writer, io.Writer) error, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, out: &syncBuffer{}, errOut: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- main(ctx, args, r.out, r.errOut) }()
	t.Cleanup(func() { r.stop() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		if u := urlPattern.FindString(r.out.String()); u != "" {
			r.url = strings.TrimSuffix(u, "/")
			return r
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("the command ended before printing its URL: %v\nlog:\n%s", err, r.errOut)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL after 15 s; output %q\nlog:\n%s", r.out, r.errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop interrupts the command and returns what it returned.
func (r *running) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for a later stop
		return err
	case <-time.After(20 * time.Second):
		r.t.Fatal("the command did not stop within 20 s of the interrupt")
		return nil
	}
}

// get fetches a path of the running server.
func (r *running) get(path string) (int, []byte) {
	r.t.Helper()
	resp, err := http.Get(r.url + path)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.StatusCode, body
}

// waitKiosks polls /api/kiosks until cond holds for the list.
func (r *running) waitKiosks(what string, cond func([]wall.KioskInfo) bool) []wall.KioskInfo {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var list []wall.KioskInfo
		code, body := r.get("/api/kiosks")
		if code != http.StatusOK {
			r.t.Fatalf("/api/kiosks: %d %s", code, body)
		}
		if err := json.Unmarshal(body, &list); err != nil {
			r.t.Fatal(err)
		}
		if cond(list) {
			return list
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting until %s; kiosks %+v\nlog:\n%s", what, list, r.errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func allOnline(n int) func([]wall.KioskInfo) bool {
	return func(list []wall.KioskInfo) bool {
		online := 0
		for _, k := range list {
			if k.State == wall.StateOnline && k.Thumbnails > 0 {
				online++
			}
		}
		return len(list) == n && online == n
	}
}

// startServeSim starts still synthetic kiosks with a password.
func startServeSim(t *testing.T, n int, base, password string) *sim.Fleet {
	t.Helper()
	sf, err := sim.Start(context.Background(), sim.Config{Kiosks: n, BaseAddr: base, Password: password,
		Size: image.Pt(640, 360), Seed: 21, VirtualTime: true, Behaviours: []sim.Behaviour{sim.Idle}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sf.Close() })
	return sf
}

// TestServeConfigFile: serve with a config file serves the kiosks of its
// inventory file, keeps its tiles in the data dir, and never shows the
// kiosks' password anywhere.
func TestServeConfigFile(t *testing.T) {
	const password = "Serve-Pw-4711"
	sf := startServeSim(t, 3, "127.0.31.1", password)
	dir := t.TempDir()
	if err := sf.WriteInventory(filepath.Join(dir, "kiosks.csv")); err != nil {
		t.Fatal(err)
	}
	cfg := "data_dir: data\ninventory:\n  files: [kiosks.csv]\n  reload: 100ms\nbudgets:\n  total: 20Mbit\n"
	if err := os.WriteFile(filepath.Join(dir, "kioskwall.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, serveMain, "-config", filepath.Join(dir, "kioskwall.yaml"), "-listen", "127.0.0.1:0")
	if !strings.HasPrefix(r.url, "http://127.0.0.1:") {
		t.Errorf("URL %q, want the loopback address", r.url)
	}
	list := r.waitKiosks("every kiosk is online with a picture", allOnline(3))

	// The budget is in force: the kiosks' bytes went through it.
	var st wall.Stats
	_, body := r.get("/api/stats")
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if b := st.Budgets; b == nil || b.Total.CapBPS != 20_000_000 || b.Total.BytesIn == 0 {
		t.Errorf("stats budgets %+v; want the 20 Mbit total cap with the kiosks' bytes", b)
	}

	var seen strings.Builder
	for _, path := range []string{"/api/kiosks", "/api/stats", "/healthz", "/metrics", "/api/kiosks/" + list[0].ID} {
		code, body := r.get(path)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
		seen.Write(body)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("serve returned %v after the interrupt", err)
	}
	if strings.Contains(seen.String(), password) || strings.Contains(r.errOut.String(), password) || strings.Contains(r.out.String(), password) {
		t.Error("the password appears in a response, the log or the output")
	}
	// The tiles were saved at shutdown, relative to the config file.
	saved, _ := filepath.Glob(filepath.Join(dir, "data", "tiles", "*.jpg"))
	if len(saved) != 3*2 {
		t.Errorf("%d tiles saved in the data dir, want 6 (3 kiosks, 2 sizes): %v", len(saved), saved)
	}
}

// TestServeTokens: -tokens and -password-file alone replace a websockify
// setup: token = kiosk id, file name = site. A bad line is reported with
// its file and line, and the rest loads.
func TestServeTokens(t *testing.T) {
	const password = "Tok-Pw-0815"
	sf := startServeSim(t, 2, "127.0.32.1", password)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o755); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	lines.WriteString("# generated from the kiosk database\n")
	for _, k := range sf.Kiosks() {
		fmt.Fprintf(&lines, "%s: %s\n", k.ID(), k.Addr())
	}
	lines.WriteString("broken line\n")
	tokenFile := filepath.Join(tokens, "radiology.cfg")
	pwFile := filepath.Join(dir, "vnc-password")
	if err := os.WriteFile(tokenFile, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := start(t, serveMain, "-tokens", tokens, "-password-file", pwFile, "-listen", "127.0.0.1:0", "-data-dir", filepath.Join(dir, "data"))
	for _, k := range r.waitKiosks("both kiosks are online", allOnline(2)) {
		if k.Site != "radiology" {
			t.Errorf("kiosk %s in site %q, want radiology (the token file's name)", k.ID, k.Site)
		}
	}
	var st wall.Stats
	_, body := r.get("/api/stats")
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	// No cap is configured, yet the line is metered, so that a reload can
	// cap it.
	if b := st.Budgets; b == nil || b.Total.CapBPS != 0 || b.Total.Utilization != nil || len(b.Sites) != 1 ||
		b.Sites[0].Site != "radiology" || b.Sites[0].CapBPS != 0 || b.Sites[0].BytesIn == 0 {
		t.Errorf("stats budgets %+v; want the radiology line metered, without caps", b)
	}
	if len(st.InventoryProblems) != 1 || !strings.Contains(string(body), fmt.Sprintf(`"file":%q,"line":4`, tokenFile)) {
		t.Errorf("inventory_problems %s; want the broken line 4 of %s", body, tokenFile)
	}
	if !strings.Contains(r.errOut.String(), "line=4") {
		t.Errorf("the broken line is not logged:\n%s", r.errOut)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.errOut.String(), password) || strings.Contains(string(body), password) {
		t.Error("the password appears in the log or the stats")
	}
}

// TestServeListenRule: serve refuses a non-loopback address unless told,
// loudly, that there is no authentication.
func TestServeListenRule(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0"} {
		err := serveMain(context.Background(), []string{"-listen", addr, "-data-dir", t.TempDir()}, &syncBuffer{}, &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), "-insecure-no-auth-listen-anywhere") {
			t.Errorf("serve -listen %s: %v; want a refusal naming the flag", addr, err)
		}
	}
	r := start(t, serveMain, "-listen", "0.0.0.0:0", "-insecure-no-auth-listen-anywhere", "-data-dir", t.TempDir())
	if !strings.Contains(r.errOut.String(), "NO AUTHENTICATION") {
		t.Errorf("no loud warning:\n%s", r.errOut)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeErrors(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badCfg, []byte("listen: nowhere\n"), 0o644)
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"-config", filepath.Join(dir, "missing.yaml")}, "kioskwall.example.yaml"},
		{[]string{"-config", badCfg}, "listen"},
		{[]string{"-listen", "127.0.0.1"}, "host:port"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		err := serveMain(context.Background(), append(tc.args, "-data-dir", dir), &syncBuffer{}, &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("serve %q: %v; want an error saying %q", tc.args, err, tc.says)
		}
	}
}

// TestDemoCommand: the demo shows synthetic kiosks with pictures, one with
// a failed login as it says, on loopback only.
func TestDemoCommand(t *testing.T) {
	r := start(t, demoMain, "-kiosks", "32", "-listen", "127.0.0.1:0")
	wrong := regexp.MustCompile(`(K\d+) given a wrong password`).FindStringSubmatch(r.out.String())
	if wrong == nil {
		t.Fatalf("the demo does not say which kiosk has a wrong password:\n%s", r.out)
	}
	r.waitKiosks("most demo kiosks have pictures and "+wrong[1]+" failed to log in", func(list []wall.KioskInfo) bool {
		pictures, failed := 0, false
		for _, k := range list {
			if k.Thumbnails > 0 {
				pictures++
			}
			failed = failed || k.ID == wrong[1] && k.State == wall.StateAuthFailed
		}
		return len(list) == 32 && pictures >= 24 && failed
	})
	code, body := r.get("/")
	if code != http.StatusOK || !strings.Contains(string(body), "<html") {
		t.Errorf("GET /: %d, want the wall page", code)
	}
	_, list := r.get("/api/kiosks")
	if err := r.stop(); err != nil {
		t.Fatalf("demo returned %v after the interrupt", err)
	}
	if strings.Contains(string(list), demoPassword) || strings.Contains(r.errOut.String(), demoPassword) {
		t.Error("the demo's kiosk password appears in the API or the log")
	}

	err := demoMain(context.Background(), []string{"-listen", "0.0.0.0:0"}, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "loopback only") {
		t.Errorf("demo -listen 0.0.0.0:0: %v; want a refusal", err)
	}
}

// stats fetches /api/stats.
func (r *running) stats() wall.Stats {
	r.t.Helper()
	var st wall.Stats
	code, body := r.get("/api/stats")
	if code != http.StatusOK {
		r.t.Fatalf("/api/stats: %d %s", code, body)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		r.t.Fatal(err)
	}
	return st
}

// waitCaps polls /api/stats until the total and site caps are the ones
// given, and returns the site's line.
func (r *running) waitCaps(what string, total int64, site string, siteCap int64) wall.BudgetLine {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := r.stats()
		if b := st.Budgets; b != nil && b.Total.CapBPS == total {
			for _, l := range b.Sites {
				if l.Site == site && l.CapBPS == siteCap {
					return l
				}
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting until %s: budgets %+v\nlog:\n%s", what, st.Budgets, r.errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog waits until the server's log holds s, counting only what came
// after the first from bytes.
func (r *running) waitLog(what string, from int, s string) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.errOut.String()[from:], s) {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting until the log says %s (%q):\n%s", what, s, r.errOut.String()[from:])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeReloadsConfig: serve started without caps picks up the caps of
// a rewritten config file, keeps them through a broken rewrite (which it
// reports with file and line), says which change needs a restart, and
// re-reads the file at once on SIGHUP. Kiosks: synthetic, rfb/sim.
func TestServeReloadsConfig(t *testing.T) {
	sf := startServeSim(t, 2, "127.0.33.1", "Reload-Pw-1")
	site := sf.Kiosks()[0].Site()
	dir := t.TempDir()
	if err := sf.WriteInventory(filepath.Join(dir, "kiosks.csv")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kioskwall.yaml")
	head := "data_dir: data\ninventory:\n  files: [kiosks.csv]\n"
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(head+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("  reload: 100ms\n")
	r := start(t, serveMain, "-config", path, "-listen", "127.0.0.1:0")
	r.waitKiosks("both kiosks are online", allOnline(2))
	r.waitCaps("the server runs without caps", 0, site, 0)

	// Caps for a server started without any.
	mark := len(r.errOut.String())
	write("  reload: 100ms\nbudgets:\n  total: 20Mbit\n  sites:\n    " + site + ": 2Mbit\n")
	l := r.waitCaps("the new caps are in force", 20_000_000, site, 2_000_000)
	if l.Slots == 0 {
		t.Errorf("site line %+v has no request slots under its new cap", l)
	}
	r.waitLog("the cap change", mark, `msg="bandwidth cap changed" site=`+site+` from="no cap" to=2Mbit/s`)
	r.waitKiosks("both kiosks stay online", allOnline(2))

	// A broken file changes nothing and says where it is broken.
	mark = len(r.errOut.String())
	write("  reload: 100ms\nbudgets:\n  total: 1MB\n")
	r.waitLog("the broken line", mark, fmt.Sprintf("%s:6: ", path))
	r.waitLog("that the file was not applied", mark, "was not applied")
	if b := r.stats().Budgets; b.Total.CapBPS != 20_000_000 {
		t.Errorf("after a broken rewrite the total cap is %d; want the 20 Mbit in force", b.Total.CapBPS)
	}

	// A change that needs a restart is said to; a slower poll and a new
	// cap apply at once.
	mark = len(r.errOut.String())
	write("  reload: 1h\nthumbnails:\n  quality: 70\nbudgets:\n  total: 10Mbit\n  sites:\n    " + site + ": 2Mbit\n")
	r.waitCaps("the lower total", 10_000_000, site, 2_000_000)
	r.waitLog("the restart warning", mark, "setting=thumbnails.quality running=60 file=70")

	// Polled once an hour now: SIGHUP reads the file at once.
	mark = len(r.errOut.String())
	write("  reload: 1h\nthumbnails:\n  quality: 70\nbudgets:\n  total: 10Mbit\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.waitCaps("the site's cap removed on SIGHUP", 10_000_000, site, 0)
	r.waitLog("the SIGHUP", mark, "SIGHUP: re-reading the config file")
	if err := r.stop(); err != nil {
		t.Fatalf("serve returned %v after the interrupt", err)
	}
	if strings.Contains(r.errOut.String(), "Reload-Pw-1") {
		t.Error("the password appears in the log")
	}
}
