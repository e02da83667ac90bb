package realvnc

import (
	"bytes"
	"image"
	"testing"
)

func TestSceneIsDeterministic(t *testing.T) {
	a, b := Scene(333, 222), Scene(333, 222)
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Fatal("two scenes of the same size differ")
	}
}

// TestSceneContent checks each quarter has the character the encoders are
// meant to meet there.
func TestSceneContent(t *testing.T) {
	const w, h = 400, 300
	s := Scene(w, h)
	if s.Rect != image.Rect(0, 0, w, h) {
		t.Fatalf("scene is %v", s.Rect)
	}
	colours := func(r image.Rectangle) map[[3]uint8]int {
		m := map[[3]uint8]int{}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := s.RGBAAt(x, y)
				if c.A != 0xff {
					t.Fatalf("pixel (%d,%d) is not opaque: %v", x, y, c)
				}
				m[[3]uint8{c.R, c.G, c.B}]++
			}
		}
		return m
	}

	if n := len(colours(image.Rect(0, 0, w/2, h/2))); n < 8 || n > 16 {
		t.Errorf("solid quarter has %d colours, want a handful (8..16)", n)
	}

	text := colours(image.Rect(w/2, 0, w, h/2))
	white := text[[3]uint8{0xff, 0xff, 0xff}]
	if area := w / 2 * h / 2; white > area*99/100 || white < area/2 {
		t.Errorf("text quarter is %d of %d pixels white: want mostly white with some ink", white, area)
	}

	for y := h / 2; y < h; y++ { // horizontal gradient: red never falls left to right
		for x := 1; x < w/4; x++ {
			if s.RGBAAt(x, y).R < s.RGBAAt(x-1, y).R {
				t.Fatalf("horizontal gradient falls at (%d,%d)", x, y)
			}
		}
	}
	if s.RGBAAt(0, h/2).R != 0 || s.RGBAAt(w/4-1, h/2).R != 255 {
		t.Errorf("horizontal gradient does not span 0..255")
	}
	for x := w / 4; x < w/2; x++ { // vertical grey ramp: never darker going down
		for y := h/2 + 1; y < h; y++ {
			if s.RGBAAt(x, y).R < s.RGBAAt(x, y-1).R {
				t.Fatalf("vertical gradient falls at (%d,%d)", x, y)
			}
		}
	}

	if n := len(colours(image.Rect(w/2, h/2, w, h))); n < w*h/4/2 {
		t.Errorf("noise quarter has only %d colours in %d pixels", n, w*h/4)
	}
}

func TestSceneTinySizes(t *testing.T) {
	for _, size := range []image.Point{{0, 0}, {1, 1}, {3, 2}, {1, 100}, {100, 1}} {
		if s := Scene(size.X, size.Y); s.Rect.Size() != size {
			t.Errorf("Scene(%d, %d) is %v", size.X, size.Y, s.Rect)
		}
	}
}
