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
	// Interval is the least time between the start of two update requests.
	Interval time.Duration
}

// Profiles used unless the configuration says otherwise. Thumbnails are
// made at 8 bpp (BGR233): a quarter of the bytes of 32 bpp before
// compression, and colour enough for a 320-pixel tile. ZRLE and Tight's zlib
// paths compress flat kiosk screens far better than JPEG at this size;
// compression level 9 trades the kiosk's CPU for line bytes.
var (
	ThumbnailProfile = Profile{
		Format: rfb.Format8,
		Encodings: []rfb.Encoding{rfb.EncCopyRect, rfb.EncZRLE, rfb.EncTight, rfb.EncHextile, rfb.EncZlib,
			rfb.EncCoRRE, rfb.EncRRE, rfb.EncRaw, rfb.EncCompressLevel0 + 9,
			rfb.EncCursor, rfb.EncDesktopSize, rfb.EncExtendedDesktopSize, rfb.EncLastRect, rfb.EncDesktopName},
		Interval: time.Second,
	}
	LiveProfile = Profile{
		Format: rfb.Format32,
		Encodings: []rfb.Encoding{rfb.EncCopyRect, rfb.EncTight, rfb.EncZRLE, rfb.EncHextile, rfb.EncZlib,
			rfb.EncRaw, rfb.EncQualityLevel0 + 7, rfb.EncCompressLevel0 + 6,
			rfb.EncCursor, rfb.EncDesktopSize, rfb.EncExtendedDesktopSize, rfb.EncLastRect, rfb.EncDesktopName},
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
	thumb   *thumbs.Thumbnailer

	mu     sync.Mutex
	status Status

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
		connected, err := s.connectAndServe(ctx)
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
// handshake succeeded, which resets the backoff.
func (s *Session) connectAndServe(ctx context.Context) (connected bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, s.env.dialTimeout)
	t := s.Target()
	conn, err := s.env.dial(dctx, t)
	cancel()
	if err != nil {
		return false, err
	}
	hctx, cancel := context.WithTimeout(ctx, s.env.handshakeTimeout)
	defer cancel()
	prof := s.env.thumbProfile
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
	s.setState(StateOnline, "", fmt.Sprintf("RFB %s, %dx%d %q", c.Version(), c.Width(), c.Height(), c.Name()))
	return true, s.serve(ctx, c)
}

// serve asks for updates and turns them into thumbnails. A reader goroutine
// decodes; this goroutine decides when to request. At most one incremental
// request is outstanding, so the pixel format can change between updates.
//
// RFB requests carry no identity, so when a viewer arrives while a request
// waits on a static screen, the session asks for a 1x1 non-incremental update
// (answered at once) and then waits until no update has arrived for a settle
// period: a server may answer the two requests with one update or with two,
// and only after the last one may the format change.
func (s *Session) serve(ctx context.Context, c *rfb.Client) error {
	updates := make(chan struct{}, 1)
	var arrived atomic.Int64
	readErr := make(chan error, 1)
	rctx, stopReader := context.WithCancel(ctx)
	defer stopReader()
	go func() {
		readErr <- s.readUpdates(rctx, c, func() {
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

	mode := ModeThumbnail
	incremental := false
	outstanding := false
	var sentAt, lastArrival, nextRequest time.Time
	var seen int64
	rtt := 50 * time.Millisecond
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := time.Now()
		if n := arrived.Load(); n != seen {
			seen = n
			lastArrival = now
			if outstanding {
				outstanding = false
				rtt = (3*rtt + now.Sub(sentAt)) / 4
			}
		}
		want := s.wantMode()
		settle := max(4*rtt, 150*time.Millisecond)
		switch {
		case want != mode && outstanding:
			// A static screen may never answer: make it answer now.
			if err := c.Request(false, image.Rect(0, 0, 1, 1)); err != nil {
				return err
			}
			outstanding = false // the answer to either request ends the wait; settle covers the other
			lastArrival = now
		case want != mode && now.Sub(lastArrival) >= settle:
			if err := s.switchMode(c, want); err != nil {
				return err
			}
			mode, incremental, nextRequest = want, false, now
		case want == mode && !outstanding && !now.Before(nextRequest):
			if err := c.Request(incremental, image.Rect(0, 0, c.Width(), c.Height())); err != nil {
				return err
			}
			incremental, outstanding, sentAt = true, true, now
			nextRequest = now.Add(s.profile(mode).Interval)
		}
		// Sleep until something can change the decision.
		wake := time.Hour
		switch {
		case want != mode && !outstanding:
			wake = lastArrival.Add(settle).Sub(now)
		case want == mode && !outstanding:
			wake = nextRequest.Sub(now)
		}
		timer.Reset(max(wake, time.Millisecond))
		select {
		case <-updates:
		case <-s.nudge:
		case <-timer.C:
		case err := <-readErr:
			readErr <- err // for the deferred wait
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readUpdates decodes server messages until an error, calling arrived after
// each FramebufferUpdate once the thumbnail is up to date.
func (s *Session) readUpdates(ctx context.Context, c *rfb.Client, arrived func()) error {
	for {
		msg, err := c.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		u, ok := msg.(*rfb.Update)
		if !ok {
			continue
		}
		if err := s.applyUpdate(c, u); err != nil {
			return err
		}
		arrived()
	}
}

func (s *Session) wantMode() Mode {
	if s.viewers.Load() > 0 {
		return ModeLive
	}
	return ModeThumbnail
}

func (s *Session) profile(m Mode) Profile {
	if m == ModeLive {
		return s.env.liveProfile
	}
	return s.env.thumbProfile
}

func (s *Session) switchMode(c *rfb.Client, m Mode) error {
	prof := s.profile(m)
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

// applyUpdate brings the thumbnail up to date with a decoded update.
func (s *Session) applyUpdate(c *rfb.Client, u *rfb.Update) error {
	if len(u.Rects) == 0 {
		return nil
	}
	s.desktop.Draw(func(b *rfb.Buffer) []image.Rectangle {
		s.thumb.Apply(b, u.Rects)
		return nil
	})
	if u.Resized {
		s.mu.Lock()
		s.status.Width, s.status.Height = c.Width(), c.Height()
		s.mu.Unlock()
	}
	return s.publish()
}

// publish encodes and hands out new thumbnails when the picture changed.
func (s *Session) publish() error {
	if !s.thumb.Changed() {
		return nil
	}
	enc := s.env.encoders.Get().(*thumbs.Encoder)
	frames, err := s.thumb.Encode(enc)
	s.env.encoders.Put(enc)
	if err != nil {
		return fmt.Errorf("encoding thumbnail: %w", err)
	}
	s.mu.Lock()
	s.status.LastUpdate = time.Now()
	s.status.Thumbnails++
	s.mu.Unlock()
	s.env.publish(s.Target(), frames)
	return nil
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
