package wall

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kioskwall/config"
	"kioskwall/thumbs"
)

func TestTargetOf(t *testing.T) {
	for _, tc := range []struct {
		k    config.Kiosk
		want Target
	}{
		{
			config.Kiosk{ID: "K1", Name: "Reception 1", Site: "west", Host: "10.0.0.7", Port: 5900, Password: config.Secret("s3cret"), Kind: "tightvnc", MAC: "00:1a:2b:3c:4d:5e", Tags: []string{"floor-1"}, Source: "kiosks.csv:2"},
			Target{ID: "K1", Name: "Reception 1", Site: "west", Addr: "10.0.0.7:5900", Password: "s3cret", Kind: "tightvnc"},
		},
		{
			config.Kiosk{ID: "K2", Name: "K2", Site: "east", Host: "fe80::1", Port: 5901, Kind: "tigervnc"},
			Target{ID: "K2", Name: "K2", Site: "east", Addr: "[fe80::1]:5901", Kind: "tigervnc"},
		},
		{
			config.Kiosk{ID: "K3", Name: "Payment", Site: "north", Host: "kiosk3.hospital.example", Port: 5999},
			Target{ID: "K3", Name: "Payment", Site: "north", Addr: "kiosk3.hospital.example:5999"},
		},
	} {
		if got := TargetOf(tc.k); got != tc.want {
			t.Errorf("TargetOf(%s) = %+v, want %+v", tc.k.ID, got, tc.want)
		}
	}
	if got := TargetsOf(nil); len(got) != 0 {
		t.Errorf("TargetsOf(nil) = %v", got)
	}
}

// invBlockedServer is a Server whose sessions never connect.
func invBlockedServer(t *testing.T) *apiEnv {
	return startAPIServer(t, ServerOptions{Fleet: FleetOptions{Ramp: time.Millisecond, Dial: neverDial}}, nil)
}

func invKiosk(id, site, host string) config.Kiosk {
	return config.Kiosk{ID: id, Name: id, Site: site, Host: host, Port: 5900, Kind: "tightvnc"}
}

func TestApplyInventory(t *testing.T) {
	e := invBlockedServer(t)
	bad := config.Problem{File: "/etc/kioskwall/kiosks.csv", Line: 7, Msg: `kiosk K9: host "10.0.0.9:5900" includes a port; entry skipped`}
	e.srv.ApplyInventory(config.Snapshot{
		Kiosks:   []config.Kiosk{invKiosk("K1", "west", "10.0.0.1"), invKiosk("K2", "west", "10.0.0.2")},
		Problems: []config.Problem{bad},
		Added:    []string{"K1", "K2"},
	})
	if got := len(e.kiosks("")); got != 2 {
		t.Fatalf("%d kiosks after the first inventory, want 2", got)
	}
	var st Stats
	e.getJSON("/api/stats", http.StatusOK, &st)
	if len(st.InventoryProblems) != 1 || st.InventoryProblems[0] != (problemInfo{File: bad.File, Line: bad.Line, Message: bad.Msg}) {
		t.Errorf("stats inventory_problems %+v, want the one problem", st.InventoryProblems)
	}
	var h struct {
		InventoryProblems []problemInfo `json:"inventory_problems"`
	}
	e.getJSON("/healthz", http.StatusOK, &h)
	if len(h.InventoryProblems) != 1 {
		t.Errorf("healthz inventory_problems %+v, want one", h.InventoryProblems)
	}
	if _, _, m := e.get("/metrics"); !strings.Contains(string(m), "kioskwall_inventory_problems 1\n") {
		t.Error("metrics do not count the inventory problem")
	}
	if logs := e.logs.String(); !strings.Contains(logs, "file=/etc/kioskwall/kiosks.csv line=7") {
		t.Errorf("the problem's file and line are not logged:\n%s", logs)
	}

	// K1 re-pointed, K2 gone, K3 new; the problem fixed.
	s1, _ := e.srv.Fleet().Session("K1")
	e.srv.ApplyInventory(config.Snapshot{
		Kiosks:  []config.Kiosk{invKiosk("K1", "west", "10.0.0.11"), invKiosk("K3", "east", "10.0.0.3")},
		Added:   []string{"K3"},
		Removed: []string{"K2"},
		Changed: []string{"K1"},
	})
	got := e.kiosks("")
	if len(got) != 2 || got["K3"].Site != "east" || got["K1"].ID == "" {
		t.Errorf("kiosks after the change: %v; want K1 and K3", got)
	}
	if s, _ := e.srv.Fleet().Session("K1"); s == s1 || s.Target().Addr != "10.0.0.11:5900" {
		t.Errorf("K1 was not re-pointed: %+v", s.Target())
	}
	e.getJSON("/api/stats", http.StatusOK, &st)
	if len(st.InventoryProblems) != 0 {
		t.Errorf("fixed problem still reported: %+v", st.InventoryProblems)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "added=K3 removed=K2 changed=K1") {
		t.Errorf("the change is not logged:\n%s", logs)
	}
}

