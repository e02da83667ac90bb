package rfb

import (
	"image"
	"testing"
)

// woken reports whether the watcher was poked, and clears the poke.
func woken(w *watcher) bool {
	select {
	case <-w.wake:
		return true
	default:
		return false
	}
}

func TestDesktopRecordsDamage(t *testing.T) {
	d := NewDesktop(100, 50, Format16)
	w, width, height, pf := d.watch()
	if width != 100 || height != 50 || pf != Format16 {
		t.Fatalf("watch announced %dx%d %v", width, height, pf)
	}
	if got := unionOf(w.damage.rects); got != image.Rect(0, 0, 100, 50) {
		t.Errorf("a new connection owes %v, want the whole screen", got)
	}
	w.damage.reset()

	d.Draw(func(b *Buffer) []image.Rectangle {
		return []image.Rectangle{image.Rect(90, 40, 120, 60), image.Rect(-5, -5, 3, 2)}
	})
	if !woken(w) {
		t.Error("Draw did not wake the connection")
	}
	want := []image.Rectangle{image.Rect(90, 40, 100, 50), image.Rect(0, 0, 3, 2)}
	if len(w.damage.rects) != 2 || w.damage.rects[0] != want[0] || w.damage.rects[1] != want[1] {
		t.Errorf("damage %v, want %v (clipped to the desktop)", w.damage.rects, want)
	}

	w.damage.reset()
	d.FillRect(image.Rect(1, 2, 3, 4), []byte{0xff, 0xff})
	d.WritePixels(image.Rect(5, 5, 6, 7), []byte{1, 2, 3, 4})
	if got := w.damage.rects; len(got) != 2 || got[0] != image.Rect(1, 2, 3, 4) || got[1] != image.Rect(5, 5, 6, 7) {
		t.Errorf("Framebuffer writes recorded %v", got)
	}

	d.unwatch(w)
	w.damage.reset()
	d.FillRect(image.Rect(1, 2, 3, 4), []byte{0, 0})
	if !w.damage.empty() {
		t.Error("a connection that left still gets damage")
	}
}

