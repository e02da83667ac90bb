package wall

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"kioskwall/rfb"
	"kioskwall/thumbs"
)

// Target is what a session needs to know of a kiosk. The fleet fills it from
// the inventory; a change of Addr or Password restarts the session.
type Target struct {
	ID       string
	Name     string
	Site     string
	Addr     string // host:port
	Password string // never logged, never returned by the API
	Kind     string
}

// Mode is how a session talks to its kiosk.
type Mode int

const (
	// ModeThumbnail: 8 bpp, strong compression, requests spaced out.
	ModeThumbnail Mode = iota
	// ModeLive: 32 bpp, better quality, a new request as soon as an update
	// has arrived, for a viewer who watches or controls the kiosk.
	ModeLive
)

// Profile is the pixel format, encodings and pacing of one Mode.
type Profile struct {
	Format    rfb.PixelFormat
	Encodings []rfb.Encoding
	// Interval is the least time between the start of two update requests
	// in live mode. Thumbnail requests follow the Schedule instead.
	Interval time.Duration
}

// Profiles used unless the configuration says otherwise. Thumbnails are
// made at 8 bpp (BGR233): a quarter of the bytes of 32 bpp before
// compression, and colour enough for a 320-pixel tile. ZRLE and Tight's zlib
// paths compress flat kiosk screens far better than JPEG at this size;
// compression level 9 trades the kiosk's CPU for line bytes. Neither profile
// asks for ExtendedDesktopSize: with it, TigerVNC answers a non-incremental
// request with the screen layout alone and sends the pixels only on the next
// request, so a poke would go unanswered; DesktopSize reports resizes.
var (
	ThumbnailProfile = Profile{
		Format: rfb.Format8,
		Encodings: []rfb.Encoding{rfb.EncCopyRect, rfb.EncZRLE, rfb.EncTight, rfb.EncHextile, rfb.EncZlib,
			rfb.EncCoRRE, rfb.EncRRE, rfb.EncRaw, rfb.EncCompressLevel0 + 9,
			rfb.EncCursor, rfb.EncDesktopSize, rfb.EncLastRect, rfb.EncDesktopName},
	}
	LiveProfile = Profile{
		Format: rfb.Format32,
		Encodings: []rfb.Encoding{rfb.EncCopyRect, rfb.EncTight, rfb.EncZRLE, rfb.EncHextile, rfb.EncZlib,
			rfb.EncRaw, rfb.EncQualityLevel0 + 7, rfb.EncCompressLevel0 + 6,
			rfb.EncCursor, rfb.EncDesktopSize, rfb.EncLastRect, rfb.EncDesktopName},
		Interval: 40 * time.Millisecond,
	}
)

// sessionEnv is what every session of a fleet shares.
type sessionEnv struct {
	dialTimeout      time.Duration
	handshakeTimeout time.Duration
	keepAlive        time.Duration
	backoff          Backoff
	thumbProfile     Profile
	liveProfile      Profile
	renditions       []thumbs.Rendition
	encoders         *sync.Pool // of *thumbs.Encoder, shared by all sessions
	publish          func(t Target, frames []thumbs.Frame)
	dial             func(ctx context.Context, t Target) (net.Conn, error)
	budgets          *Budgets        // nil: no caps
	policy           *EncodingPolicy // nil: thumbProfile for every kind
	schedule         Schedule
	log              *slog.Logger
	rnd              func() float64
}

// Session holds the one RFB connection kioskwall keeps to a kiosk: it
// connects, reconnects with backoff, makes thumbnails, and carries the live
// view. Its goroutine is started by Fleet and stopped by cancelling its
// context.
type Session struct {
	env     *sessionEnv
	target  Target
	desktop *rfb.Desktop

	thumbMu     sync.Mutex // guards thumb and the publish times
	thumb       *thumbs.Thumbnailer
	published   time.Time // watched renditions last encoded
	publishedAt time.Time // every rendition last encoded

	mu     sync.Mutex
	status Status

	watch      atomic.Uint64 // renditions some page shows: bit i is env.renditions[i]
	publishDue atomic.Int64  // unix ns: a picture held back by PublishEvery is due then; 0: none
	lastChange atomic.Int64  // unix ns of the last change beyond tickers
	alarmUntil atomic.Int64  // unix ns: lively until then after coming back from a failure

	client    atomic.Pointer[rfb.Client] // the live connection, for input
	bytesPast atomic.Int64               // bytes of connections that ended
	viewers   atomic.Int32
	nudge     chan struct{} // wakes the session when its mode should change
}