// TestApplyInventoryForgetsLeftTiles: saved tiles of kiosks that left the
// inventory while the server was down are dropped, but only when the
// inventory was read without problems.
func TestApplyInventoryForgetsLeftTiles(t *testing.T) {
	frames := []thumbs.Frame{{Rendition: "small", Seq: 1, Width: 16, Height: 9, JPEG: []byte("jpeg")}}
	for _, tc := range []struct {
		name     string
		problems []config.Problem
		goneKept bool
	}{
		{"clean inventory", nil, false},
		{"inventory with a problem", []config.Problem{{File: "kiosks.csv", Msg: "cannot read it"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := invBlockedServer(t)
			e.srv.Tiles().Put("KEPT", frames)
			e.srv.Tiles().Put("GONE", frames)
			e.srv.ApplyInventory(config.Snapshot{Kiosks: []config.Kiosk{invKiosk("KEPT", "west", "10.0.0.1")}, Problems: tc.problems})
			if _, ok := e.srv.Tiles().Get("KEPT", "small"); !ok {
				t.Error("the tile of a listed kiosk was dropped")
			}
			if _, ok := e.srv.Tiles().Get("GONE", "small"); ok != tc.goneKept {
				t.Errorf("tile of the unlisted kiosk kept: %v, want %v", ok, tc.goneKept)
			}
		})
	}
}

// TestWatchInventory: token files are read, re-read when they change, and
// a bad line is reported with its file and line while the rest loads.
func TestWatchInventory(t *testing.T) {
	e := invBlockedServer(t)
	dir := t.TempDir()
	west := filepath.Join(dir, "west.cfg")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(west, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# websockify tokens\nK1: 10.0.0.1:5900\n")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.srv.WatchInventory(ctx, config.Sources{Tokens: []string{dir}}, 50*time.Millisecond) })
	defer wg.Wait()
	defer cancel()

	waitKiosks := func(want ...string) map[string]KioskInfo {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := e.kiosks("")
			same := len(got) == len(want)
			for _, id := range want {
				same = same && got[id].ID == id
			}
			if same {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("kiosks %v, want %v", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if k := waitKiosks("K1")["K1"]; k.Site != "west" {
		t.Errorf("K1 site %q, want west (the token file's name)", k.Site)
	}

	write("# websockify tokens\nK1: 10.0.0.1:5900\nK2: 10.0.0.2:5900\nthis line is wrong\n")
	waitKiosks("K1", "K2")
	var st Stats
	deadline := time.Now().Add(10 * time.Second)
	for len(st.InventoryProblems) == 0 && time.Now().Before(deadline) {
		e.getJSON("/api/stats", http.StatusOK, &st)
	}
	if len(st.InventoryProblems) != 1 || st.InventoryProblems[0].File != west || st.InventoryProblems[0].Line != 4 {
		t.Errorf("inventory problems %+v, want one at %s:4", st.InventoryProblems, west)
	}
}
