package rfb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"kioskwall/internal/realvnc"
	"kioskwall/rfb"
)

// The real-server test connects the client to TigerVNC's Xvnc, TightVNC's
// Xtightvnc and libvncserver's x11vnc (at RFB 3.8 and 3.3), asks each for
// one encoding at a time in three pixel formats, and compares what it
// decoded with the X server's own dump of the screen.

const (
	realW, realH  = 400, 300
	realPassword  = "kiosk-pw"
	realTimeout   = 20 * time.Second // one combination's session
	settleRetries = 3                // fresh full updates after a mismatch, for servers that poll the screen
)

// realServer is a server under test and what it is known to do.
type realServer struct {
	name     string
	start    func(testing.TB, realvnc.Options) *realvnc.Server
	opts     realvnc.Options
	version  string
	security []rfb.SecurityType // the client's preference; nil for the default
	// sends are the encodings the server is known to send: asking for one
	// and never getting it is a failure.
	sends []rfb.Encoding
	// copiesMoves is set when the server turns a moved window into CopyRect.
	copiesMoves bool
	// jpegAt8bpp is set for servers that send Tight JPEG rectangles to an
	// 8 bpp client, which rfbproto forbids ("JpegCompression may only be used
	// when bits-per-pixel is either 16 or 32").
	jpegAt8bpp bool
}

// x11vnc sends CopyRect only for what its heuristics see: windows dragged
// with the pointer through a window manager, and scrolls after input from a
// viewer. Without a window manager a moved window comes as fresh pixels.
var x11vncSends = []rfb.Encoding{rfb.EncRaw, rfb.EncCopyRect, rfb.EncRRE, rfb.EncCoRRE,
	rfb.EncHextile, rfb.EncZlib, rfb.EncTight, rfb.EncZRLE}

var realServers = []realServer{
	{name: "Xvnc", start: realvnc.StartXvnc, version: "3.8", copiesMoves: true,
		sends: []rfb.Encoding{rfb.EncRaw, rfb.EncCopyRect, rfb.EncRRE, rfb.EncHextile, rfb.EncZRLE, rfb.EncTight}},
	// A TightVNC viewer picks Tight security from Xtightvnc; so do we, to test it.
	{name: "Xtightvnc", start: realvnc.StartXtightvnc, version: "3.8", copiesMoves: true,
		security: []rfb.SecurityType{rfb.SecTight},
		sends:    []rfb.Encoding{rfb.EncRaw, rfb.EncCopyRect, rfb.EncRRE, rfb.EncCoRRE, rfb.EncHextile, rfb.EncZlib, rfb.EncTight}},
	{name: "x11vnc", start: realvnc.StartX11vnc, version: "3.8", sends: x11vncSends, jpegAt8bpp: true},
	{name: "x11vnc-3.3", start: realvnc.StartX11vnc, opts: realvnc.Options{RFBVersion: "3.3"}, version: "3.3",
		sends: x11vncSends, jpegAt8bpp: true},
}

type realEncoding struct {
	name  string
	enc   rfb.Encoding
	extra []rfb.Encoding // pseudo-encodings sent with it
	jpeg  bool
}

var realEncodings = []realEncoding{
	{"raw", rfb.EncRaw, nil, false},
	{"copyrect", rfb.EncCopyRect, nil, false},
	{"rre", rfb.EncRRE, nil, false},
	{"corre", rfb.EncCoRRE, nil, false},
	{"hextile", rfb.EncHextile, nil, false},
	{"zlib", rfb.EncZlib, nil, false},
	{"tight", rfb.EncTight, nil, false},
	{"zrle", rfb.EncZRLE, nil, false},
	{"tight-jpeg-q8", rfb.EncTight, []rfb.Encoding{rfb.EncQualityLevel0 + 8}, true},
}

var realFormats = []struct {
	name string
	pf   rfb.PixelFormat
}{
	{"32bpp", rfb.Format32},
	{"16bpp-565", rfb.Format16},
	{"8bpp-bgr233", rfb.Format8},
}

