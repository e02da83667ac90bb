package bench

import (
	"context"
	"fmt"
	"image"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"kioskwall/rfb"
)

// The baseline is what the users run today: one noVNC session per kiosk,
// always on. noVNC's defaults are 32 bpp, Tight first, JPEG quality 6,
// compression level 2, and a new incremental request as soon as an update
// has arrived. The benchmark plays such sessions with rfb.Client against a
// sample of the fleet and scales the bytes per kiosk by behaviour.

// NoVNCEncodings is the list noVNC sends at 24-bit depth, in its order,
// less what rfb does not implement (TightPNG, JPEG, the QEMU, xvp, fence,
// continuous-updates and extended-clipboard pseudo-encodings). The
// encoding policy's tests measure it beside kioskwall's candidates.
var NoVNCEncodings = []rfb.Encoding{
	rfb.EncCopyRect, rfb.EncTight, rfb.EncZRLE, rfb.EncHextile, rfb.EncRRE, rfb.EncRaw,
	rfb.EncQualityLevel0 + 6, rfb.EncCompressLevel0 + 2,
	rfb.EncDesktopSize, rfb.EncLastRect, rfb.EncExtendedDesktopSize, rfb.EncDesktopName, rfb.EncCursor,
}

// baselineSample picks about n kiosks that speak RFB, in the fleet's
// proportions of behaviours (at least one of each), the first of each
// behaviour in fleet order.
func baselineSample(kiosks []SimKiosk, n int) []SimKiosk {
	byBehaviour := map[string][]SimKiosk{}
	serving := 0
	for _, k := range kiosks {
		if k.Serves {
			byBehaviour[k.Behaviour] = append(byBehaviour[k.Behaviour], k)
			serving++
		}
	}
	names := make([]string, 0, len(byBehaviour))
	for b := range byBehaviour {
		names = append(names, b)
	}
	sort.Strings(names)
	var out []SimKiosk
	for _, b := range names {
		ks := byBehaviour[b]
		take := max(1, (n*len(ks)+serving/2)/serving)
		out = append(out, ks[:min(take, len(ks))]...)
	}
	return out
}

// baselineResult is the baseline's bytes, scaled to the fleet.
type baselineResult struct {
	sampled     int
	seconds     float64
	bytesPerSec float64            // the whole fleet, scaled from the sample
	perKiosk    map[string]float64 // bytes per second per kiosk, by behaviour
	failed      int                // sessions that could not connect or broke
}

// runBaseline runs one noVNC-like session to each sampled kiosk, waits
// until each has its first full frame (at most settle), then counts for d.
// fleet gives the number of kiosks of each behaviour to scale to.
func runBaseline(ctx context.Context, sample []SimKiosk, fleet map[string]int, settle, d time.Duration, progress io.Writer) (baselineResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	type session struct {
		k      SimKiosk
		c      atomic.Pointer[rfb.Client]
		framed atomic.Bool
		broke  atomic.Bool // ended before the baseline was over
	}
	sessions := make([]*session, len(sample))
	for i, k := range sample {
		s := &session{k: k}
		sessions[i] = s
		wg.Go(func() {
			err := baselineSession(ctx, k.Addr, &s.c, &s.framed)
			if ctx.Err() == nil {
				s.broke.Store(true)
				fmt.Fprintf(progress, "bench: baseline session to %s (%s) ended: %v\n", k.ID, k.Addr, err)
			}
		})
	}

	begin := time.Now()
	for time.Since(begin) < settle {
		ready := 0
		for _, s := range sessions {
			if s.framed.Load() {
				ready++
			}
		}
		if ready == len(sessions) {
			break
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return baselineResult{}, ctx.Err()
		}
	}
	bytesIn := func() []int64 {
		out := make([]int64, len(sessions))
		for i, s := range sessions {
			if c := s.c.Load(); c != nil && s.framed.Load() {
				out[i] = c.BytesIn()
			} else {
				out[i] = -1 // not counted: no first frame yet
			}
		}
		return out
	}
	t0, b0 := time.Now(), bytesIn()
	fmt.Fprintf(progress, "bench: baseline: %d noVNC-like sessions, counting for %v\n", len(sessions), d)
	if !sleep(ctx, d) {
		return baselineResult{}, ctx.Err()
	}
	t1, b1 := time.Now(), bytesIn()

	r := baselineResult{sampled: len(sessions), seconds: t1.Sub(t0).Seconds(), perKiosk: map[string]float64{}}
	sum, n := map[string]float64{}, map[string]int{}
	for i, s := range sessions {
		if b0[i] < 0 || b1[i] < 0 || s.broke.Load() {
			r.failed++
			continue
		}
		sum[s.k.Behaviour] += float64(b1[i]-b0[i]) / r.seconds
		n[s.k.Behaviour]++
	}
	for b, total := range sum {
		r.perKiosk[b] = total / float64(n[b])
	}
	for b, count := range fleet {
		r.bytesPerSec += r.perKiosk[b] * float64(count)
	}
	if len(sum) == 0 {
		return r, fmt.Errorf("baseline: none of the %d sessions delivered a first frame within %v", len(sessions), settle)
	}
	return r, nil
}

// baselineSession runs one session until ctx ends: a full request, then an
// incremental one after every update.
func baselineSession(ctx context.Context, addr string, slot *atomic.Pointer[rfb.Client], framed *atomic.Bool) error {
	c, err := rfb.Dial(ctx, addr, rfb.ClientConfig{
		Framebuffer: rfb.NewDesktop(1, 1, rfb.Format32),
		PixelFormat: &rfb.Format32,
		Encodings:   NoVNCEncodings,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	slot.Store(c)
	if err := c.Request(false, image.Rect(0, 0, c.Width(), c.Height())); err != nil {
		return err
	}
	for {
		m, err := c.Next()
		if err != nil {
			return err
		}
		if _, ok := m.(*rfb.Update); !ok {
			continue
		}
		framed.Store(true)
		if err := c.Request(true, image.Rect(0, 0, c.Width(), c.Height())); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
