package realvnc

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const (
	// dumpTimeout bounds one xwd run.
	dumpTimeout = 30 * time.Second
	// showTimeout bounds how long Show waits for the screen to show a picture.
	showTimeout = 20 * time.Second
)

// Truth returns what the screen shows now, read from the X server itself
// (xwd -root), not through VNC: the reference a decoded framebuffer is
// compared with. The pointer is not part of it.
func (s *Server) Truth(t testing.TB) *image.RGBA {
	t.Helper()
	_, img := s.snapshot(t)
	return img
}

// snapshot dumps the screen and converts it to RGB, failing the test when
// either goes wrong.
func (s *Server) snapshot(t testing.TB) (*xwdImage, *image.RGBA) {
	t.Helper()
	x, err := s.dump()
	if err != nil {
		t.Fatalf("realvnc: %s: %v%s", s, err, s.logTails())
	}
	img, err := x.rgba()
	if err != nil {
		t.Fatalf("realvnc: %s: screen dump: %v", s, err)
	}
	return x, img
}

// dump runs xwd on the root window and parses what it writes.
func (s *Server) dump() (*xwdImage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dumpTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xwd", "-root", "-silent", "-display", s.display)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("xwd -root -display %s: %v: %s", s.display, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return parseXWD(out)
}

// Show puts img on the screen with its top-left corner at at, and returns
// once the X server shows it. The picture is a new window over what was
// there (xwud; no window manager runs, so it lands exactly where asked), so a
// second, smaller Show changes only the part of the screen it covers, as an
// incremental-update test needs.
//
// At depths below 24 the screen cannot show every colour: each pixel becomes
// the nearest colour the visual has (for PseudoColor, the nearest of a
// 6x6x6 colour cube), and Show waits for exactly that. Alpha is ignored.
// The returned Picture can be moved, to make servers send CopyRect.
func (s *Server) Show(t testing.TB, img image.Image, at image.Point) *Picture {
	t.Helper()
	size := img.Bounds().Size()
	dst := image.Rectangle{Min: at, Max: at.Add(size)}
	if screen := image.Rect(0, 0, s.opts.Width, s.opts.Height); dst.Empty() || !dst.In(screen) {
		t.Fatalf("realvnc: Show: picture %v does not fit the %dx%d screen", dst, s.opts.Width, s.opts.Height)
	}
	root, under := s.snapshot(t)
	pic, want, err := pictureFor(root, img)
	if err != nil {
		t.Fatalf("realvnc: %s: Show: %v", s, err)
	}

	s.mu.Lock()
	s.shows++
	n := s.shows
	s.mu.Unlock()
	// A name unique on the display lets Move find the window.
	pic.Name = fmt.Sprintf("kioskwall-picture-%d", n)
	file := filepath.Join(s.dir, fmt.Sprintf("show%d.xwd", n))
	if err := os.WriteFile(file, pic.encode(), 0o600); err != nil {
		t.Fatalf("realvnc: %v", err)
	}
	args := []string{
		"-in", file, "-noclick", "-display", s.display,
		"-geometry", fmt.Sprintf("%dx%d+%d+%d", size.X, size.Y, at.X, at.Y),
	}
	if pic.VisualClass == trueColor || pic.VisualClass == directColor {
		// The pixels are the screen's own already. Without -raw xwud
		// rescales each channel through 65535 with truncating integer
		// division, which turns some 5- and 6-bit values into their
		// neighbours.
		args = append(args, "-raw")
	}
	p, err := startProc(s.dir, fmt.Sprintf("xwud%d.log", n), "xwud", args)
	if err != nil {
		t.Fatalf("realvnc: %v", err)
	}
	s.adopt(p)

	s.waitFor(t, p, fmt.Sprintf("Show at %v", dst), func(got *image.RGBA) difference {
		return compare(got, dst, want, image.Point{})
	})
	return &Picture{s: s, name: pic.Name, proc: p, bounds: dst, want: want,
		under: under.SubImage(dst).(*image.RGBA)}
}