// realRow is one line of the report.
type realRow struct {
	server, format, asked string
	used                  string // encodings the server sent, with rectangle counts
	fullBytes             int64  // size of the full update
	result                string
	note                  string
}

func (r *realRow) addNote(format string, args ...any) {
	if r.note != "" {
		r.note += "; "
	}
	r.note += fmt.Sprintf(format, args...)
}

func TestRealServers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real VNC servers; skipped with -short")
	}
	var rows []*realRow
	defer func() { t.Log(realReport(rows)) }()

	for _, srv := range realServers {
		t.Run(srv.name, func(t *testing.T) {
			opts := srv.opts
			opts.Width, opts.Height, opts.Password = realW, realH, realPassword
			screen := &realScreen{s: srv.start(t, opts)}
			screen.show(t, realvnc.Scene(realW, realH), image.Point{})
			for _, enc := range realEncodings {
				for _, f := range realFormats {
					row := &realRow{server: srv.name, format: f.name, asked: enc.name, result: "FAILED"}
					rows = append(rows, row)
					t.Run(enc.name+"/"+f.name, func(t *testing.T) {
						testRealCombination(t, srv, screen, enc, f.pf, row, len(rows))
					})
				}
			}
			t.Run("security", func(t *testing.T) { testRealSecurity(t, screen.s, srv.security, srv.version) })
		})
	}
}

// testRealCombination checks one encoding in one pixel format: a full
// update, an incremental one after a picture appears, and for CopyRect one
// after the picture moves. n varies the picture and its place.
func testRealCombination(t *testing.T, srv realServer, screen *realScreen, enc realEncoding, pf rfb.PixelFormat, row *realRow, n int) {
	sess := dialReal(t, screen.s, srv.security, pf, append([]rfb.Encoding{enc.enc}, enc.extra...))
	defer func() { row.used = usedString(sess.used) }()
	if got := sess.c.Version(); got != srv.version {
		t.Errorf("RFB version %s, want %s", got, srv.version)
	}

	full, err := sess.settle(t, screen, false, enc.jpeg)
	if err != nil {
		var perr *rfb.ProtocolError
		if srv.jpegAt8bpp && enc.jpeg && pf.BitsPerPixel == 8 && errors.As(err, &perr) && strings.Contains(err.Error(), "JPEG") {
			row.result = "refused"
			row.addNote("server sent JPEG at 8 bpp, which rfbproto forbids; the client refused it: %v", err)
			return
		}
		t.Fatal(err)
	}
	row.fullBytes, row.result = full.bytes, full.result
	if enc.jpeg && pf.BitsPerPixel == 32 && !full.lossy {
		t.Errorf("asked for JPEG quality 8 at 32 bpp, %s sent a lossless frame: the quality level was ignored", srv.name)
	}
	if full.retries > 0 {
		row.addNote("full update matched after %d fresh one(s)", full.retries)
	}

	// A smaller picture somewhere: an incremental update must bring it.
	patch := patchImage(n)
	free := image.Pt(realW-patch.Rect.Dx(), realH-patch.Rect.Dy())
	at := image.Pt(n*53%free.X, n*37%free.Y)
	pic := screen.show(t, patch, at)
	inc, err := sess.settle(t, screen, true, enc.jpeg)
	if err != nil {
		t.Fatal(err)
	}
	row.result += "; incremental: " + inc.result
	if inc.retries > 0 {
		row.addNote("incremental update matched after %d fresh full one(s)", inc.retries)
	}

	if enc.enc == rfb.EncCopyRect {
		// Moving the picture's window makes the X server copy pixels,
		// which servers that track copies send as CopyRect.
		before := sess.used[rfb.EncCopyRect]
		screen.move(t, pic, image.Pt((at.X+97)%free.X, (at.Y+61)%free.Y))
		mv, err := sess.settle(t, screen, true, enc.jpeg)
		if err != nil {
			t.Fatal(err)
		}
		row.result += "; moved: " + mv.result
		switch {
		case sess.used[rfb.EncCopyRect] == before && srv.copiesMoves:
			t.Errorf("%s turns moved windows into CopyRect, but the move came as %s", srv.name, usedString(sess.used))
		case sess.used[rfb.EncCopyRect] == before:
			row.addNote("no CopyRect for a window moved without a window manager")
		}
		return
	}

	known := slices.Contains(srv.sends, enc.enc)
	switch {
	case sess.used[enc.enc] == 0 && known:
		t.Errorf("%s is known to send %v but sent only %s", srv.name, enc.enc, usedString(sess.used))
	case sess.used[enc.enc] == 0:
		row.addNote("unsupported by server (fell back to %s)", encodingNames(sess.used))
	case !known:
		row.addNote("sent although not in the known list")
	}
}

