package thumbs

import (
	"image"
	"testing"
	"time"

	"kioskwall/rfb"
)

func TestTickerWatch(t *testing.T) {
	screen := image.Rect(0, 0, 1920, 1080)
	clock := image.Rect(1648, 18, 1904, 78)
	digit := image.Rect(1850, 18, 1904, 78)
	button := image.Rect(420, 830, 1100, 910)
	page := screen
	type step struct {
		rects []image.Rectangle
		after time.Duration // since the previous step
		minor bool
	}
	tick := func(minor bool) step { return step{[]image.Rectangle{clock}, time.Second, minor} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"a clock becomes a ticker after four ticks over three seconds", []step{
			tick(false), tick(false), tick(false), tick(true), tick(true),
			{[]image.Rectangle{digit}, time.Second, true}, // part of the clock
			{[]image.Rectangle{clock, button}, time.Second, false},
			{[]image.Rectangle{page}, time.Second, false},
			tick(true),
		}},
		{"fast repeats are not a ticker until they span three seconds", []step{
			{[]image.Rectangle{clock}, 0, false},
			{[]image.Rectangle{clock}, 100 * time.Millisecond, false},
			{[]image.Rectangle{clock}, 100 * time.Millisecond, false},
			{[]image.Rectangle{clock}, 100 * time.Millisecond, false},
			{[]image.Rectangle{clock}, 3 * time.Second, true},
		}},
		{"another change breaks the streak", []step{
			tick(false), tick(false), {[]image.Rectangle{button}, time.Second, false},
			tick(false), tick(false), tick(false), tick(true),
		}},
		{"a large area repeating is never a ticker", []step{
			{[]image.Rectangle{button.Union(clock)}, time.Second, false},
			{[]image.Rectangle{button.Union(clock)}, time.Second, false},
			{[]image.Rectangle{button.Union(clock)}, time.Second, false},
			{[]image.Rectangle{button.Union(clock)}, time.Second, false},
			{[]image.Rectangle{button.Union(clock)}, time.Second, false},
		}},
		{"a ticker unseen for ten minutes is forgotten", []step{
			tick(false), tick(false), tick(false), tick(true),
			{[]image.Rectangle{clock}, 11 * time.Minute, false},
		}},
		{"no rectangles is no change", []step{
			tick(false), tick(false), tick(false), tick(true), {nil, time.Second, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w tickerWatch
			now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			for i, s := range tt.steps {
				now = now.Add(s.after)
				if got := w.observe(s.rects, screen, now); got != s.minor {
					t.Fatalf("step %d (%v): minor = %v, want %v", i, s.rects, got, s.minor)
				}
			}
		})
	}
}

// Apply reports a clock tick as minor once it has learnt the clock, and a
// resize starts the learning over.
func TestApplyReportsMinorChanges(t *testing.T) {
	src := scene(1920, 1080, rfb.Format8, 9)
	th := New()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	th.now = func() time.Time { return now }
	clock := image.Rect(1648, 18, 1904, 78)
	if th.Apply(src, []image.Rectangle{src.Bounds()}).Minor {
		t.Fatal("the first full frame is minor")
	}
	poke := image.Rect(0, 0, 1, 1)
	var minor bool
	for i := range 5 {
		now = now.Add(time.Second)
		src.FillRect(clock, []byte{byte(i%2*200 + 20)})
		// Each tick comes with the unchanged pixel a poke asked for.
		ch := th.Apply(src, []image.Rectangle{clock, poke})
		if !ch.Changed {
			t.Fatalf("tick %d: no change reported", i)
		}
		minor = ch.Minor
	}
	if !minor {
		t.Fatal("the fifth clock tick (beside an unchanged poke pixel) is not minor")
	}
	if ch := th.Apply(src, []image.Rectangle{poke}); ch.Changed || ch.Minor {
		t.Fatalf("an unchanged pixel: %+v, want no change", ch)
	}
	bigger := scene(1920, 1200, rfb.Format8, 9)
	now = now.Add(time.Second)
	if th.Apply(bigger, []image.Rectangle{clock}).Minor {
		t.Fatal("a resize kept the learnt ticker")
	}
}
