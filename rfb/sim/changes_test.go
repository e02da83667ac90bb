package sim

import (
	"fmt"
	"image"
	"slices"
	"testing"
	"time"

	"kioskwall/rfb"
)

// The kiosk knows when a change leaves it: with the update that answers the
// next request when no request waits, with the update the change itself
// lets go when one does, and not with a 1x1 probe. Script time stands
// still, so the only changes are the keys the test types.
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
	received := time.Now()
	got := composedBy(t, f, 1)
	if got[0].At != pending[0].At || got[0].Composed.Before(asked) || got[0].Composed.After(received) {
		t.Fatalf("request at %v, update received at %v: changes %v, want the pending one composed between", asked, received, got)
	}

	// A request waits (the server reads it before the key that follows):
	// the change lets the update go.
	if err := c.Request(true, fb.Bounds()); err != nil {
		t.Fatal(err)
	}
	typed('2')
	nextUpdate(t, c)
	received = time.Now()
	got = composedBy(t, f, 2)
	if !got[1].At.Before(got[1].Composed) || got[1].Composed.After(received) || len(f.PendingChanges()) != 0 {
		t.Fatalf("update received at %v: changes %v, pending %v; want the second composed after it was drawn", received, got, f.PendingChanges())
	}

	// A 1x1 probe is answered but does not carry the change.
	typed('3')
	if err := c.Request(false, image.Rect(0, 0, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if u := nextUpdate(t, c); len(u.Rects) != 1 || u.Rects[0] != image.Rect(0, 0, 1, 1) {
		t.Fatalf("probe answered with %v", u.Rects)
	}
	// The server reports the probe before it reads this request, so a
	// change the probe carried would be composed before asked.
	asked = time.Now()
	if err := c.Request(true, fb.Bounds()); err != nil {
		t.Fatal(err)
	}
	nextUpdate(t, c)
	if got := composedBy(t, f, 3); got[2].Composed.Before(asked) {
		t.Fatalf("third change composed at %v, before the whole-screen request at %v: the probe carried it", got[2].Composed, asked)
	}
	if _, next, lost := f.Changes(3); next != 3 || lost != 0 {
		t.Errorf("Changes(3): next %d, lost %d; want 3, 0", next, lost)
	}
}

func mustChanges(f *Fleet) []Change {
	c, _, _ := f.Changes(0)
	return c
}

// composedBy waits until n changes are composed, as the server reports an
// update only once it has written it, and returns them.
func composedBy(t *testing.T, f *Fleet, n int) []Change {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d changes composed", n), func() bool { return len(mustChanges(f)) >= n })
	got := mustChanges(f)
	if len(got) != n {
		t.Fatalf("composed %v, want %d changes", got, n)
	}
	return got
}

// An update carries the changes drawn before it took the desktop's changes
// and inside the area it brought up to date; the rest stay pending, in order.
func TestUpdateWatchSent(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	screen := image.Rect(0, 0, 640, 360)
	field := image.Rect(100, 100, 300, 130)
	clock := image.Rect(560, 10, 630, 30)
	pending := []drawnChange{
		{t0, screen},
		{t0.Add(2 * time.Millisecond), field},
		{t0.Add(4 * time.Millisecond), field},
	}
	for _, tc := range []struct {
		name   string
		update rfb.SentUpdate
		want   []time.Duration // At of the changes composed, from t0
	}{
		{"whole screen after all", rfb.SentUpdate{Composed: t0.Add(5 * time.Millisecond), Area: []image.Rectangle{screen}}, []time.Duration{0, 2 * time.Millisecond, 4 * time.Millisecond}},
		{"whole screen between", rfb.SentUpdate{Composed: t0.Add(3 * time.Millisecond), Area: []image.Rectangle{screen}}, []time.Duration{0, 2 * time.Millisecond}},
		{"at the same instant as a change", rfb.SentUpdate{Composed: t0.Add(2 * time.Millisecond), Area: []image.Rectangle{screen}}, []time.Duration{0}},
		{"the field only", rfb.SentUpdate{Composed: t0.Add(5 * time.Millisecond), Area: []image.Rectangle{field}}, []time.Duration{2 * time.Millisecond, 4 * time.Millisecond}},
		{"1x1 probe", rfb.SentUpdate{Composed: t0.Add(5 * time.Millisecond), Area: []image.Rectangle{image.Rect(0, 0, 1, 1)}}, nil},
		{"cut short", rfb.SentUpdate{Composed: t0.Add(5 * time.Millisecond)}, nil},
		{"the screen without its clock", rfb.SentUpdate{Composed: t0.Add(5 * time.Millisecond), Area: rfb.Subtract([]image.Rectangle{screen}, clock)}, []time.Duration{0, 2 * time.Millisecond, 4 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			feed := &changeFeed{}
			var w updateWatch
			w.start("K0001", feed, clock)
			w.pending = slices.Clone(pending)
			w.sent(tc.update)
			composed, _, _ := feed.since(0)
			var got []time.Duration
			for _, c := range composed {
				if c.Kiosk != "K0001" || !c.Composed.Equal(tc.update.Composed) {
					t.Errorf("composed %+v, want kiosk K0001 composed at the update's time", c)
				}
				got = append(got, c.At.Sub(t0))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("composed changes drawn at %v, want %v", got, tc.want)
			}
			left := w.appendPending(nil)
			if len(left)+len(got) != len(pending) || !slices.IsSortedFunc(left, func(a, b Change) int { return a.At.Compare(b.At) }) {
				t.Errorf("pending after the update: %v", left)
			}
		})
	}
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