// testRealSecurity checks the security type negotiated, and that a wrong
// password is an AuthError with the server's reason where RFB 3.8 carries one.
func testRealSecurity(t *testing.T, s *realvnc.Server, prefs []rfb.SecurityType, version string) {
	sess := dialReal(t, s, prefs, rfb.Format32, []rfb.Encoding{rfb.EncRaw})
	want := rfb.SecVNCAuth
	if slices.Contains(prefs, rfb.SecTight) {
		want = rfb.SecTight
	}
	if got := sess.c.SecurityType(); got != want {
		t.Errorf("security type %v, want %v (server offered %v)", got, want, sess.c.SecurityTypes())
	}
	sess.c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), realTimeout)
	defer cancel()
	c, err := rfb.Dial(ctx, s.Addr(), rfb.ClientConfig{
		Password: "not-" + realPassword, SecurityTypes: prefs, Framebuffer: &rfb.Buffer{},
	})
	if err == nil {
		c.Close()
		t.Fatal("a wrong password was accepted")
	}
	var authErr *rfb.AuthError
	if !errors.As(err, &authErr) {
		t.Fatalf("wrong password: error %v (%T), want *rfb.AuthError", err, err)
	}
	if version == "3.8" && authErr.Reason == "" {
		t.Errorf("wrong password: %v: RFB 3.8 servers give a reason, but it is empty", err)
	}
	if strings.Contains(err.Error(), realPassword) {
		t.Errorf("the error shows the password: %v", err)
	}
	t.Logf("wrong password: %v", err)
}

const (
	// jpegRefQuality is the JPEG quality TightVNC 1.3 uses for quality level 8.
	jpegRefQuality = 75
	// jpegMargin is how far below the reference JPEG a decoded frame may be,
	// for the server's encoder differing from Go's.
	jpegMargin = 2
)

// jpegReferencePSNR encodes the screen as one JPEG with Go's encoder (4:2:0
// subsampling) at jpegRefQuality, and returns its PSNR against the screen:
// what JPEG at that quality can do on this content. A decoder that scrambles
// blocks or colours scores far below it.
func jpegReferencePSNR(truth *image.RGBA) float64 {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, truth, &jpeg.Options{Quality: jpegRefQuality}); err != nil {
		return math.Inf(1) // cannot happen for an RGBA image; fails the comparison
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		return math.Inf(1)
	}
	var sq float64
	for y := range realH {
		for x := range realW {
			r, g, b, _ := img.At(x, y).RGBA()
			want := truth.RGBAAt(x, y)
			for _, d := range [3]float64{float64(r>>8) - float64(want.R), float64(g>>8) - float64(want.G), float64(b>>8) - float64(want.B)} {
				sq += d * d
			}
		}
	}
	return 10 * math.Log10(255*255/(sq/float64(3*realW*realH)))
}

// realScreen follows what a server's screen shows, updated by every Show
// and Move, so that sessions compare against the X server's own dump.
type realScreen struct {
	s     *realvnc.Server
	truth *image.RGBA
	// changed marks the pixels the last Show or Move changed: those an
	// incremental update must cover. Servers compare before they send
	// (TigerVNC's CompareFB, x11vnc's polling), so pixels a picture
	// painted in their old colour never come.
	changed *image.Alpha
}