// waitFor polls the screen until differ finds no difference, and fails the
// test when that takes longer than showTimeout or p exits first.
func (s *Server) waitFor(t testing.TB, p *proc, what string, differ func(*image.RGBA) difference) {
	t.Helper()
	deadline := time.Now().Add(showTimeout)
	for {
		_, got := s.snapshot(t)
		d := differ(got)
		if d.count == 0 {
			return
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("realvnc: %s: %s: after %v the screen still differs: %v%s",
				s, what, showTimeout, d, p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pictureFor turns img into an XWD image in the screen's own visual, so that
// xwud puts its pixels on the screen without converting them, and returns
// the colours the screen will then show.
func pictureFor(root *xwdImage, img image.Image) (*xwdImage, *image.RGBA, error) {
	src := image.NewRGBA(image.Rectangle{Max: img.Bounds().Size()})
	draw.Draw(src, src.Rect, img, img.Bounds().Min, draw.Src)
	w, h := src.Rect.Dx(), src.Rect.Dy()

	pic := &xwdImage{xwdHeader: root.xwdHeader, Name: "kioskwall"}
	pic.PixmapWidth, pic.PixmapHeight = uint32(w), uint32(h)
	pic.WindowWidth, pic.WindowHeight = uint32(w), uint32(h)
	pic.WindowX, pic.WindowY, pic.WindowBorder = 0, 0, 0
	pad := max(pic.BitmapPad, 8)
	pic.BytesPerLine = (uint32(w)*pic.BitsPerPixel + pad - 1) / pad * pad / 8
	pic.Data = make([]byte, int(pic.BytesPerLine)*h)

	var pixelOf func(r, g, b uint8) (pixel uint32, shown [3]uint8)
	switch root.VisualClass {
	case trueColor, directColor:
		tables, err := root.channelTables()
		if err != nil {
			return nil, nil, err
		}
		masks := [3]uint32{root.RedMask, root.GreenMask, root.BlueMask}
		var nearest [3][256]uint32
		for c := range tables {
			for want := range 256 {
				nearest[c][want] = nearestIndex(tables[c], uint8(want))
			}
		}
		pic.Colours = root.Colours
		pixelOf = func(r, g, b uint8) (uint32, [3]uint8) {
			var pixel uint32
			var shown [3]uint8
			for c, v := range [3]uint8{r, g, b} {
				i := nearest[c][v]
				pixel |= i << bits.TrailingZeros32(masks[c])
				shown[c] = tables[c][i]
			}
			return pixel, shown
		}
	case pseudoColor:
		// xwud allocates each colour the picture uses in the screen's
		// colour map; the 216 of a colour cube fit in a fresh 8-bit map and
		// come back exactly, since X keeps 16 bits a channel.
		pic.Colours = make([]xwdColour, 0, 216)
		for i := range 216 {
			r, g, b := cubeLevel(i/36), cubeLevel(i/6%6), cubeLevel(i%6)
			pic.Colours = append(pic.Colours, xwdColour{Pixel: uint32(i),
				R: uint16(r) * 257, G: uint16(g) * 257, B: uint16(b) * 257, Flags: 7})
		}
		pixelOf = func(r, g, b uint8) (uint32, [3]uint8) {
			ri, gi, bi := (int(r)+25)/51, (int(g)+25)/51, (int(b)+25)/51
			return uint32(ri*36 + gi*6 + bi), [3]uint8{cubeLevel(ri), cubeLevel(gi), cubeLevel(bi)}
		}
	default:
		return nil, nil, fmt.Errorf("visual class %d is not handled (TrueColor, DirectColor and PseudoColor are)", root.VisualClass)
	}

	want := image.NewRGBA(src.Rect)
	for y := range h {
		for x := range w {
			o := src.PixOffset(x, y)
			pixel, shown := pixelOf(src.Pix[o], src.Pix[o+1], src.Pix[o+2])
			pic.setPixel(x, y, pixel)
			want.Pix[o], want.Pix[o+1], want.Pix[o+2], want.Pix[o+3] = shown[0], shown[1], shown[2], 0xff
		}
	}
	return pic, want, nil
}

// cubeLevel is the 8-bit value of level i (0..5) of the colour cube.
func cubeLevel(i int) uint8 { return uint8(i * 51) }

// nearestIndex returns the index of the value in table closest to want.
func nearestIndex(table []uint8, want uint8) uint32 {
	best, bestDist := 0, 256
	for i, v := range table {
		if d := absDiff(v, want); d < bestDist {
			best, bestDist = i, d
		}
	}
	return uint32(best)
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// difference summarises where two images disagree.
type difference struct {
	count     int
	first     image.Point // in the first image's coordinates
	got, want [3]uint8
	maxDelta  int
}

func (d difference) String() string {
	if d.count == 0 {
		return "no difference"
	}
	return fmt.Sprintf("%d pixels differ (largest channel difference %d); first at %v: got rgb%v, want rgb%v",
		d.count, d.maxDelta, d.first, d.got, d.want)
}

// add records that the pixel at p is got where want was expected.
func (d *difference) add(got, want color.RGBA, p image.Point) {
	delta := max(absDiff(got.R, want.R), absDiff(got.G, want.G), absDiff(got.B, want.B))
	if delta == 0 {
		return
	}
	if d.count == 0 {
		d.first, d.got, d.want = p, [3]uint8{got.R, got.G, got.B}, [3]uint8{want.R, want.G, want.B}
	}
	d.count++
	d.maxDelta = max(d.maxDelta, delta)
}

// compare compares the area r of got with the same-sized area of want whose
// top-left corner is at wantAt.
func compare(got *image.RGBA, r image.Rectangle, want *image.RGBA, wantAt image.Point) difference {
	var d difference
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			d.add(got.RGBAAt(x, y), want.RGBAAt(x-r.Min.X+wantAt.X, y-r.Min.Y+wantAt.Y), image.Pt(x, y))
		}
	}
	return d
}