func TestDesktopCopyRect(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pending   image.Rectangle // damage pending before the copy
		sending   bool
		dst       image.Rectangle
		src       image.Point
		wantDst   image.Rectangle // after clipping
		wantCopy  bool
		wantMoved bool
	}{
		{"plain copy", image.Rectangle{}, false, image.Rect(10, 10, 30, 20), image.Pt(0, 0), image.Rect(10, 10, 30, 20), true, true},
		{"overlapping scroll, clipped at the bottom", image.Rectangle{}, false, image.Rect(0, 0, 40, 30), image.Pt(0, 5), image.Rect(0, 0, 40, 25), true, true},
		{"scroll down", image.Rectangle{}, false, image.Rect(0, 5, 40, 30), image.Pt(0, 0), image.Rect(0, 5, 40, 30), true, true},
		{"source has pending damage", image.Rect(5, 5, 6, 6), false, image.Rect(10, 10, 30, 20), image.Pt(0, 0), image.Rect(10, 10, 30, 20), false, true},
		{"damage elsewhere keeps the copy", image.Rect(35, 0, 40, 5), false, image.Rect(10, 10, 30, 20), image.Pt(0, 0), image.Rect(10, 10, 30, 20), true, true},
		{"while an update is read", image.Rectangle{}, true, image.Rect(10, 10, 30, 20), image.Pt(0, 0), image.Rect(10, 10, 30, 20), false, true},
		{"clipped at the right edge", image.Rectangle{}, false, image.Rect(30, 0, 50, 10), image.Pt(0, 20), image.Rect(30, 0, 40, 10), true, true},
		{"source off the desktop", image.Rectangle{}, false, image.Rect(0, 0, 10, 10), image.Pt(-20, 0), image.Rectangle{}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newSceneDesktop(40, 30, Format32, 4)
			before := desktopRGB(d)
			w, _, _, _ := d.watch()
			w.damage.reset()
			w.damage.add(tc.pending)
			w.sending = tc.sending
			d.CopyRect(tc.dst, tc.src)

			if got := len(w.copies) == 1; got != tc.wantCopy {
				t.Errorf("recorded as a copy: %v, want %v (copies %v, damage %v)", got, tc.wantCopy, w.copies, w.damage.rects)
			}
			if tc.wantCopy && w.copies[0].dst != tc.wantDst {
				t.Errorf("copy to %v, want %v", w.copies[0].dst, tc.wantDst)
			}
			if !tc.wantCopy && !tc.wantDst.Empty() && !coverage(w.damage.rects)[tc.wantDst.Min] {
				t.Errorf("copy to %v neither recorded as a copy nor as damage (%v)", tc.wantDst, w.damage.rects)
			}
			// The pixels moved as a copy of the old screen would have.
			after := desktopRGB(d)
			delta := tc.src.Sub(tc.dst.Min)
			for y := 0; y < 30; y++ {
				for x := 0; x < 40; x++ {
					want := before.RGBAAt(x, y)
					if p := image.Pt(x, y); tc.wantMoved && p.In(tc.wantDst) {
						want = before.RGBAAt(x+delta.X, y+delta.Y)
					}
					if got := after.RGBAAt(x, y); got != want {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}

func TestDesktopPendingCopiesBounded(t *testing.T) {
	d := NewDesktop(64, 64, Format8)
	w, _, _, _ := d.watch()
	w.damage.reset()
	for i := 0; i <= maxPendingCopies; i++ {
		d.CopyRect(image.Rect(0, 0, 8, 8), image.Pt(8, 8))
	}
	if len(w.copies) != 0 {
		t.Errorf("%d copies kept past the bound; want them all turned into damage", len(w.copies))
	}
	if got := unionOf(w.damage.rects); got != image.Rect(0, 0, 8, 8) {
		t.Errorf("damage %v, want the copies' destination", got)
	}
}

func TestDesktopFormatChanges(t *testing.T) {
	d := newSceneDesktop(30, 20, Format32, 2)
	before := desktopRGB(d)
	w, _, _, _ := d.watch()
	w.damage.reset()
	woken(w)

	// Announcing the same size and format again keeps everything.
	if err := d.SetFormat(30, 20, Format32); err != nil {
		t.Fatal(err)
	}
	if w.resized || woken(w) || !w.damage.empty() {
		t.Error("repeating the same format counted as a change")
	}
	if after := desktopRGB(d); string(after.Pix) != string(before.Pix) {
		t.Error("repeating the same format changed the pixels")
	}

	d.CopyRect(image.Rect(0, 0, 5, 5), image.Pt(10, 10))
	if err := d.SetFormat(50, 40, Format16); err != nil {
		t.Fatal(err)
	}
	if w, h := d.Size(); w != 50 || h != 40 || d.Format() != Format16 {
		t.Errorf("after SetFormat: %dx%d %v", w, h, d.Format())
	}
	if !w.resized || len(w.copies) != 0 || unionOf(w.damage.rects) != image.Rect(0, 0, 50, 40) {
		t.Errorf("after a resize: resized %v, copies %v, damage %v; want resized, no copies, all damaged", w.resized, w.copies, w.damage.rects)
	}
	if err := d.SetFormat(-1, 5, Format16); err == nil {
		t.Error("SetFormat accepted a negative width")
	}

	// Draw that resizes the buffer is a resize too.
	w.resized = false
	d.Draw(func(b *Buffer) []image.Rectangle {
		b.SetFormat(10, 10, Format16)
		return nil
	})
	if !w.resized {
		t.Error("a Draw that resized the buffer was not treated as a resize")
	}

	d.SetColourMap(0, []Colour{{1, 2, 3}})
	d.SetCursor(&Cursor{Image: image.NewRGBA(image.Rect(0, 0, 2, 2))})
	if !w.palette || !w.cursor {
		t.Errorf("palette %v cursor %v, want both flagged", w.palette, w.cursor)
	}
}

// A change of pixel format alone keeps the picture, converted, and owes
// connections nothing new; only a palette cannot take a true-colour picture.
func TestDesktopFormatOnlyChange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to PixelFormat
		kept     bool
	}{
		{"colour map to 32 bpp", ColourMapped(), Format32, true},
		{"32 to 16 bpp", Format32, Format16, true},
		{"16 to 32 bpp big endian", Format16, PixelFormat{BitsPerPixel: 32, Depth: 24, BigEndian: true, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 0, GreenShift: 8, BlueShift: 16}, true},
		{"32 bpp to a colour map", Format32, ColourMapped(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newSceneDesktop(33, 17, tc.from, 8)
			before := desktopRGB(d)
			w, _, _, _ := d.watch()
			w.damage.reset()
			if err := d.SetFormat(33, 17, tc.to); err != nil {
				t.Fatal(err)
			}
			if d.Format() != tc.to || !w.resized {
				t.Fatalf("format %v, resized %v", d.Format(), w.resized)
			}
			if !tc.kept {
				if unionOf(w.damage.rects) != image.Rect(0, 0, 33, 17) {
					t.Errorf("damage %v after a fresh start, want the whole screen", w.damage.rects)
				}
				return
			}
			if !w.damage.empty() {
				t.Errorf("damage %v after a conversion, want none", w.damage.rects)
			}
			// The picture is what it was, within the coarser format's steps.
			coarse := tc.to
			if tc.from.TrueColour && tc.from.RedMax < coarse.RedMax {
				coarse = tc.from
			}
			compareRGB(t, desktopRGB(d), before, coarse.RedMax, coarse.GreenMax, coarse.BlueMax)
		})
	}
}