func (sc *realScreen) show(t *testing.T, img image.Image, at image.Point) *realvnc.Picture {
	t.Helper()
	p := sc.s.Show(t, img, at)
	sc.update(t)
	return p
}

func (sc *realScreen) move(t *testing.T, p *realvnc.Picture, to image.Point) {
	t.Helper()
	p.Move(t, to)
	sc.update(t)
}

func (sc *realScreen) update(t *testing.T) {
	prev := sc.truth
	sc.truth = sc.s.Truth(t)
	sc.changed = image.NewAlpha(sc.truth.Rect)
	for y := range realH {
		for x := range realW {
			if prev == nil || prev.RGBAAt(x, y) != sc.truth.RGBAAt(x, y) {
				sc.changed.SetAlpha(x, y, color.Alpha{A: 1})
			}
		}
	}
}

// realSession is one client connection and what it has seen.
type realSession struct {
	c    *rfb.Client
	fb   *rfb.Buffer
	used map[rfb.Encoding]int
}

func dialReal(t *testing.T, s *realvnc.Server, prefs []rfb.SecurityType, pf rfb.PixelFormat, encs []rfb.Encoding) *realSession {
	t.Helper()
	// The session lives as long as its context: the test's, while
	// ReadTimeout bounds every wait, the handshake's included.
	fb := &rfb.Buffer{}
	c, err := rfb.Dial(t.Context(), s.Addr(), rfb.ClientConfig{
		Password:      s.Password(),
		SecurityTypes: prefs,
		PixelFormat:   &pf,
		Encodings:     append(encs, rfb.EncLastRect),
		Framebuffer:   fb,
		ReadTimeout:   realTimeout,
	})
	if err != nil {
		t.Fatalf("connecting to %s: %v", s, err)
	}
	t.Cleanup(func() { c.Close() })
	if c.Width() != realW || c.Height() != realH {
		t.Fatalf("desktop is %dx%d, want %dx%d", c.Width(), c.Height(), realW, realH)
	}
	if c.PixelFormat() != pf {
		t.Fatalf("session pixel format %v, want %v", c.PixelFormat(), pf)
	}
	return &realSession{c: c, fb: fb, used: map[rfb.Encoding]int{}}
}

// settled is the outcome of settle.
type settled struct {
	bytes   int64  // bytes of the updates read for the first request
	result  string // how the frame compared
	retries int    // fresh full updates it took
	lossy   bool   // the frame differs from the screen beyond quantisation
}

// settle requests an update of the screen, reads updates until they have
// covered what changed (everything, for a full update), and compares the
// whole framebuffer with the screen's truth: exactly at 32 bpp, within one
// quantisation step at 16 and 8 bpp, and by PSNR for JPEG. A server that
// polls the screen (x11vnc) may answer from a copy a moment old, so a
// mismatch earns up to settleRetries fresh full updates before it fails the
// test; a decoder bug fails them all alike. Errors from the session are
// returned.
func (sess *realSession) settle(t *testing.T, sc *realScreen, incremental bool, jpeg bool) (settled, error) {
	t.Helper()
	var out settled
	need := sc.changed
	if !incremental {
		need = nil
	}
	var err error
	if out.bytes, err = sess.read(incremental, need); err != nil {
		return out, err
	}
	for {
		cmp := compareFrame(sess.fb, sc.truth)
		out.lossy = !math.IsInf(cmp.psnr, 1)
		if (jpeg && cmp.psnr >= 30) || (!jpeg && cmp.bad == 0) {
			out.result = cmp.describe()
			return out, nil
		}
		if jpeg {
			// TightVNC 1.3 encodes JPEG with 4:2:0 chroma subsampling, which
			// cannot reach 30 dB on saturated colours with sharp edges: hold
			// it to what such a JPEG of the same screen scores instead.
			ref := jpegReferencePSNR(sc.truth)
			if cmp.psnr >= ref-jpegMargin {
				out.result = fmt.Sprintf("%s (a 4:2:0 JPEG at quality %d of this screen: %.1f dB)", cmp.describe(), jpegRefQuality, ref)
				return out, nil
			}
		}
		if out.retries == settleRetries {
			t.Fatalf("after %d fresh full updates the frame still differs from the screen: %s; %s",
				out.retries, cmp.detail(), saveFrames(t, sess.fb, sc.truth))
		}
		out.retries++
		time.Sleep(200 * time.Millisecond)
		if _, err := sess.read(false, nil); err != nil {
			return out, err
		}
	}
}

