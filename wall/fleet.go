package wall

import (
	"cmp"
	"context"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"kioskwall/thumbs"
)

// FleetOptions configure the sessions of a fleet. Zero values take defaults.
type FleetOptions struct {
	DialTimeout      time.Duration // TCP connect; default 10 s
	HandshakeTimeout time.Duration // RFB handshake; default 20 s
	KeepAlive        time.Duration // TCP keepalive period; default 30 s
	Backoff          Backoff       // default DefaultBackoff
	Ramp             time.Duration // spread of first connections; default N x 20 ms, at most 60 s
	Thumbnail        *Profile      // default ThumbnailProfile
	Live             *Profile      // default LiveProfile
	Renditions       []thumbs.Rendition
	// Budgets, if set, caps the bytes read per site and in total: kiosk
	// connections are paced and thumbnail requests take turns (see Budgets).
	Budgets *Budgets
	// Schedule decides how often kiosks are asked for thumbnails; zero
	// fields take DefaultSchedule's.
	Schedule Schedule
	// Policy, if set, measures per kind of kiosk which thumbnail profile
	// costs the fewest bytes and uses it instead of Thumbnail; PolicyDecided
	// is called after each decision (to save it).
	Policy        *EncodingPolicy
	PolicyDecided func()
	// TrialEvery is how often the fleet looks for a kind whose encoding
	// trial is due; default 1 minute.
	TrialEvery time.Duration
	// FramebufferMemory bounds what the sessions' framebuffers may take
	// together (each holds its kiosk's screen in the thumbnail format), so
	// the policy picks no pixel format the fleet cannot afford; default
	// 2.5 GiB, which keeps a thousand 1920x1080 kiosks at 8 bpp under 4 GB.
	FramebufferMemory int64
	// Dial opens the TCP connection to a kiosk; default net.Dialer, or the
	// budgets' paced dial when Budgets is set.
	Dial   func(ctx context.Context, t Target) (net.Conn, error)
	Logger *slog.Logger
	Seed   uint64 // for backoff jitter; 0 means time-based
}

// Fleet runs one Session per kiosk and keeps the set in step with the
// inventory. Every session goroutine belongs to the fleet and ends with Close.
type Fleet struct {
	env   *sessionEnv
	tiles *TileStore
	ramp  time.Duration

	onPolicy func() // after an encoding trial decided
	fbMemory int64  // FleetOptions.FramebufferMemory

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*fleetEntry
	watch    map[string]uint64 // kiosk id -> renditions pages show (SetWatch)
	synced   bool
}

type fleetEntry struct {
	s      *Session
	cancel context.CancelFunc
	done   chan struct{}
}

