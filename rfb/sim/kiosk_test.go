package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"kioskwall/rfb"
)

// area sums the areas of rects.
func area(rects []image.Rectangle) int {
	n := 0
	for _, r := range rects {
		n += r.Dx() * r.Dy()
	}
	return n
}

// sameAsDesktop fails the test unless the client's frame and colour map
// are the kiosk's.
func sameAsDesktop(t *testing.T, k *Kiosk, fb *rfb.Buffer) {
	t.Helper()
	if !shows(k, fb.Pix) {
		t.Fatalf("%s: the client's frame differs from the desktop", k.ID())
	}
	for i, c := range palette() {
		if fb.Palette[i] != c {
			t.Fatalf("%s: colour %d is %v on the client, %v on the kiosk", k.ID(), i, fb.Palette[i], c)
		}
	}
}

// A clock tick is a small change in the header; the client is told only
// about it and ends up with the same frame.
func TestClockDamageIsSmall(t *testing.T) {
	f := startFleet(t, Config{Kiosks: 2, Behaviours: []Behaviour{Idle, ErrorDialog}})
	for _, k := range f.Kiosks() {
		c, fb := dial(t, k, nil)
		defer c.Close()
		sameAsDesktop(t, k, fb)
		before := pixels(k)
		f.Advance(time.Second)
		if bytes.Equal(before, pixels(k)) {
			t.Fatalf("%s (%s): nothing changed in a second; the clock should tick", k.ID(), k.Behaviour())
		}
		if err := c.Request(true, fb.Bounds()); err != nil {
			t.Fatal(err)
		}
		u := nextUpdate(t, c)
		screen := fb.Bounds().Dx() * fb.Bounds().Dy()
		if a := area(u.Rects); a == 0 || a > screen/100 {
			t.Errorf("%s: a clock tick sent %d pixels in %v; want a small area (under 1%% of %d)", k.ID(), a, u.Rects, screen)
		}
		for _, r := range u.Rects {
			if !r.In(k.scr.l.header()) {
				t.Errorf("%s: a clock tick damaged %v, outside the header %v", k.ID(), r, k.scr.l.header())
			}
		}
		sameAsDesktop(t, k, fb)
	}
}

// Page changes are large: a carousel's new slide repaints the screen, or
// slides it in with CopyRect. A client that follows each frame sees both
// kinds, and always ends with the kiosk's frame.
func TestPageChangeDamageIsLarge(t *testing.T) {
	f := startFleet(t, Config{Kiosks: 1, Seed: 3, Size: image.Pt(960, 540), Behaviours: []Behaviour{Carousel}})
	k := f.Kiosks()[0]
	c, fb := dial(t, k, nil)
	defer c.Close()
	screen := fb.Bounds().Dx() * fb.Bounds().Dy()
	var repaints, copies int
	for step := 0; step < 60*1000/20; step++ { // a minute in 20 ms steps
		f.Advance(20 * time.Millisecond)
		if shows(k, fb.Pix) {
			continue
		}
		if err := c.Request(true, fb.Bounds()); err != nil {
			t.Fatal(err)
		}
		u := nextUpdate(t, c)
		sameAsDesktop(t, k, fb)
		switch {
		case u.Encodings[rfb.EncCopyRect] > 0:
			copies++
			if a := area(u.Rects); a < screen/2 {
				t.Errorf("a slide frame sent %d pixels in %v; want most of the screen", a, u.Rects)
			}
		case area(u.Rects) > screen/2:
			repaints++
		}
	}
	// 12 slide changes a minute, each a repaint or four CopyRect frames.
	if repaints == 0 || copies == 0 || repaints+copies/slideFrames < 10 {
		t.Errorf("in a minute: %d full repaints and %d CopyRect frames; want both kinds, about 12 page changes", repaints, copies)
	}
}

// An interactive kiosk changes pages about every 30 seconds and makes small
// changes in between: typing, ticking, a progress bar.
func TestInteractiveActivity(t *testing.T) {
	f := startFleet(t, Config{Kiosks: 3, Seed: 11, Size: image.Pt(480, 270), Behaviours: []Behaviour{Interactive}})
	for _, k := range f.Kiosks() {
		var pages, typed, progressed int
		last := pageHome
		for i := 0; i < 10*60*10; i++ { // ten minutes in 100 ms steps
			f.Advance(100 * time.Millisecond)
			k.mu.Lock()
			v := k.v
			k.mu.Unlock()
			if v.page != last {
				pages++
				last = v.page
			}
			if v.page == pageService && len(v.field) > 0 {
				typed++
			}
			if v.progress == 100 {
				progressed++
			}
		}
		if pages < 10 || pages > 60 {
			t.Errorf("%s: %d page changes in ten minutes; want one about every 30 s", k.ID(), pages)
		}
		if typed == 0 || progressed == 0 {
			t.Errorf("%s: typed %d, finished a progress bar %d times; want both", k.ID(), typed, progressed)
		}
	}
}