// read sends one update request for the screen and reads updates until
// their rectangles cover the pixels need marks (all, when need is nil),
// asking again (incrementally) when an update falls short. It returns the
// bytes the updates took.
func (sess *realSession) read(incremental bool, need *image.Alpha) (int64, error) {
	screen := image.Rect(0, 0, realW, realH)
	if err := sess.c.Request(incremental, screen); err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	if need == nil {
		need = image.NewAlpha(screen)
		for i := range need.Pix {
			need.Pix[i] = 1
		}
	}
	missing := 0
	for _, a := range need.Pix {
		if a != 0 {
			missing++
		}
	}
	covered := image.NewAlpha(screen)
	var total int64
	deadline := time.Now().Add(realTimeout)
	for missing > 0 {
		if time.Now().After(deadline) {
			return total, fmt.Errorf("after %v, updates still leave %d changed pixels uncovered", realTimeout, missing)
		}
		msg, err := sess.c.Next()
		if err != nil {
			return total, fmt.Errorf("reading updates (%d changed pixels not yet covered): %w", missing, err)
		}
		u, ok := msg.(*rfb.Update)
		if !ok {
			continue
		}
		total += u.Bytes
		for e, n := range u.Encodings {
			sess.used[e] += n
		}
		for _, r := range u.Rects {
			r = r.Intersect(screen)
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					if need.AlphaAt(x, y).A != 0 && covered.AlphaAt(x, y).A == 0 {
						covered.SetAlpha(x, y, color.Alpha{A: 1})
						missing--
					}
				}
			}
		}
		if missing > 0 {
			if err := sess.c.Request(true, screen); err != nil {
				return total, fmt.Errorf("request: %w", err)
			}
		}
	}
	return total, nil
}

// frameComparison says how a decoded frame differs from the screen.
type frameComparison struct {
	bpp   int
	bad   int // pixels off by more than the format allows
	first string
	psnr  float64 // over the error beyond quantisation; +Inf when none
}

func (c frameComparison) describe() string {
	switch {
	case c.bad == 0 && math.IsInf(c.psnr, 1) && c.bpp == 32:
		return "exact"
	case c.bad == 0 && math.IsInf(c.psnr, 1):
		return "exact up to quantisation"
	case c.bad == 0:
		return fmt.Sprintf("within 1 step, PSNR %.1f dB", c.psnr)
	}
	return fmt.Sprintf("lossy, PSNR %.1f dB", c.psnr)
}

func (c frameComparison) detail() string {
	return fmt.Sprintf("%d pixels off by more than the format allows, PSNR %.1f dB; first: %s", c.bad, c.psnr, c.first)
}