func newSession(env *sessionEnv, t Target) *Session {
	return &Session{
		env:     env,
		target:  t,
		desktop: rfb.NewDesktop(1, 1, env.thumbProfile.Format),
		thumb:   thumbs.New(env.renditions...),
		status:  Status{State: StateConnecting, Since: time.Now()},
		nudge:   make(chan struct{}, 1),
	}
}

// Target is the kiosk this session serves.
func (s *Session) Target() Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.target
}

// retarget takes a new name, site or kind without reconnecting.
func (s *Session) retarget(t Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target = t
}

// Desktop is the kiosk's framebuffer as last decoded; the live view serves it.
func (s *Session) Desktop() *rfb.Desktop { return s.desktop }

// Status returns a snapshot of the session.
func (s *Session) Status() Status {
	s.mu.Lock()
	st := s.status
	s.mu.Unlock()
	st.BytesIn = s.bytesPast.Load()
	if c := s.client.Load(); c != nil {
		st.BytesIn += c.BytesIn()
	}
	st.Viewers = int(s.viewers.Load())
	if st.Watched = s.watched(); st.Watched {
		st.MaxAge = s.env.schedule.MaxAge
		st.Overdue = st.State == StateOnline && !st.Confirmed.IsZero() && time.Since(st.Confirmed) > st.MaxAge
	}
	return st
}

func (s *Session) setState(state State, reason rfb.Failure, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status.State != state || s.status.Reason != reason {
		s.status.Since = time.Now()
	}
	s.status.State, s.status.Reason, s.status.Message = state, reason, msg
}

// AddViewer upgrades the session to live mode for a viewer; the returned
// function removes the viewer again, and the last one to leave brings the
// session back to thumbnail mode.
func (s *Session) AddViewer() (remove func()) {
	s.viewers.Add(1)
	s.wake()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.viewers.Add(-1)
			s.wake()
		})
	}
}

// wake makes the session look at its mode now; serve does the rest.
func (s *Session) wake() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// ErrNotConnected is returned for input to a kiosk that is not online.
var ErrNotConnected = errors.New("kiosk is not connected")

// Input forwards a viewer's key, pointer or clipboard event to the kiosk.
// The caller has checked that the viewer has control.
func (s *Session) Input(ev rfb.InputEvent) error {
	c := s.client.Load()
	if c == nil {
		return ErrNotConnected
	}
	switch ev.Kind {
	case rfb.InputKey:
		return c.KeyEvent(ev.Down, ev.Key)
	case rfb.InputPointer:
		return c.PointerEvent(ev.Buttons, ev.X, ev.Y)
	case rfb.InputCutText:
		return c.CutText(ev.Text)
	}
	return fmt.Errorf("unknown input kind %v", ev.Kind)
}

// run keeps the kiosk connected until ctx ends. delay spreads first
// connections over the start-up ramp.
func (s *Session) run(ctx context.Context, delay time.Duration) {
	t := s.Target()
	log := s.env.log.With("kiosk", t.ID, "site", t.Site)
	if !sleepCtx(ctx, delay) {
		return
	}
	failures := 0
	for {
		s.setState(StateConnecting, "", "connecting to "+t.Addr)
		connected, err := s.connectAndServe(ctx, failures > 0)
		if ctx.Err() != nil {
			return
		}
		if connected {
			failures = 0
		}
		failures++
		reason, hint := rfb.Diagnose(err)
		state := stateFor(reason)
		msg := err.Error()
		if hint != "" {
			msg += ": " + hint
		}
		s.setState(state, reason, msg)
		wait := s.env.backoff.Next(failures, state == StateAuthFailed, s.env.rnd)
		log.Info("kiosk session ended", "state", state, "reason", reason, "err", err, "retry_in", wait.Round(time.Second))
		if !sleepCtx(ctx, wait) {
			return
		}
	}
}

