package rfb

import (
	"image"
	"testing"
)

func TestRegions(t *testing.T) {
	screen := image.Rect(0, 0, 1920, 1080)
	clock := image.Rect(1648, 18, 1904, 78)
	without := Subtract([]image.Rectangle{screen}, clock)
	area := 0
	for _, r := range without {
		area += r.Dx() * r.Dy()
		if r.Overlaps(clock) {
			t.Errorf("%v overlaps the clock", r)
		}
	}
	if want := 1920*1080 - clock.Dx()*clock.Dy(); area != want {
		t.Errorf("screen without clock covers %d pixels, want %d", area, want)
	}
	tests := []struct {
		name   string
		region []image.Rectangle
		r      image.Rectangle
		want   bool
	}{
		{"the screen covers a button", []image.Rectangle{screen}, image.Rect(10, 10, 20, 20), true},
		{"without the clock, not the whole screen", without, screen, false},
		{"without the clock, a button", without, image.Rect(420, 830, 1100, 910), true},
		{"without the clock, the clock's digit", without, image.Rect(1850, 18, 1904, 78), false},
		{"pieces together cover the screen", append(without, clock), screen, true},
		{"nothing covers nothing", nil, image.Rectangle{}, true},
		{"nothing covers no pixel", nil, image.Rect(1, 1, 2, 2), false},
	}
	for _, tt := range tests {
		if got := Covers(tt.region, tt.r); got != tt.want {
			t.Errorf("%s: Covers = %v, want %v", tt.name, got, tt.want)
		}
	}
}