// NewFleet returns an empty fleet publishing tiles to tiles.
func NewFleet(tiles *TileStore, o FleetOptions) *Fleet {
	if o.DialTimeout == 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = 20 * time.Second
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.Backoff == (Backoff{}) {
		o.Backoff = DefaultBackoff
	}
	if o.Thumbnail == nil {
		o.Thumbnail = &ThumbnailProfile
	}
	if o.Live == nil {
		o.Live = &LiveProfile
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if len(o.Renditions) == 0 {
		o.Renditions = thumbs.DefaultRenditions
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
	}
	env := &sessionEnv{
		dialTimeout:      o.DialTimeout,
		handshakeTimeout: o.HandshakeTimeout,
		keepAlive:        o.KeepAlive,
		backoff:          o.Backoff,
		thumbProfile:     *o.Thumbnail,
		liveProfile:      *o.Live,
		renditions:       o.Renditions,
		encoders:         &sync.Pool{New: func() any { return thumbs.NewEncoder() }},
		publish:          func(t Target, frames []thumbs.Frame) { tiles.Put(t.ID, frames) },
		dial:             o.Dial,
		budgets:          o.Budgets,
		schedule:         o.Schedule.withDefaults(),
		policy:           o.Policy,
		log:              o.Logger,
		rnd:              jitter(o.Seed),
	}
	if env.dial == nil {
		d := &net.Dialer{KeepAlive: o.KeepAlive}
		env.dial = func(ctx context.Context, t Target) (net.Conn, error) {
			if o.Budgets != nil {
				return o.Budgets.Dial(ctx, d, t.Site, t.Addr)
			}
			return d.DialContext(ctx, "tcp", t.Addr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fleet{env: env, tiles: tiles, ramp: o.Ramp, onPolicy: o.PolicyDecided, ctx: ctx, cancel: cancel,
		sessions: map[string]*fleetEntry{}, watch: map[string]uint64{}}
	if o.Policy != nil {
		every := cmp.Or(o.TrialEvery, trialCheck)
		f.fbMemory = cmp.Or(o.FramebufferMemory, defaultFramebufferMemory)
		f.wg.Go(func() { f.runTrials(ctx, every) })
	}
	return f
}

// Tiles is the store the fleet publishes to.
func (f *Fleet) Tiles() *TileStore { return f.tiles }

// Sync makes the running sessions match targets: new kiosks start, removed
// ones stop, and a kiosk whose address or password changed reconnects. The
// first Sync spreads its connections over the start-up ramp.
func (f *Fleet) Sync(targets []Target) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil {
		return
	}
	ramp := time.Duration(0)
	if !f.synced {
		ramp = f.ramp
		if ramp == 0 {
			ramp = min(time.Duration(len(targets))*20*time.Millisecond, time.Minute)
		}
		f.synced = true
	}
	keep := make(map[string]bool, len(targets))
	for i, t := range targets {
		keep[t.ID] = true
		if e, ok := f.sessions[t.ID]; ok {
			old := e.s.Target()
			if old.Addr == t.Addr && old.Password == t.Password {
				if old != t {
					e.s.retarget(t)
				}
				continue
			}
			f.stopLocked(t.ID)
		}
		f.startLocked(t, rampDelay(i, len(targets), ramp))
	}
	for id := range f.sessions {
		if !keep[id] {
			f.stopLocked(id)
			f.tiles.Remove(id)
		}
	}
}

func (f *Fleet) startLocked(t Target, delay time.Duration) {
	s := newSession(f.env, t)
	s.watch.Store(f.watch[t.ID])
	ctx, cancel := context.WithCancel(f.ctx)
	e := &fleetEntry{s: s, cancel: cancel, done: make(chan struct{})}
	f.sessions[t.ID] = e
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(e.done)
		s.run(ctx, delay)
	}()
}

// stopLocked ends a session and waits for it, so that a restarted session
// never overlaps its predecessor on the kiosk.
func (f *Fleet) stopLocked(id string) {
	e := f.sessions[id]
	delete(f.sessions, id)
	e.cancel()
	<-e.done
}

// Session returns the session of kiosk id.
func (f *Fleet) Session(id string) (*Session, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.sessions[id]
	if !ok {
		return nil, false
	}
	return e.s, true
}

// Sessions returns every session, ordered by site, then id.
func (f *Fleet) Sessions() []*Session {
	f.mu.Lock()
	out := make([]*Session, 0, len(f.sessions))
	for _, e := range f.sessions {
		out = append(out, e.s)
	}
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b *Session) int {
		ta, tb := a.Target(), b.Target()
		return cmp.Or(cmp.Compare(ta.Site, tb.Site), cmp.Compare(ta.ID, tb.ID))
	})
	return out
}

// SetWatch records which renditions of kiosk id wall pages show (bit i:
// the fleet's i-th rendition); the schedule asks watched kiosks first and
// encodes only what is shown. It holds for sessions started later too.
func (f *Fleet) SetWatch(id string, mask uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if mask == 0 {
		delete(f.watch, id)
	} else {
		f.watch[id] = mask
	}
	if e, ok := f.sessions[id]; ok {
		e.s.setWatch(mask)
	}
}

// renditionBit is the watch bit of a rendition name, 0 if unknown.
func (f *Fleet) renditionBit(name string) uint64 {
	for i, r := range f.env.renditions {
		if r.Name == name && i < 64 {
			return 1 << i
		}
	}
	return 0
}

// Close stops every session and waits for them.
func (f *Fleet) Close() {
	f.cancel()
	f.wg.Wait()
}
