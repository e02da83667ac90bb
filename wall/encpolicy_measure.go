package wall

import (
	"context"
	"errors"
	"fmt"
	"image"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"kioskwall/rfb"
	"kioskwall/thumbs"
)

// MeasureEncodings runs a trial of cands (the first is the lossless
// reference) on a connection nobody else reads, with no request outstanding,
// and returns what each candidate cost, in the order of cands. fb is the
// framebuffer c decodes into; thumbnails are made at the largest default
// rendition. It closes c when done, and fb keeps the last picture.
//
// Each candidate's answer is read until it covers the screen and nothing
// more came for a settle period (four round trips, at least 300 ms), so that
// no update is on its way when the format changes: it would be decoded in
// the wrong one. See ask for how servers differ. Knowing that nothing more
// comes takes a read that waits, and only closing the connection ends that
// read: hence c is closed.
func MeasureEncodings(ctx context.Context, c *rfb.Client, fb *rfb.Desktop, cands []Candidate) ([]CandidateCost, error) {
	defer c.Close()
	if err := validateCandidates(cands); err != nil {
		return nil, err
	}
	t := newTrial(cands)
	sides, err := measureTrial(ctx, c, fb, t)
	if err != nil {
		return nil, err
	}
	costs, _, err := t.evaluate()
	if err != nil {
		return nil, err
	}
	for i := range costs {
		costs[i].Used, costs[i].DecodeCPU = usedString(sides[i].used), sides[i].cpu
	}
	return costs, nil
}

// measureTrial records every step of t from c's answers; MeasureEncodings
// says how. The caller closes c.
func measureTrial(ctx context.Context, c *rfb.Client, fb *rfb.Desktop, t *Trial) ([]answer, error) {
	if fb == nil {
		return nil, errors.New("measuring encodings: the framebuffer is nil")
	}
	r := startUpdateReader(c)
	defer r.stop()

	// A one-pixel request gives the round trip the settle period is made of.
	probe, err := r.ask(ctx, pokeArea, minSettle)
	if err != nil {
		return nil, fmt.Errorf("measuring the round trip: %w", err)
	}
	settle := max(4*probe.first, minSettle)

	sides := make([]answer, 0, len(t.steps))
	for cand, ok := t.Next(); ok; cand, ok = t.Next() {
		if err := c.SetPixelFormat(cand.Profile.Format); err != nil {
			return nil, err
		}
		if err := c.SetEncodings(cand.Profile.Encodings); err != nil {
			return nil, err
		}
		a, err := r.ask(ctx, image.Rect(0, 0, c.Width(), c.Height()), settle)
		if err != nil {
			return nil, fmt.Errorf("measuring %s: %w", cand.Name, err)
		}
		t.Record(cand.Name, a.bytes, trialThumbnail(fb))
		sides = append(sides, a)
	}
	return sides, nil
}

// trialThumbnail downscales fb as a session's Thumbnailer does, to the
// largest default rendition.
func trialThumbnail(fb *rfb.Desktop) *image.RGBA {
	th := thumbs.New()
	fb.Draw(func(b *rfb.Buffer) []image.Rectangle {
		th.Apply(b, []image.Rectangle{b.Bounds()})
		return nil
	})
	return th.Master()
}

// usedString names the encodings of an answer, such as "copyrect+zrle".
func usedString(used map[rfb.Encoding]int) string {
	var names []string
	for e := range used {
		names = append(names, e.String())
	}
	slices.Sort(names)
	return strings.Join(names, "+")
}

// answer is what the answer to one request cost.
type answer struct {
	bytes int64 // of the updates with pixels
	used  map[rfb.Encoding]int
	cpu   time.Duration
	first time.Duration // from the request to the first update: a round trip
}

// decoded is one update as the reader saw it.
type decoded struct {
	bytes   int64
	rects   []image.Rectangle
	used    map[rfb.Encoding]int
	resized bool
	cpu     time.Duration
	err     error
}

// updateReader reads updates on a goroutine of its own, one per request of
// the driver, so that the driver can stop waiting (a settle period) while a
// read stays outstanding. The goroutine is locked to its thread so that the
// thread's CPU time is the decoding's.
type updateReader struct {
	c       *rfb.Client
	want    chan struct{}
	got     chan decoded
	done    chan struct{}
	pending bool
}

func startUpdateReader(c *rfb.Client) *updateReader {
	r := &updateReader{c: c, want: make(chan struct{}, 1), got: make(chan decoded), done: make(chan struct{})}
	go r.run()
	return r
}

func (r *updateReader) run() {
	defer close(r.done)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for range r.want {
		r.got <- r.read()
	}
}

