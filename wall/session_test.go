package wall

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"log/slog"
	"strings"
	"testing"
	"time"

	"kioskwall/rfb"
	"kioskwall/rfb/sim"
)

// startSim runs synthetic kiosks (package rfb/sim: real RFB servers on
// loopback) with the given behaviours.
func startSim(t *testing.T, password string, behaviours ...sim.Behaviour) *sim.Fleet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f, err := sim.Start(ctx, sim.Config{Kiosks: len(behaviours), Behaviours: behaviours, Password: password,
		Size: image.Pt(960, 540), Seed: 7})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); f.Close() })
	return f
}

func testFleet(t *testing.T, log *apiLogBuffer) (*Fleet, *TileStore) {
	t.Helper()
	tiles := NewTileStore()
	thumb := ThumbnailProfile
	thumb.Interval = 100 * time.Millisecond
	f := NewFleet(tiles, FleetOptions{
		Thumbnail: &thumb,
		Backoff:   Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, Auth: time.Hour},
		Logger:    slog.New(slog.NewTextHandler(log, nil)),
		Seed:      1,
	})
	t.Cleanup(f.Close)
	return f, tiles
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSessionsAgainstSyntheticKiosks(t *testing.T) {
	const pw = "s3cret-kiosk"
	kiosks := startSim(t, pw, sim.Idle, sim.Refusing, sim.Idle)
	var log apiLogBuffer
	fleet, tiles := testFleet(t, &log)
	ks := kiosks.Kiosks()
	fleet.Sync([]Target{
		{ID: ks[0].ID(), Site: ks[0].Site(), Addr: ks[0].Addr(), Password: pw},
		{ID: ks[1].ID(), Site: ks[1].Site(), Addr: ks[1].Addr(), Password: pw},
		{ID: ks[2].ID(), Site: ks[2].Site(), Addr: ks[2].Addr(), Password: "wrong-password"},
	})
	sess := func(i int) *Session { s, _ := fleet.Session(ks[i].ID()); return s }

	eventually(t, "a thumbnail of the idle kiosk", func() bool { _, ok := tiles.Get(ks[0].ID(), "small"); return ok })
	tile, _ := tiles.Get(ks[0].ID(), "small")
	img, err := jpeg.Decode(bytes.NewReader(tile.JPEG))
	if err != nil || img.Bounds().Dx() != 320 || img.Bounds().Dy() != 180 {
		t.Fatalf("small tile: %v, %v", img.Bounds(), err)
	}
	// The very first picture already shows the kiosk's screen, not a blank
	// frame from before its pixels arrived.
	if tile.Seq != 1 || uniform(img) {
		t.Errorf("first tile (seq %d) is a uniform picture", tile.Seq)
	}
	st := sess(0).Status()
	if st.State != StateOnline || st.Width != 960 || st.BytesIn == 0 || st.Thumbnails == 0 || st.Confirmed.IsZero() {
		t.Errorf("idle kiosk status %+v", st)
	}

	eventually(t, "the refusing kiosk offline", func() bool { return sess(1).Status().Reason == rfb.FailRefused })
	if st := sess(1).Status(); st.State != StateOffline || !strings.Contains(st.Message, "nothing listens") {
		t.Errorf("refusing kiosk status %+v", st)
	}
	eventually(t, "the wrong password to fail", func() bool { return sess(2).Status().State == StateAuthFailed })

	// The clock ticks every second: the idle kiosk keeps publishing while a
	// page shows it.
	fleet.SetWatch(ks[0].ID(), fleet.renditionBit("small"))
	seq := tile.Seq
	eventually(t, "a newer picture", func() bool { t, _ := tiles.Get(ks[0].ID(), "small"); return t.Seq > seq })

	// A viewer upgrades the same connection to 32 bpp, and leaving brings it back.
	remove := sess(0).AddViewer()
	eventually(t, "live mode", func() bool { return strings.HasPrefix(sess(0).Status().Format, "32bpp") })
	remove()
	eventually(t, "thumbnail mode", func() bool { return strings.HasPrefix(sess(0).Status().Format, "8bpp") })
	if n := ks[0].Connections(); n != 1 {
		t.Log(log.String())
		t.Errorf("the kiosk saw %d connections from kioskwall, want exactly 1", n)
	}
	if strings.Contains(log.String(), pw) || strings.Contains(log.String(), "wrong-password") {
		t.Error("a password appears in the log")
	}
}

func TestSyncRepointsAndRemoves(t *testing.T) {
	kiosks := startSim(t, "", sim.Idle, sim.Idle)
	var log apiLogBuffer
	fleet, tiles := testFleet(t, &log)
	a, b := kiosks.Kiosks()[0], kiosks.Kiosks()[1]
	fleet.Sync([]Target{{ID: "K", Name: "first", Addr: a.Addr()}})
	eventually(t, "online on the first address", func() bool {
		s, _ := fleet.Session("K")
		return s.Status().State == StateOnline
	})
	fleet.Sync([]Target{{ID: "K", Name: "renamed", Addr: a.Addr()}})
	if s, _ := fleet.Session("K"); s.Target().Name != "renamed" || a.Connections() != 1 {
		t.Fatalf("a rename reconnected or was lost: %+v, %d connections", s.Target(), a.Connections())
	}
	fleet.Sync([]Target{{ID: "K", Name: "renamed", Addr: b.Addr()}})
	eventually(t, "the re-pointed kiosk online", func() bool { return b.Connections() == 1 })
	fleet.Sync(nil)
	if _, ok := fleet.Session("K"); ok {
		t.Fatal("a removed kiosk still has a session")
	}
	if _, ok := tiles.Get("K", ""); ok {
		t.Fatal("a removed kiosk still has tiles")
	}
}

// uniform reports whether every pixel of img has nearly the same colour.
func uniform(img image.Image) bool {
	b := img.Bounds()
	r0, g0, b0, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if absDiff(r, r0) > 0x1000 || absDiff(g, g0) > 0x1000 || absDiff(bl, b0) > 0x1000 {
				return false
			}
		}
	}
	return true
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