// connectAndServe runs one connection. connected reports whether the
// handshake succeeded, which resets the backoff. A kiosk recovering from a
// failure counts as lively for a while: people want to see it is back.
func (s *Session) connectAndServe(ctx context.Context, recovering bool) (connected bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, s.env.dialTimeout)
	t := s.Target()
	conn, err := s.env.dial(dctx, t)
	cancel()
	if err != nil {
		return false, err
	}
	hctx, cancel := context.WithTimeout(ctx, s.env.handshakeTimeout)
	defer cancel()
	thumbName, prof := s.profile(ModeThumbnail)
	c, err := rfb.NewClient(hctx, conn, rfb.ClientConfig{
		Password:    t.Password,
		Framebuffer: s.desktop,
		PixelFormat: &prof.Format,
		Encodings:   prof.Encodings,
	})
	if err != nil {
		return false, err
	}
	// The handshake context bounded the handshake; the session lives with ctx.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer func() {
		s.client.Store(nil)
		s.bytesPast.Add(c.BytesIn())
		c.Close()
	}()
	s.client.Store(c)
	s.mu.Lock()
	s.status.Width, s.status.Height, s.status.Format = c.Width(), c.Height(), prof.Format.String()
	s.mu.Unlock()
	if recovering {
		s.alarmUntil.Store(time.Now().Add(s.env.schedule.Alarm).UnixNano())
	}
	s.setState(StateOnline, "", fmt.Sprintf("RFB %s, %dx%d %q", c.Version(), c.Width(), c.Height(), c.Name()))
	pc, _ := conn.(*PacedConn)
	return true, s.serve(ctx, c, pc, thumbName)
}

// Request pacing constants. A probe is a 1x1 non-incremental request: the
// server answers it at once, whatever changed.
const (
	// probeEvery spaces liveness probes of a connected kiosk; each gives a
	// round-trip time and proves the server still answers.
	probeEvery = 30 * time.Second
	// answerTimeout is how long a probe or poke may go unanswered before the
	// kiosk counts as hung and the session reconnects.
	answerTimeout = 30 * time.Second
	// idlePoke is how long an incremental request may wait on a screen that
	// does not change before it is poked, when nobody needs the slot and no
	// page watches the kiosk.
	idlePoke = 30 * time.Second
)

// reqKind is what the session is waiting for.
type reqKind int

const (
	reqNone   reqKind = iota
	reqUpdate         // an update request (incremental or not)
	reqProbe          // a liveness probe, nothing else outstanding: its answer time is the RTT
)