func TestTroubleKiosks(t *testing.T) {
	f := startFleet(t, Config{Kiosks: 5, Behaviours: []Behaviour{Refusing, HangingUp, Frozen, Black, Idle}})
	ks := f.Kiosks()

	t.Run("refusing", func(t *testing.T) {
		if c, err := net.Dial("tcp", ks[0].Addr()); !errors.Is(err, syscall.ECONNREFUSED) {
			if c != nil {
				c.Close()
			}
			t.Errorf("connecting to a refusing kiosk at %s: %v; want connection refused", ks[0].Addr(), err)
		}
	})
	t.Run("hanging-up", func(t *testing.T) {
		c, err := net.Dial("tcp", ks[1].Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 12)); err != io.EOF {
			t.Errorf("a hanging-up kiosk sent %d bytes, %v; want it to close at once (EOF)", n, err)
		}
	})
	// A frozen kiosk never answers an incremental request; the idle kiosk,
	// under the same requests, does.
	for _, tc := range []struct {
		k       *Kiosk
		updates bool
	}{{ks[2], false}, {ks[3], false}, {ks[4], true}} {
		t.Run(tc.k.Behaviour().String(), func(t *testing.T) {
			c, fb := dial(t, tc.k, nil)
			defer c.Close()
			before := pixels(tc.k)
			if err := c.Request(true, fb.Bounds()); err != nil {
				t.Fatal(err)
			}
			got := make(chan error, 1)
			go func() { _, err := c.Next(); got <- err }()
			f.Advance(10 * time.Second)
			select {
			case err := <-got:
				if !tc.updates {
					t.Errorf("%s kiosk answered an incremental request (%v); it must never change", tc.k.Behaviour(), err)
				}
			case <-time.After(time.Second):
				if tc.updates {
					t.Errorf("%s kiosk sent no update in 10 s of script time", tc.k.Behaviour())
				}
			}
			if changed := !bytes.Equal(before, pixels(tc.k)); changed != tc.updates {
				t.Errorf("%s kiosk: frame changed = %v", tc.k.Behaviour(), changed)
			}
			if tc.k.Behaviour() == Black && !bytes.Equal(before, make([]byte, len(before))) {
				t.Error("black kiosk shows something other than colour 0")
			}
		})
	}
}

// Input is recorded in order, in memory and in the event log, and the
// screen reacts where a live view can see it: the clicked button is
// highlighted, typed keys appear in the field. A frozen kiosk records but
// does not react.
func TestInputsRecorded(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "events.jsonl")
	f := startFleet(t, Config{Kiosks: 2, Behaviours: []Behaviour{Idle, Frozen}, EventLog: logPath})
	for _, k := range f.Kiosks() {
		c, fb := dial(t, k, nil)
		defer c.Close()
		before := pixels(k)
		var pay image.Rectangle
		for _, b := range k.Buttons() {
			if b.Label == "Pay" {
				pay = b.Rect
			}
		}
		if k.Behaviour() == Frozen {
			pay = k.scr.l.homeButton(2) // where Pay is drawn, though a frozen kiosk lists no buttons
		} else if pay.Empty() {
			t.Fatalf("%s lists no Pay button: %v", k.ID(), k.Buttons())
		}
		mid := pay.Min.Add(pay.Size().Div(2))
		c.PointerEvent(0, mid.X, mid.Y)
		c.PointerEvent(1, mid.X, mid.Y)
		c.PointerEvent(0, mid.X, mid.Y)
		for _, key := range []uint32{'4', '2', '7', keyBackSpace} {
			c.KeyEvent(true, key)
			c.KeyEvent(false, key)
		}
		c.CutText("hello")
		waitFor(t, "inputs to arrive", func() bool { return len(k.Inputs()) == 12 })
		in := k.Inputs()
		if in[1].Kind != "pointer" || in[1].Buttons != 1 || in[1].X != mid.X || in[1].Y != mid.Y {
			t.Errorf("%s: second input %+v, want a press at %v", k.ID(), in[1], mid)
		}
		if in[3].Kind != "key" || !in[3].Down || in[3].Key != '4' || in[4].Down {
			t.Errorf("%s: inputs 3 and 4 are %+v %+v; want key 4 down and up", k.ID(), in[3], in[4])
		}
		if in[11].Kind != "cut-text" || in[11].Text != "hello" || in[11].Kiosk != k.ID() || !in[11].Time.Equal(f.Now()) {
			t.Errorf("%s: last input %+v; want cut text hello at %v", k.ID(), in[11], f.Now())
		}
		text, where := k.Field()
		if k.Behaviour() == Frozen {
			if !bytes.Equal(before, pixels(k)) || text != "" {
				t.Errorf("frozen kiosk reacted to input: field %q", text)
			}
			continue
		}
		if text != "42" {
			t.Errorf("field holds %q after typing 4 2 7 BackSpace; want 42", text)
		}
		// The live view sees the highlight and the typing.
		if err := c.Request(true, fb.Bounds()); err != nil {
			t.Fatal(err)
		}
		nextUpdate(t, c)
		sameAsDesktop(t, k, fb)
		if n := count(fb, pay, colAmber); n < pay.Dx()*pay.Dy()/2 {
			t.Errorf("the clicked button shows %d highlighted pixels of %d", n, pay.Dx()*pay.Dy())
		}
		if n := count(fb, where, colText); n == 0 {
			t.Error("no text in the field on the client's screen")
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	lines := 0
	file, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var in Input
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
			t.Fatalf("event log line %q: %v", sc.Text(), err)
		}
		if in.Kiosk != "K0001" && in.Kiosk != "K0002" {
			t.Errorf("event log line names kiosk %q", in.Kiosk)
		}
		lines++
	}
	if lines != 24 {
		t.Errorf("event log has %d lines, want 24", lines)
	}
}

// count is how many pixels of r in fb are colour col.
func count(fb *rfb.Buffer, r image.Rectangle, col uint8) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if fb.Pix[y*fb.Stride+x] == col {
				n++
			}
		}
	}
	return n
}

func TestInputLogIsBounded(t *testing.T) {
	var l inputLog
	for i := 0; i < maxInputs+10; i++ {
		l.add(Input{X: i})
	}
	all := l.all()
	if len(all) != maxInputs || all[0].X != 10 || all[len(all)-1].X != maxInputs+9 {
		t.Fatalf("kept %d inputs from %d to %d; want the last %d in order", len(all), all[0].X, all[len(all)-1].X, maxInputs)
	}
}
