package realvnc

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// Picture is what Show put on the screen: a window of its own.
type Picture struct {
	s      *Server
	name   string // the window's name, unique on the display
	proc   *proc  // the xwud showing it
	bounds image.Rectangle
	want   *image.RGBA // what the screen shows in bounds, from (0,0)
	under  *image.RGBA // what bounds showed before, at bounds' coordinates
}

// Bounds is where the picture is on the screen.
func (p *Picture) Bounds() image.Rectangle { return p.bounds }

// Move moves the picture's window so its top-left corner is at to, and
// returns once the screen shows it there and shows again, where it no
// longer covers, what was under it when it was shown. X servers move a
// window's pixels by copying them, which VNC servers that track copies send
// as CopyRect. Move assumes nothing else was shown over the picture's old
// or new place since it was shown.
func (p *Picture) Move(t testing.TB, to image.Point) {
	t.Helper()
	Require(t, "xwininfo")
	s := p.s
	dst := p.bounds.Sub(p.bounds.Min).Add(to)
	if screen := image.Rect(0, 0, s.opts.Width, s.opts.Height); !dst.In(screen) {
		t.Fatalf("realvnc: Move: picture %v does not fit the %dx%d screen", dst, s.opts.Width, s.opts.Height)
	}
	id, err := s.windowID("xwud: " + p.name)
	if err != nil {
		t.Fatalf("realvnc: %s: %v", s, err)
	}
	// What will be under the window at its new place: the picture's own
	// old background where the places overlap, the screen elsewhere.
	before := s.Truth(t)
	newUnder := image.NewRGBA(dst)
	for y := dst.Min.Y; y < dst.Max.Y; y++ {
		for x := dst.Min.X; x < dst.Max.X; x++ {
			c := before.RGBAAt(x, y)
			if image.Pt(x, y).In(p.bounds) {
				c = p.under.RGBAAt(x, y)
			}
			newUnder.SetRGBA(x, y, c)
		}
	}
	if err := moveWindow(s.displayNumber(), id, to.X, to.Y); err != nil {
		t.Fatalf("realvnc: %s: moving the window of %s: %v", s, p.name, err)
	}
	old := p.bounds
	s.waitFor(t, p.proc, fmt.Sprintf("Move from %v to %v", old, dst), func(got *image.RGBA) difference {
		if d := compare(got, dst, p.want, image.Point{}); d.count != 0 {
			return d
		}
		var d difference // over the part of the old place the window left
		for y := old.Min.Y; y < old.Max.Y; y++ {
			for x := old.Min.X; x < old.Max.X; x++ {
				if !image.Pt(x, y).In(dst) {
					d.add(got.RGBAAt(x, y), p.under.RGBAAt(x, y), image.Pt(x, y))
				}
			}
		}
		return d
	})
	p.bounds, p.under = dst, newUnder
}

// windowID finds the window called name with xwininfo.
func (s *Server) windowID(name string) (uint32, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dumpTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "xwininfo", "-display", s.display, "-name", name).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("xwininfo -name %q: %v: %s", name, err, bytes.TrimSpace(out))
	}
	m := windowIDPattern.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("xwininfo -name %q printed no window id: %s", name, bytes.TrimSpace(out))
	}
	id, err := strconv.ParseUint(string(m[1]), 0, 32)
	return uint32(id), err
}

var windowIDPattern = regexp.MustCompile(`Window id: (0x[0-9a-fA-F]+)`)
