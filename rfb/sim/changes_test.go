package sim

import (
	"image"
	"testing"
	"time"
)

// waiting reports whether k's one connection has a request waiting for a
// change, as the kiosk's inference sees it.
func waiting(k *Kiosk) bool {
	k.watch.mu.Lock()
	defer k.watch.mu.Unlock()
	for s := range k.watch.streams {
		return s.waiting
	}
	return false
}

// The kiosk knows when a change leaves it: at the next request when no
// request waits, at the change itself when one does, and not with a 1x1
// probe. Script time stands still, so the only changes are the keys the
// test types.
func TestChangesComposed(t *testing.T) {
	f := startFleet(t, Config{Kiosks: 1, Size: image.Pt(640, 360), Behaviours: []Behaviour{Idle}})
	k := f.Kiosks()[0]
	c, fb := dial(t, k, nil)
	if p := f.PendingChanges(); len(p) != 0 {
		t.Fatalf("first screen counted as a change: %v", p)
	}
	seen := func() int { return len(f.PendingChanges()) + len(mustChanges(f)) }
	typed := func(key uint32) {
		t.Helper()
		n := seen()
		if err := c.KeyEvent(true, key); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the key to change the screen", func() bool { return seen() > n })
	}
	// No request outstanding: the change waits for one.
	typed('1')
	pending := f.PendingChanges()
	if len(pending) != 1 || pending[0].Kiosk != k.ID() || !pending[0].Composed.IsZero() {
		t.Fatalf("pending %v, want one change of %s", pending, k.ID())
	}
	asked := time.Now()
	if err := c.Request(true, fb.Bounds()); err != nil {
		t.Fatal(err)
	}
	nextUpdate(t, c)
	got := mustChanges(f)
	if len(got) != 1 || got[0].At != pending[0].At || got[0].Composed.Before(asked) {
		t.Fatalf("after a request at %v: changes %v, want the pending one composed after the request", asked, got)
	}

	// A request waits: the change leaves at once.
	if err := c.Request(true, fb.Bounds()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kiosk to see the request", func() bool { return waiting(k) })
	typed('2')
	nextUpdate(t, c)
	got = mustChanges(f)
	if len(got) != 2 || !got[1].Composed.Equal(got[1].At) || len(f.PendingChanges()) != 0 {
		t.Fatalf("changes %v, pending %v; want the second composed when it was drawn", got, f.PendingChanges())
	}

	// A 1x1 probe is answered but does not carry the change.
	typed('3')
	if err := c.Request(false, image.Rect(0, 0, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if u := nextUpdate(t, c); len(u.Rects) != 1 || u.Rects[0] != image.Rect(0, 0, 1, 1) {
		t.Fatalf("probe answered with %v", u.Rects)
	}
	if p := f.PendingChanges(); len(p) != 1 || len(mustChanges(f)) != 2 {
		t.Fatalf("after a probe: pending %v, composed %v; want the third change still pending", p, mustChanges(f))
	}
	if err := c.Request(true, fb.Bounds()); err != nil {
		t.Fatal(err)
	}
	nextUpdate(t, c)
	if got := mustChanges(f); len(got) != 3 {
		t.Fatalf("after a whole-screen request: composed %v, want three", got)
	}
	if _, next, lost := f.Changes(3); next != 3 || lost != 0 {
		t.Errorf("Changes(3): next %d, lost %d; want 3, 0", next, lost)
	}
}

func mustChanges(f *Fleet) []Change {
	c, _, _ := f.Changes(0)
	return c
}

// The feed keeps the latest changes and says how many a slow reader lost.
func TestChangeFeedDropsOldest(t *testing.T) {
	var f changeFeed
	at := time.Unix(1e9, 0)
	for i := range maxChanges + 10 {
		f.add(Change{Kiosk: "K0001", At: at.Add(time.Duration(i))})
	}
	got, next, lost := f.since(0)
	if want := int64(maxChanges + 10); next != want {
		t.Fatalf("next %d, want %d", next, want)
	}
	if lost != int64(maxChanges/2) || int64(len(got))+lost != next {
		t.Fatalf("lost %d and got %d of %d", lost, len(got), next)
	}
	if first := got[0].At.Sub(at); first != time.Duration(lost) {
		t.Errorf("first change kept is number %d, want %d", first, lost)
	}
	if more, n, l := f.since(next); len(more) != 0 || n != next || l != 0 {
		t.Errorf("reading at the end: %d changes, next %d, lost %d", len(more), n, l)
	}
}
