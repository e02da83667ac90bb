// Package sim runs fleets of synthetic kiosks: RFB servers on loopback
// addresses, each drawing a believable hospital self-service screen with
// scripted activity, for kioskwall's tests, demo and bandwidth benchmark.
//
// A kiosk's behaviour, identity and every frame it draws follow from the
// fleet's seed and the kiosk's index alone, so the same seed gives the same
// screens at the same script time, run after run.
package sim

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"kioskwall/rfb"
)

// Config describes a fleet. The zero value of each field but Kiosks has a
// useful default.
type Config struct {
	// Kiosks is how many kiosks to run.
	Kiosks int
	// BaseAddr is the first kiosk's address; kiosk i listens on BaseAddr+i.
	// All must lie in 127.0.0.0/8. Default 127.0.1.1.
	BaseAddr string
	// Port every kiosk listens on; 0 lets each take a free port (tests).
	Port int
	// Password is every kiosk's VNC password; "" means no authentication.
	Password string
	// Size of every desktop; default 1920x1080.
	Size image.Point
	// Seed makes the fleet: behaviours, names, frames.
	Seed uint64
	// Mix weighs the behaviours; the zero Mix means DefaultMix.
	Mix Mix
	// Behaviours, if set, overrides Mix: kiosk i behaves as
	// Behaviours[i%len(Behaviours)]. Tests use it to get the kiosks they need.
	Behaviours []Behaviour
	// Latency delays every write to a viewer, standing in for a line's
	// round trip. Default 0.
	Latency time.Duration
	// EventLog, if set, is a file every input event is appended to as a
	// line of JSON (see Input).
	EventLog string
	// Start is the wall time kiosk clocks show at script time zero; default
	// now.
	Start time.Time
	// VirtualTime stops script time: it moves only when Fleet.Advance says,
	// so a test can play a minute of kiosk life in milliseconds, with the
	// same frames every run.
	VirtualTime bool
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// DefaultSize is a kiosk's screen: Full HD, as most kiosk displays are.
var DefaultSize = image.Point{1920, 1080}

// Limits on a desktop's size: big enough for a legible screen, small enough
// for RFB's 16-bit sizes and a fleet's memory.
const (
	minWidth, minHeight = 320, 200
	maxSide             = 8192
)

// withDefaults fills in defaults and checks everything Start relies on.
func (c Config) withDefaults() (Config, error) {
	if c.Kiosks < 1 {
		return c, fmt.Errorf("sim: %d kiosks requested; need at least 1", c.Kiosks)
	}
	if c.BaseAddr == "" {
		c.BaseAddr = "127.0.1.1"
	}
	if c.Port < 0 || c.Port > 65535 {
		return c, fmt.Errorf("sim: port %d is out of range 0..65535", c.Port)
	}
	if c.Size == (image.Point{}) {
		c.Size = DefaultSize
	}
	if c.Size.X < minWidth || c.Size.Y < minHeight || c.Size.X > maxSide || c.Size.Y > maxSide {
		return c, fmt.Errorf("sim: desktop size %dx%d is out of range %dx%d..%dx%d", c.Size.X, c.Size.Y, minWidth, minHeight, maxSide, maxSide)
	}
	if c.Mix == (Mix{}) {
		c.Mix = DefaultMix
	}
	if err := c.Mix.Validate(); err != nil {
		return c, err
	}
	for _, b := range c.Behaviours {
		if b < 0 || b >= numBehaviours {
			return c, fmt.Errorf("sim: unknown behaviour %d in Behaviours", int(b))
		}
	}
	if c.Latency < 0 {
		return c, fmt.Errorf("sim: latency %v is negative", c.Latency)
	}
	if c.Start.IsZero() {
		c.Start = time.Now()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// behaviour is what kiosk i does.
func (c *Config) behaviour(i int) Behaviour {
	if len(c.Behaviours) > 0 {
		return c.Behaviours[i%len(c.Behaviours)]
	}
	return c.Mix.deal(c.Seed, i)
}

// Fleet is a running set of kiosks. Close stops it.
type Fleet struct {
	cfg       Config
	hospital  hospital
	kiosks    []*Kiosk
	byID      map[string]*Kiosk
	changes   *changeFeed
	sched     *scheduler
	events    *eventLog
	listeners []net.Listener

	cancel    context.CancelFunc
	stopWatch func() bool
	wg        sync.WaitGroup // accept loops, connections, the scheduler
	closeOnce sync.Once
	closeErr  error
}

// Start builds the fleet, draws every kiosk's first screen and starts
// listening. Kiosks serve until ctx ends or Close is called.
func Start(ctx context.Context, cfg Config) (*Fleet, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	base, err := netip.ParseAddr(cfg.BaseAddr)
	if err != nil {
		return nil, fmt.Errorf("sim: base address %q: %w", cfg.BaseAddr, err)
	}
	hosts := make([]netip.Addr, cfg.Kiosks)
	for i := range hosts {
		if hosts[i], err = kioskHost(base, i); err != nil {
			return nil, err
		}
	}
	f := &Fleet{cfg: cfg, hospital: newHospital(cfg.Seed), byID: make(map[string]*Kiosk, cfg.Kiosks), changes: &changeFeed{}}
	for i, id := range f.hospital.identities(cfg.Seed, cfg.Kiosks) {
		k := newKiosk(i, id, cfg.behaviour(i), f.hospital, cfg.Size, cfg.Seed, cfg.Start)
		k.host = hosts[i].String()
		k.watch.start(k.id, f.changes, k.scr.l.clock())
		f.kiosks = append(f.kiosks, k)
		f.byID[k.id] = k
	}
	if cfg.EventLog != "" {
		if f.events, err = openEventLog(cfg.EventLog); err != nil {
			return nil, err
		}
	}
	ctx, f.cancel = context.WithCancel(ctx)
	for _, k := range f.kiosks {
		ln, err := net.Listen("tcp", net.JoinHostPort(k.host, strconv.Itoa(cfg.Port)))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("sim: kiosk %s cannot listen on %s: %w (is another simulator or VNC server using it? choose another -addr, or raise `ulimit -n` for large fleets)",
				k.id, net.JoinHostPort(k.host, strconv.Itoa(cfg.Port)), err)
		}
		k.port = ln.Addr().(*net.TCPAddr).Port
		if k.behaviour == Refusing {
			ln.Close() // the address stays known; a connect is refused
			continue
		}
		f.listeners = append(f.listeners, ln)
		f.wg.Go(func() { f.accept(ctx, k, ln) })
	}
	f.sched = newScheduler(cfg.Start, cfg.VirtualTime, f.kiosks)
	if !cfg.VirtualTime {
		f.wg.Go(func() { f.sched.run(ctx) })
	}
	f.stopWatch = context.AfterFunc(ctx, f.closeListeners)
	return f, nil
}

// accept serves every connection to k until its listener closes.
func (f *Fleet) accept(ctx context.Context, k *Kiosk, ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, most likely: wait, as net/http does.
			f.cfg.Logger.Warn("sim: accept failed", "kiosk", k.id, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if k.behaviour == HangingUp {
			conn.Close()
			continue
		}
		f.wg.Go(func() { f.serve(ctx, k, conn) })
	}
}

// serve runs one RFB session to k.
func (f *Fleet) serve(ctx context.Context, k *Kiosk, conn net.Conn) {
	k.conns.Add(1)
	k.accepted.Add(1)
	defer k.conns.Add(-1)
	mc := newMeteredConn(conn, &k.sent, f.cfg.Latency)
	err := rfb.Serve(ctx, mc, k.desk, rfb.ServerConfig{
		Name:     k.name + " (" + k.id + ")",
		Password: f.cfg.Password,
		OnInput:  func(ev rfb.InputEvent) { k.input(inputOf(ev, f.sched.wallTime()), f.events) },
		Logger:   f.cfg.Logger,
		// A kiosk shares its clipboard with every viewer, as real VNC servers do.
		SendCutText: func() bool { return true },
		OnUpdate:    k.watch.sent,
	})
	if err != nil {
		f.cfg.Logger.Info("sim: session ended", "kiosk", k.id, "remote", conn.RemoteAddr(), "err", err)
	}
}

// inputOf converts what the RFB server received into a record.
func inputOf(ev rfb.InputEvent, at time.Time) Input {
	return Input{Time: at, Kind: ev.Kind.String(), Down: ev.Down, Key: ev.Key, Buttons: ev.Buttons, X: ev.X, Y: ev.Y, Text: ev.Text}
}

func (f *Fleet) closeListeners() {
	for _, ln := range f.listeners {
		ln.Close()
	}
}

// Close stops every listener, connection and the scheduler, waits for them
// all, and closes the event log. It is safe to call more than once.
func (f *Fleet) Close() error {
	f.closeOnce.Do(func() {
		if f.stopWatch != nil {
			f.stopWatch()
		}
		if f.cancel != nil {
			f.cancel()
		}
		f.closeListeners()
		f.wg.Wait()
		f.closeErr = f.events.close()
	})
	return f.closeErr
}

// Kiosks returns every kiosk, in index order.
func (f *Fleet) Kiosks() []*Kiosk { return f.kiosks }

// Kiosk returns the kiosk with inventory code id ("K0001"), or nil.
func (f *Fleet) Kiosk(id string) *Kiosk { return f.byID[id] }

// BytesSent is what every kiosk wrote to every viewer, in total.
func (f *Fleet) BytesSent() int64 {
	var n int64
	for _, k := range f.kiosks {
		n += k.BytesSent()
	}
	return n
}

// BytesSentBySite totals BytesSent per campus.
func (f *Fleet) BytesSentBySite() map[string]int64 {
	m := make(map[string]int64)
	for _, k := range f.kiosks {
		m[k.site] += k.BytesSent()
	}
	return m
}

// Now is the script's wall time: what kiosk clocks show.
func (f *Fleet) Now() time.Time { return f.sched.wallTime() }

// Advance moves virtual script time forward by d and runs everything that
// fell due, in order, before returning. It panics unless the fleet runs in
// virtual time: in real time, time moves by itself.
func (f *Fleet) Advance(d time.Duration) {
	if !f.cfg.VirtualTime {
		panic("sim: Advance on a fleet that runs in real time; set Config.VirtualTime")
	}
	f.sched.advance(d)
}
