package rfb

import (
	"image"
	"math/rand/v2"
	"testing"
)

// pixelSet is the reference the damage list is checked against: the set of
// pixels marked, on a small grid.
type pixelSet map[image.Point]bool

func (s pixelSet) add(r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			s[image.Pt(x, y)] = true
		}
	}
}

// damageFrom adds rects to a new damage list and to the reference set.
func damageFrom(rects []image.Rectangle) (*damageList, pixelSet) {
	l, s := &damageList{}, pixelSet{}
	for _, r := range rects {
		l.add(r)
		s.add(r)
	}
	return l, s
}

func coverage(rects []image.Rectangle) pixelSet {
	s := pixelSet{}
	for _, r := range rects {
		s.add(r)
	}
	return s
}

func TestDamageList(t *testing.T) {
	for _, tc := range []struct {
		name  string
		adds  []image.Rectangle
		exact bool // few enough that nothing may be merged
	}{
		{"empty rectangles are ignored", []image.Rectangle{{}, image.Rect(5, 5, 5, 9)}, true},
		{"disjoint", []image.Rectangle{image.Rect(0, 0, 2, 2), image.Rect(10, 10, 12, 11)}, true},
		{"contained is dropped", []image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(2, 2, 4, 4)}, true},
		{"containing replaces", []image.Rectangle{image.Rect(2, 2, 4, 4), image.Rect(3, 3, 5, 5), image.Rect(0, 0, 10, 10)}, true},
		{"overlapping kept", []image.Rectangle{image.Rect(0, 0, 6, 6), image.Rect(4, 4, 9, 9)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, want := damageFrom(tc.adds)
			got := coverage(l.rects)
			if tc.exact && len(got) != len(want) {
				t.Errorf("covers %d pixels, want exactly the %d added", len(got), len(want))
			}
			for p := range want {
				if !got[p] {
					t.Fatalf("pixel %v was added but is not covered by %v", p, l.rects)
				}
			}
			checkNoneContained(t, l.rects)
		})
	}
}

func checkNoneContained(t *testing.T, rects []image.Rectangle) {
	t.Helper()
	for i, a := range rects {
		if a.Empty() {
			t.Errorf("empty rectangle kept")
		}
		for j, b := range rects {
			if i != j && a.In(b) {
				t.Errorf("%v kept inside %v", a, b)
			}
		}
	}
}

// Many small changes stay bounded and are merged with their neighbours
// first: two clusters far apart do not merge into one screen-sized box.
func TestDamageListBoundedMerging(t *testing.T) {
	var l damageList
	want := pixelSet{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		base := image.Pt(0, 0)
		if i%2 == 1 {
			base = image.Pt(900, 900)
		}
		x, y := rng.IntN(60), rng.IntN(60)
		r := image.Rect(x, y, x+1+rng.IntN(5), y+1+rng.IntN(5)).Add(base)
		l.add(r)
		want.add(r)
		if len(l.rects) > maxDamageRects {
			t.Fatalf("%d rectangles kept, more than %d", len(l.rects), maxDamageRects)
		}
	}
	got := coverage(l.rects)
	for p := range want {
		if !got[p] {
			t.Fatalf("pixel %v lost in merging", p)
		}
	}
	for _, r := range l.rects {
		if r.Overlaps(image.Rect(0, 0, 70, 70)) && r.Overlaps(image.Rect(900, 900, 970, 970)) {
			t.Errorf("%v merges the two clusters", r)
		}
	}
	checkNoneContained(t, l.rects)
}

func TestDamageListTake(t *testing.T) {
	for _, tc := range []struct {
		name string
		adds []image.Rectangle
		area image.Rectangle
	}{
		{"all inside", []image.Rectangle{image.Rect(1, 1, 4, 4)}, image.Rect(0, 0, 10, 10)},
		{"all outside", []image.Rectangle{image.Rect(1, 1, 4, 4)}, image.Rect(5, 5, 10, 10)},
		{"area in the middle of a rectangle", []image.Rectangle{image.Rect(0, 0, 20, 20)}, image.Rect(5, 6, 9, 12)},
		{"straddling several", []image.Rectangle{image.Rect(0, 0, 8, 3), image.Rect(6, 2, 15, 9), image.Rect(12, 12, 14, 14)}, image.Rect(4, 1, 13, 13)},
		{"empty area takes nothing", []image.Rectangle{image.Rect(0, 0, 5, 5)}, image.Rectangle{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, all := damageFrom(tc.adds)
			taken := coverage(l.take(nil, tc.area))
			left := coverage(l.rects)
			for p := range all {
				in := p.In(tc.area)
				if in && !taken[p] {
					t.Errorf("changed pixel %v inside the area was not taken", p)
				}
				if !in && !left[p] {
					t.Errorf("changed pixel %v outside the area is no longer pending", p)
				}
			}
			for p := range taken {
				if !p.In(tc.area) || !all[p] {
					t.Errorf("taken pixel %v is outside the area or never changed", p)
				}
			}
			for p := range left {
				if p.In(tc.area) {
					t.Errorf("pixel %v inside the area is still pending", p)
				}
			}
		})
	}
}