// read returns the next FramebufferUpdate, passing over other messages.
func (r *updateReader) read() decoded {
	cpu0, cpuOK := threadCPU()
	for {
		msg, err := r.c.Next()
		if err != nil {
			return decoded{err: err}
		}
		u, ok := msg.(*rfb.Update)
		if !ok {
			continue
		}
		d := decoded{bytes: u.Bytes, rects: slices.Clone(u.Rects), used: maps.Clone(u.Encodings), resized: u.Resized}
		if cpu1, ok := threadCPU(); ok && cpuOK {
			d.cpu = cpu1 - cpu0
		}
		return d
	}
}

// next returns the next update, or ok false when timeout fires first.
func (r *updateReader) next(ctx context.Context, timeout <-chan time.Time) (d decoded, ok bool, err error) {
	if !r.pending {
		r.want <- struct{}{}
		r.pending = true
	}
	select {
	case d = <-r.got:
		r.pending = false
		return d, true, d.err
	case <-timeout:
		return decoded{}, false, nil
	case <-ctx.Done():
		return decoded{}, false, ctx.Err()
	}
}

// minSettle is the least settle period. A loopback round trip says little
// of a server's pace: a busy server (or test machine) may take a few hundred
// milliseconds between the layout update and the pixels of one answer.
const minSettle = 300 * time.Millisecond

// ask sends a non-incremental request for area and reads the answer until
// updates have covered the area and nothing more came for the settle period.
// Only updates with pixels count. Servers answer in different ways, and ask
// must end with nothing outstanding. To a client that takes
// ExtendedDesktopSize, both send the screen layout first, in an update
// without pixels; then
//
//   - rfb.Serve (our synthetic kiosks) sends the area, after as long as it
//     takes to encode it;
//   - TigerVNC drops the request and keeps the area as changed: an
//     incremental request brings it.
//
// So when the area is not covered and nothing came for the settle period,
// ask sends an incremental request for it. On a server that was merely slow
// that request is still outstanding once the area has come; ask then ends it
// with a one-pixel non-incremental request, whose answer does not count.
func (r *updateReader) ask(ctx context.Context, area image.Rectangle, settle time.Duration) (answer, error) {
	a := answer{used: map[rfb.Encoding]int{}}
	t0 := time.Now()
	if err := r.c.Request(false, area); err != nil {
		return a, err
	}
	var rects []image.Rectangle
	covered := 0.0
	again, poked := false, false
	timer := time.NewTimer(settle)
	defer timer.Stop()
	var quiet <-chan time.Time // nil until an update came after the last request
	for {
		d, ok, err := r.next(ctx, quiet)
		if err != nil {
			return a, fmt.Errorf("%w (%.0f%% of the area had come)", err, 100*covered)
		}
		if ok {
			if d.resized {
				return a, errors.New("the desktop was resized during the measurement")
			}
			if a.first == 0 {
				a.first = time.Since(t0)
			}
			if len(d.rects) > 0 && !poked {
				a.bytes += d.bytes
				a.cpu += d.cpu
				for e, n := range d.used {
					a.used[e] += n
				}
				rects = append(rects, d.rects...)
				covered = coveredShare(rects, area)
			}
			timer.Reset(settle)
			quiet = timer.C
			continue
		}
		quiet = nil
		switch {
		case covered < 1 && again:
			return a, fmt.Errorf("the server sent %.0f%% of %v and then nothing", 100*covered, area)
		case covered < 1:
			again = true
			err = r.c.Request(true, area)
		case again && !poked:
			poked = true
			err = r.c.Request(false, pokeArea)
		default:
			return a, nil
		}
		if err != nil {
			return a, err
		}
	}
}

// stop closes the connection, which ends an outstanding read, and then the
// reader.
func (r *updateReader) stop() {
	r.c.Close()
	if r.pending {
		<-r.got
	}
	close(r.want)
	<-r.done
}

// coveredShare is the share of full that the union of rects covers. It
// sweeps the horizontal bands between rectangle edges and merges the x
// intervals within each: an answer has at most a few thousand rectangles.
func coveredShare(rects []image.Rectangle, full image.Rectangle) float64 {
	if full.Empty() {
		return 1
	}
	var ys []int
	for _, r := range rects {
		if r = r.Intersect(full); !r.Empty() {
			ys = append(ys, r.Min.Y, r.Max.Y)
		}
	}
	slices.Sort(ys)
	ys = slices.Compact(ys)
	area := 0
	var spans [][2]int
	for i := 0; i+1 < len(ys); i++ {
		y0, y1 := ys[i], ys[i+1]
		spans = spans[:0]
		for _, r := range rects {
			if r = r.Intersect(full); r.Min.Y <= y0 && r.Max.Y >= y1 && !r.Empty() {
				spans = append(spans, [2]int{r.Min.X, r.Max.X})
			}
		}
		slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
		end := full.Min.X
		for _, sp := range spans {
			if sp[1] > end {
				area += (sp[1] - max(sp[0], end)) * (y1 - y0)
				end = sp[1]
			}
		}
	}
	return float64(area) / float64(full.Dx()*full.Dy())
}