// serve asks for updates and turns them into thumbnails. A reader goroutine
// decodes; this goroutine decides when to request, one request at a time.
//
// RFB requests carry no identity and a pending one cannot be cancelled: an
// incremental request on a screen that does not change waits forever. So
// when the session needs nothing outstanding — to change the pixel format
// for a viewer, or to free its site's request slot for another kiosk — it
// pokes: a 1x1 non-incremental request, answered at once. A server may answer
// the two requests with one update or with two, the poke's last: once an
// update brings the poke's pixel, nothing is outstanding, as servers keep
// one requested region and an update answers all of it. Before a change of
// pixel format the session waits a settle period more, for servers that
// answer requests one by one.
// On a budgeted line a kiosk holds a slot while it is asked for an update;
// a quiet kiosk keeps it, and so shows its next change at once, until
// another kiosk of the line waits for a slot (see Schedule).
// thumbName is the thumbnail profile c was set up with.
func (s *Session) serve(ctx context.Context, c *rfb.Client, pc *PacedConn, thumbName string) error {
	updates := make(chan struct{}, 1)
	var arrived, pokeAnswers atomic.Int64
	readErr := make(chan error, 1)
	rctx, stopReader := context.WithCancel(ctx)
	defer stopReader()
	go func() {
		readErr <- s.readUpdates(rctx, c, func(u *rfb.Update) {
			if rfb.Covers(u.Rects, pokeArea) {
				pokeAnswers.Add(1)
			}
			arrived.Add(1)
			select {
			case updates <- struct{}{}:
			default:
			}
		})
	}()
	defer func() {
		c.Close() // ends the reader if it is still reading
		<-readErr
	}()
	slots := newSlotHolder(ctx, s.env.budgets, s.Target().Site)
	defer slots.close()

	mode, modeName := ModeThumbnail, thumbName
	incremental := false
	kind := reqNone
	poked := false
	var sentAt, lastArrival, lastRequest, lastWhole, lastProbe time.Time
	lastProbe = time.Now() // the handshake just proved the server answers
	var seen, pokesSeen int64
	rtt := 50 * time.Millisecond
	var watchSeen uint64
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		// Taken before the decision looks at the line: a kiosk that queues
		// for a slot after this closes it, and one that queued before shows
		// in slots.contended().
		contended := slots.contention()
		now := time.Now()
		if n := arrived.Load(); n != seen {
			p := pokeAnswers.Load()
			pokeAnswered := p != pokesSeen
			seen, pokesSeen = n, p
			lastArrival = now
			s.confirm(now)
			switch {
			case kind == reqProbe:
				rtt = now.Sub(sentAt)
				s.setRTT(rtt)
				kind = reqNone
			case kind == reqUpdate && poked && !pokeAnswered:
				// The request's answer came alone: the poke's is due at once.
			case kind == reqUpdate:
				// Nothing is outstanding once the poke's pixel came: servers
				// keep one requested region and answer all of it. The slot
				// goes back.
				slots.release()
				kind, poked = reqNone, false
			}
		}
		if due := s.publishDue.Load(); due != 0 && now.UnixNano() >= due {
			s.publishDue.CompareAndSwap(due, 0)
			if err := s.publish(now, false); err != nil {
				return err
			}
		}
		if w := s.watch.Load(); w != watchSeen {
			// A page started showing a rendition: it gets the picture now.
			watchSeen = w
			if err := s.publish(now, false); err != nil {
				return err
			}
		}
		// The wanted mode, or within thumbnail mode the profile the
		// encoding policy chose for the kiosk's kind.
		want := s.wantMode()
		wantName, _ := s.profile(want)
		change := want != mode || wantName != modeName
		settle := s.settle(rtt)
		// The interval follows the kiosk's class as it changes: a kiosk a
		// page starts to show is due at once.
		interval := s.interval(mode, now)
		nextRequest := lastRequest.Add(interval)
		if kind == reqNone && now.Before(nextRequest) {
			// A slot is held only while a request is outstanding: one granted
			// to a kiosk that is no longer due (a page stopped showing it)
			// goes back at once.
			slots.release()
		}
		switch {
		case kind != reqNone && (kind == reqProbe || poked) && now.Sub(sentAt) >= answerTimeout:
			return fmt.Errorf("the kiosk stopped answering: no update %v after a request it must answer at once", answerTimeout)
		case change && kind == reqUpdate && !poked:
			if err := c.Request(false, pokeArea); err != nil {
				return err
			}
			poked, sentAt = true, now
		case change && kind == reqNone && now.Sub(lastArrival) >= settle:
			slots.release()
			if err := s.switchMode(c, pc, want); err != nil {
				return err
			}
			mode, modeName, incremental, lastRequest = want, wantName, false, time.Time{}
		case change:
			// wait for the answer or the settle period
		case kind == reqUpdate && !poked && mode == ModeThumbnail && now.Sub(sentAt) >= s.quietHold(rtt, slots):
			if err := c.Request(false, pokeArea); err != nil {
				return err
			}
			poked, sentAt = true, now
		case kind == reqNone && now.Sub(lastProbe) >= probeEvery && (s.env.budgets == nil || !slots.held()):
			if err := c.Request(false, pokeArea); err != nil {
				return err
			}
			kind, sentAt, lastProbe = reqProbe, now, now
		case kind == reqNone && !now.Before(nextRequest):
			if mode == ModeThumbnail && !slots.held() {
				grace := s.env.schedule.grace(s.watched(), s.lively(now))
				slots.want(SlotClaim{Due: nextRequest, Grace: grace, Watched: s.watched})
				break
			}
			whole := !incremental || mode == ModeLive || now.Sub(lastWhole) >= s.env.schedule.TickerRefresh
			// When others wait for a slot, a poke goes with the request: the
			// answer comes at once, and the slot back after a round trip.
			var poke image.Rectangle
			if incremental && mode == ModeThumbnail && s.env.budgets != nil && slots.contended() {
				poke = pokeArea
			}
			if err := c.RequestRegion(incremental, s.requestArea(c.Width(), c.Height(), whole), poke); err != nil {
				return err
			}
			if whole {
				lastWhole = now
			}
			incremental, kind, sentAt, lastRequest, poked = true, reqUpdate, now, now, !poke.Empty()
		}

		// Sleep until the next moment something may change the decision;
		// the decision may have changed the mode or the last request.
		nextRequest = lastRequest.Add(s.interval(mode, now))
		wake := now.Add(time.Hour)
		at := func(t time.Time) {
			if t.Before(wake) {
				wake = t
			}
		}
		if due := s.publishDue.Load(); due != 0 {
			at(time.Unix(0, due))
		}
		var contention <-chan struct{}
		switch {
		case kind == reqNone && change:
			at(lastArrival.Add(settle))
		case kind == reqNone && slots.granted() != nil:
			// waiting for a slot: the select below wakes on it
		case kind == reqNone:
			at(nextRequest)
			at(lastProbe.Add(probeEvery))
		case kind == reqProbe || poked:
			at(sentAt.Add(answerTimeout))
		case mode == ModeThumbnail:
			at(sentAt.Add(s.quietHold(rtt, slots)))
			contention = contended
		}
		timer.Reset(max(time.Until(wake), time.Millisecond))
		select {
		case <-updates:
		case <-s.nudge:
		case rel := <-slots.granted():
			slots.got(rel)
		case <-contention:
		case <-timer.C:
		case err := <-readErr:
			readErr <- err // for the deferred wait
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// requestArea is what an update request asks for: the whole screen, or
// when whole is false the screen without its ticker areas (a clock), whose
// changes then wait for the next whole request, at most the schedule's
// TickerRefresh later. A kiosk whose only change is its clock then sends
// nothing, and keeps its request, and so shows a real change at once.
func (s *Session) requestArea(w, h int, whole bool) []image.Rectangle {
	area := []image.Rectangle{image.Rect(0, 0, w, h)}
	if whole {
		return area
	}
	s.thumbMu.Lock()
	tickers := s.thumb.Tickers()
	s.thumbMu.Unlock()
	for _, t := range tickers {
		area = rfb.Subtract(area, t)
	}
	if len(area) == 0 {
		return []image.Rectangle{image.Rect(0, 0, w, h)}
	}
	return area
}

// pokeArea is what probes and pokes ask for: one pixel, answered at once.
var pokeArea = image.Rect(0, 0, 1, 1)

// settle is how long to wait after a poke's answer for a possible second
// update before the pixel format changes.
func (s *Session) settle(rtt time.Duration) time.Duration { return max(4*rtt, 150*time.Millisecond) }

// quietHold is how long an incremental thumbnail request may wait for a
// change before the session pokes. While another kiosk of the line waits
// for a slot: a few round trips, so a quiet kiosk gives its slot back. While
// a page watches the kiosk: most of the schedule's MaxAge, so the tile is
// confirmed current in time. Otherwise only now and then, to prove that the
// kiosk still answers.
func (s *Session) quietHold(rtt time.Duration, slots *slotHolder) time.Duration {
	hold := idlePoke
	if s.watched() {
		hold = s.env.schedule.MaxAge * 3 / 4
	}
	if s.env.budgets != nil && slots.contended() {
		hold = min(hold, max(4*rtt, 150*time.Millisecond))
	}
	return hold
}

// interval is the least time between two update requests in mode m.
func (s *Session) interval(m Mode, now time.Time) time.Duration {
	if m == ModeLive {
		return s.env.liveProfile.Interval
	}
	return s.env.schedule.interval(s.watched(), s.lively(now))
}

// watched reports whether some page shows one of the kiosk's tiles.
func (s *Session) watched() bool { return s.watch.Load() != 0 }

// lively reports whether the kiosk changed lately or just recovered.
func (s *Session) lively(now time.Time) bool {
	n := now.UnixNano()
	return n-s.lastChange.Load() < int64(s.env.schedule.Lively) || n < s.alarmUntil.Load()
}

func (s *Session) confirm(t time.Time) {
	s.mu.Lock()
	s.status.Confirmed = t
	s.mu.Unlock()
}

func (s *Session) setRTT(rtt time.Duration) {
	s.mu.Lock()
	s.status.RTT = rtt
	s.mu.Unlock()
}

// readUpdates decodes server messages until an error, calling arrived after
// each FramebufferUpdate once the thumbnail is up to date.
func (s *Session) readUpdates(ctx context.Context, c *rfb.Client, arrived func(*rfb.Update)) error {
	for {
		msg, err := c.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if ct, ok := msg.(*rfb.CutText); ok {
			// The kiosk's clipboard goes to live viewers with control only.
			if !ct.Truncated {
				s.desktop.SetCutText(ct.Text)
			}
			continue
		}
		u, ok := msg.(*rfb.Update)
		if !ok {
			continue
		}
		if err := s.applyUpdate(u); err != nil {
			return err
		}
		arrived(u)
	}
}

func (s *Session) wantMode() Mode {
	if s.viewers.Load() > 0 {
		return ModeLive
	}
	return ModeThumbnail
}

// profile returns the name and profile of mode m: in thumbnail mode the
// encoding policy's choice for the kiosk's kind, if the fleet has a policy.
func (s *Session) profile(m Mode) (string, Profile) {
	switch {
	case m == ModeLive:
		return "live", s.env.liveProfile
	case s.env.policy != nil:
		c := s.env.policy.Thumbnail(s.Target().Kind)
		return c.Name, c.Profile
	}
	return "thumbnail", s.env.thumbProfile
}

func (s *Session) switchMode(c *rfb.Client, pc *PacedConn, m Mode) error {
	_, prof := s.profile(m)
	if pc != nil {
		// Live bytes draw on the site's guaranteed live share.
		pc.SetLive(m == ModeLive)
	}
	if err := c.SetPixelFormat(prof.Format); err != nil {
		return err
	}
	if err := c.SetEncodings(prof.Encodings); err != nil {
		return err
	}
	s.mu.Lock()
	s.status.Format = prof.Format.String()
	s.mu.Unlock()
	return nil
}

// applyUpdate brings the thumbnails up to date with a decoded update.
func (s *Session) applyUpdate(u *rfb.Update) error {
	if u.Resized {
		w, h := s.desktop.Size()
		s.mu.Lock()
		s.status.Width, s.status.Height = w, h
		s.mu.Unlock()
	}
	if len(u.Rects) == 0 && !u.Resized {
		return nil
	}
	s.thumbMu.Lock()
	defer s.thumbMu.Unlock()
	var ch thumbs.Change
	wasWhole := s.thumb.Whole()
	s.desktop.Draw(func(b *rfb.Buffer) []image.Rectangle {
		ch = s.thumb.Apply(b, u.Rects)
		return nil
	})
	if !ch.Changed && (wasWhole || !s.thumb.Whole()) {
		// Nothing new (a poke's answer, pixels resent): a clock change
		// held back for TickerRefresh stays held. The update that makes
		// the screen whole publishes even so: a black screen's first
		// frame changes no pixel of the blank one.
		return nil
	}
	now := time.Now()
	if !ch.Minor {
		s.lastChange.Store(now.UnixNano())
	}
	return s.publishLocked(now, ch.Minor)
}

// publish encodes what pages are owed; see publishLocked.
func (s *Session) publish(now time.Time, minor bool) error {
	s.thumbMu.Lock()
	defer s.thumbMu.Unlock()
	return s.publishLocked(now, minor)
}

// publishLocked encodes and hands out new thumbnails. The renditions pages
// show are encoded when their picture changed, a change that is minor (a
// clock) only once the schedule's TickerRefresh has passed; every rendition
// is encoded at least each UnwatchedRefresh while it changes, and at once
// for the first picture, once the whole screen has come. s.thumbMu is held.
func (s *Session) publishLocked(now time.Time, minor bool) error {
	if !s.thumb.Whole() {
		// Part of the screen has not come yet (a probe answered before the
		// first frame): its tile would show a black screen.
		return nil
	}
	var names []string
	switch {
	case s.publishedAt.IsZero():
		// the first picture: every rendition, so that the API and a wall
		// that opens later have one
	case now.Sub(s.publishedAt) >= s.env.schedule.UnwatchedRefresh:
		// The smallest rendition stays recent for the wall after a restart
		// and for a page that opens; larger ones nobody shows are encoded
		// when asked for (RefreshTiles): a 640x360 JPEG costs about 12 ms.
		names = append(s.watchedNames(), s.env.renditions[s.smallest()].Name)
	case minor && now.Sub(s.published) < s.env.schedule.TickerRefresh:
		return nil
	default:
		if names = s.watchedNames(); len(names) == 0 {
			return nil
		}
	}
	if !s.thumb.Changed(names...) {
		return nil
	}
	if names != nil {
		if due := s.published.Add(s.env.schedule.PublishEvery); now.Before(due) {
			// Held back; the session's loop publishes it when due.
			if s.publishDue.Swap(due.UnixNano()) == 0 {
				s.wake()
			}
			return nil
		}
	}
	s.publishDue.Store(0)
	enc := s.env.encoders.Get().(*thumbs.Encoder)
	frames, err := s.thumb.Encode(enc, names...)
	s.env.encoders.Put(enc)
	if err != nil {
		return fmt.Errorf("encoding thumbnail: %w", err)
	}
	s.published = now
	if names == nil || now.Sub(s.publishedAt) >= s.env.schedule.UnwatchedRefresh {
		s.publishedAt = now
	}
	s.mu.Lock()
	s.status.LastUpdate = now
	s.status.Thumbnails++
	s.mu.Unlock()
	s.env.publish(s.Target(), frames)
	return nil
}

// smallest is the index of the smallest rendition.
func (s *Session) smallest() int {
	best := 0
	for i, r := range s.env.renditions {
		if r.Width < s.env.renditions[best].Width {
			best = i
		}
	}
	return best
}

// RefreshTiles encodes every rendition whose picture is behind the screen,
// for a reader of a rendition no page shows (the thumbnail API).
func (s *Session) RefreshTiles() error {
	s.thumbMu.Lock()
	defer s.thumbMu.Unlock()
	s.publishedAt = time.Time{}
	return s.publishLocked(time.Now(), false)
}

// setWatch records which renditions pages show (bit i: env.renditions[i])
// and wakes the session so that a newly shown one is encoded at once.
func (s *Session) setWatch(mask uint64) {
	if s.watch.Swap(mask) != mask {
		s.wake()
	}
}

// watchedNames are the names of the renditions pages show.
func (s *Session) watchedNames() []string {
	mask := s.watch.Load()
	if mask == 0 {
		return nil
	}
	var names []string
	for i, r := range s.env.renditions {
		if mask&(1<<i) != 0 {
			names = append(names, r.Name)
		}
	}
	return names
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