// compareFrame compares every pixel of fb with truth. For each channel the
// screen's 8-bit value c is converted into the format both by rounding and by
// truncation, as servers do either: a channel passes when it lies within one
// step of either (within none at 32 bpp, where both are c). The PSNR is over
// how far each channel lies outside the range between the two conversions,
// scaled back to 8 bits, so that quantisation alone costs nothing.
func compareFrame(fb *rfb.Buffer, truth *image.RGBA) frameComparison {
	pf := fb.Format
	out := frameComparison{bpp: int(pf.BitsPerPixel)}
	maxes := [3]uint32{uint32(pf.RedMax), uint32(pf.GreenMax), uint32(pf.BlueMax)}
	shifts := [3]uint8{pf.RedShift, pf.GreenShift, pf.BlueShift}
	var sq float64
	bpp := pf.BytesPerPixel()
	for y := range realH {
		for x := range realW {
			v := pf.Pixel(fb.Pix[y*fb.Stride+x*bpp:])
			want := truth.RGBAAt(x, y)
			bad := false
			for ch, c := range [3]uint8{want.R, want.G, want.B} {
				m := maxes[ch]
				got := (v >> shifts[ch]) & m
				trunc := uint32(c) * m / 255
				round := (uint32(c)*m + 127) / 255
				step := uint32(1)
				if m == 255 {
					step = 0
				}
				if got+step < trunc || got > round+step {
					bad = true
				}
				var off uint32
				if got < trunc {
					off = trunc - got
				} else if got > round {
					off = got - round
				}
				e := float64(off) * 255 / float64(m)
				sq += e * e
			}
			if bad {
				if out.bad == 0 {
					r, g, b := pf.RGB(v)
					out.first = fmt.Sprintf("(%d,%d) decoded rgb(%d,%d,%d), screen rgb(%d,%d,%d)", x, y, r, g, b, want.R, want.G, want.B)
				}
				out.bad++
			}
		}
	}
	mse := sq / float64(3*realW*realH)
	out.psnr = math.Inf(1)
	if mse > 0 {
		out.psnr = 10 * math.Log10(255*255/mse)
	}
	return out
}

// saveFrames writes the decoded frame and the screen as PNG files into the
// test's artifact directory (kept with go test -artifacts) and says where.
func saveFrames(t *testing.T, fb *rfb.Buffer, truth *image.RGBA) string {
	dir := t.ArtifactDir()
	for name, img := range map[string]image.Image{"decoded.png": fb, "screen.png": truth} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Sprintf("saving %s: %v", name, err)
		}
		err = png.Encode(f, img)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Sprintf("saving %s: %v", name, err)
		}
	}
	return "decoded.png and screen.png are in " + dir + " (kept with go test -artifacts)"
}

// patchImage is the n-th picture shown over part of the screen: flat like
// a kiosk's user interface (solid blocks beside text, the top half of a
// scene), so that encoders which give up on photographs (RRE falls back to
// raw) get their chance, and inverted every other time so that it differs
// from what it covers.
func patchImage(n int) *image.RGBA {
	w, h := 128+n%5*8, 40+n%3*8
	img := realvnc.Scene(w, 2*h).SubImage(image.Rect(0, 0, w, h)).(*image.RGBA)
	if n%2 == 1 {
		for y := range h {
			for x := range w {
				c := img.RGBAAt(x, y)
				img.SetRGBA(x, y, color.RGBA{255 - c.R, 255 - c.G, 255 - c.B, 0xff})
			}
		}
	}
	return img
}

func usedString(used map[rfb.Encoding]int) string {
	if len(used) == 0 {
		return "nothing"
	}
	encs := slices.Sorted(maps.Keys(used))
	parts := make([]string, len(encs))
	for i, e := range encs {
		parts[i] = fmt.Sprintf("%v:%d", e, used[e])
	}
	return strings.Join(parts, " ")
}

// encodingNames lists the encodings in used, without counts.
func encodingNames(used map[rfb.Encoding]int) string {
	var names []string
	for _, e := range slices.Sorted(maps.Keys(used)) {
		names = append(names, e.String())
	}
	return strings.Join(names, ", ")
}

// realReport renders the rows as a table.
func realReport(rows []*realRow) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nserver\tformat\tasked\tserver sent (rectangles)\tfull update bytes\tresult\tnote")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.server, r.format, r.asked, r.used, r.fullBytes, r.result, r.note)
	}
	tw.Flush()
	return b.String()
}
