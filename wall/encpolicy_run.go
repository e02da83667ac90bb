package wall

import (
	"context"
	"fmt"
	"slices"
	"time"

	"kioskwall/rfb"
)

// trialCheck is how often the fleet looks for a kind of kiosk whose
// encoding trial is due (FleetOptions.TrialEvery), and trialTimeout how long
// one trial may take.
const (
	trialCheck   = time.Minute
	trialTimeout = 2 * time.Minute
)

// defaultFramebufferMemory is FleetOptions.FramebufferMemory's default.
const defaultFramebufferMemory = 5 << 29 // 2.5 GiB

// runTrials measures, kind by kind, which thumbnail profile costs the
// fewest bytes (see EncodingPolicy), on one quiet kiosk of the kind, and
// moves the kind's sessions to the choice. It is the fleet's goroutine and
// ends with ctx.
//
// A trial asks for a full screen in each candidate's pixel format, one after
// another, and watches the answers settle: on the session's own connection
// that would mean stopping its thumbnails for the length of the trial. So a
// trial takes a connection of its own, dialled like the session's (paced by
// the site's budget), for the minute it runs, once a day per kind, on a
// kiosk nobody watches and whose screen is quiet.
func (f *Fleet) runTrials(ctx context.Context, every time.Duration) {
	repeat(ctx, every, func() {
		f.env.policy.SetMaxBytesPerPixel(f.affordableBytesPerPixel())
		for _, kind := range f.kinds() {
			if ctx.Err() != nil {
				return
			}
			f.trialKind(ctx, kind)
		}
	})
}

// affordableBytesPerPixel is the widest pixel the fleet's framebuffers may
// have within FramebufferMemory; at least one (8 bpp).
func (f *Fleet) affordableBytesPerPixel() int {
	var pixels int64
	for _, s := range f.Sessions() {
		st := s.Status()
		w, h := int64(st.Width), int64(st.Height)
		if w*h <= 1 {
			w, h = 1920, 1080 // not connected yet: a common kiosk screen
		}
		pixels += w * h
	}
	if pixels == 0 {
		return 0
	}
	return int(max(1, f.fbMemory/pixels))
}

// kinds are the kinds of the fleet's kiosks, in order.
func (f *Fleet) kinds() []string {
	var kinds []string
	for _, s := range f.Sessions() {
		if k := s.Target().Kind; !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	return kinds
}

// trialKind runs kind's trial if it is due and a quiet kiosk is at hand.
func (f *Fleet) trialKind(ctx context.Context, kind string) {
	p := f.env.policy
	now := time.Now()
	// Of the quiet kiosks, the one whose picture holds the most detail (the
	// largest tile): a black or frozen blank screen tells the candidates
	// apart by nothing.
	var quiet *Session
	most := -1
	for _, s := range f.Sessions() {
		t := s.Target()
		if t.Kind != kind || !s.quiet(now) {
			continue
		}
		size := 0
		if tile, ok := f.tiles.Get(t.ID, ""); ok {
			size = len(tile.JPEG)
		}
		if size > most {
			quiet, most = s, size
		}
	}
	if quiet == nil {
		return // no kiosk of the kind is quiet now: try again at the next check
	}
	trial, ok := p.StartTrial(kind, now)
	if !ok {
		return
	}
	t := quiet.Target()
	log := f.env.log.With("kiosk", t.ID, "site", t.Site, "kind", kind)
	if err := f.measure(ctx, t, trial); err != nil {
		trial.Abort()
		log.Warn("encoding trial failed; the kind keeps its thumbnail profile and is tried again later", "err", err)
		return
	}
	report, err := trial.Finish(time.Now())
	if err != nil {
		log.Warn("encoding trial decided nothing; tried again later", "err", err)
		return
	}
	log.Info("encoding trial decided the kind's thumbnail profile", "choice", report.Choice)
	if f.onPolicy != nil {
		f.onPolicy()
	}
	for _, s := range f.Sessions() {
		if s.Target().Kind == kind {
			s.wake() // the session moves to the choice when nothing is outstanding
		}
	}
}

// measure runs trial on a connection of its own to t.
func (f *Fleet) measure(ctx context.Context, t Target, trial *Trial) error {
	ctx, cancel := context.WithTimeout(ctx, trialTimeout)
	defer cancel()
	conn, err := f.env.dial(ctx, t)
	if err != nil {
		return err
	}
	fb := rfb.NewDesktop(1, 1, rfb.Format32)
	ref := f.env.policy.Candidates()[0].Profile
	c, err := rfb.NewClient(ctx, conn, rfb.ClientConfig{
		Password: t.Password, Framebuffer: fb, PixelFormat: &ref.Format, Encodings: ref.Encodings,
	})
	if err != nil {
		conn.Close()
		return fmt.Errorf("connecting for the trial: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	_, err = measureTrial(ctx, c, fb, trial)
	return err
}

// quiet reports whether the session's kiosk suits an encoding trial: online,
// in thumbnail mode, shown on no wall, and its screen unchanged lately.
func (s *Session) quiet(now time.Time) bool {
	return s.Status().State == StateOnline && s.viewers.Load() == 0 && !s.watched() && !s.lively(now)
}
