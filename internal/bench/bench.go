// Package bench is `kioskwall bench`: the reproducible bandwidth benchmark
// of a kioskwall server watching a synthetic fleet through capped lines.
//
// Three processes take part, so that each one's figures are its own: the
// synthetic kiosks (`kioskwall sim`), the server (`kioskwall serve` with a
// generated config holding the caps), and this one, which plays the wall
// viewers, samples both others' counters and the server's CPU and memory
// from /proc, and afterwards plays the baseline users run today (one noVNC
// session per kiosk) against a sample of the same fleet.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"kioskwall/config"
)

// Config is one run. Zero values take the defaults of the scenario.
type Config struct {
	// Exe is the kioskwall binary that runs the kiosks and the server.
	Exe string
	// Kiosks is the fleet's size; default 200.
	Kiosks int
	// Duration is how long the measurement lasts after the warm-up; half
	// of it runs with one viewer, half with all of them, taking turns (see
	// measure). Default 2 minutes.
	Duration time.Duration
	// Cap is the total cap; SiteCap each site's (default Cap divided by
	// the number of sites, as if each site had a line of that size).
	// Default 20 Mbit/s.
	Cap, SiteCap config.Bandwidth
	// Viewers is how many wall pages watch, each showing TilesPerViewer
	// tiles (default 100); together they cover half the fleet. Default 20.
	Viewers, TilesPerViewer int
	// Mix is the kiosks' behaviours (see kioskwall sim -mix); default
	// idle=70,interactive=25,carousel=5.
	Mix string
	// Size of every kiosk screen; default 1920x1080.
	Size string
	// Latency delays every write of a kiosk, standing in for a line's
	// round trip; default 25 ms.
	Latency time.Duration
	// Seed makes the fleet; default 1.
	Seed uint64
	// BaselineKiosks is the size of the baseline's sample (default 50);
	// BaselineDuration how long it is counted (default the shorter of
	// Duration and one minute).
	BaselineKiosks   int
	BaselineDuration time.Duration
	// WarmupLimit bounds the wait for every kiosk's first tile; default
	// 3 minutes.
	WarmupLimit time.Duration
	// SimAddr is the first kiosk's address (each takes a free port);
	// default 127.0.200.1.
	SimAddr string
	// WorkDir holds the inventory, config and logs; default a temporary
	// folder, removed afterwards unless Keep.
	WorkDir string
	Keep    bool
	// CPUProfile, when set, is where the server writes a CPU profile of
	// its whole run (kioskwall serve -cpuprofile).
	CPUProfile string
	// Progress receives a line every ten seconds, and the phases.
	Progress io.Writer
}

// DefaultMix is the scenario.
const DefaultMix = "idle=70,interactive=25,carousel=5"

func (c Config) withDefaults() (Config, error) {
	if c.Exe == "" {
		return c, errors.New("bench: no kioskwall binary to run the kiosks and the server")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Kiosks, 200)
	def(&c.Viewers, 20)
	def(&c.TilesPerViewer, 100)
	def(&c.BaselineKiosks, 50)
	if c.Kiosks < 2 || c.Viewers < 1 || c.TilesPerViewer < 1 || c.BaselineKiosks < 1 {
		return c, fmt.Errorf("bench: need at least 2 kiosks, 1 viewer, 1 tile a viewer and 1 baseline kiosk (got %d, %d, %d, %d)",
			c.Kiosks, c.Viewers, c.TilesPerViewer, c.BaselineKiosks)
	}
	if c.Duration == 0 {
		c.Duration = 2 * time.Minute
	}
	if c.Duration < 10*time.Second {
		return c, fmt.Errorf("bench: a duration of %v is too short to measure 10-second windows; give at least 10s", c.Duration)
	}
	if c.Cap == 0 {
		c.Cap = 20 * config.Mbit
	}
	if c.Mix == "" {
		c.Mix = DefaultMix
	}
	if c.Size == "" {
		c.Size = "1920x1080"
	}
	if c.Latency == 0 {
		c.Latency = 25 * time.Millisecond
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.BaselineDuration == 0 {
		c.BaselineDuration = min(c.Duration, time.Minute)
	}
	if c.WarmupLimit == 0 {
		c.WarmupLimit = 3 * time.Minute
	}
	if c.SimAddr == "" {
		c.SimAddr = "127.0.200.1"
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c, nil
}

// Targets of the issue, for the verdicts in the report.
const (
	capWindow       = 10 * time.Second
	capMargin       = 1.05
	freshnessTarget = 2 * time.Second
	// freshnessTail: changes in the last seconds of the measurement are
	// not judged, so that a tile still on its way is not taken for one
	// that never came.
	freshnessTail = 5 * time.Second
)

// Run runs the benchmark and returns its figures.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	dir := cfg.WorkDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kioskwall-bench-"); err != nil {
			return nil, err
		}
		if !cfg.Keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, dir: dir, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	defer r.http.CloseIdleConnections()
	return r.run(ctx)
}

// run is the state of one benchmark run.
type run struct {
	cfg  Config
	dir  string
	http *http.Client

	sim, server *child
	simURL      string
	kiosks      []SimKiosk
	sites       []string

	mu    sync.Mutex
	phase string
}

func (r *run) say(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "bench: "+format+"\n", args...)
}

func (r *run) setPhase(p string) {
	r.mu.Lock()
	r.phase = p
	r.mu.Unlock()
	r.say("%s", p)
}

func (r *run) status() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phase
}

func (r *run) run(ctx context.Context) (*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := r.startSim(ctx); err != nil {
		return nil, err
	}
	defer r.sim.stop()
	cfgPath, err := r.writeConfig()
	if err != nil {
		return nil, err
	}
	r.setPhase("starting the server")
	serveArgs := []string{"serve", "-config", cfgPath}
	if r.cfg.CPUProfile != "" {
		serveArgs = append(serveArgs, "-cpuprofile", r.cfg.CPUProfile)
	}
	if r.server, err = startChild(ctx, "the server (kioskwall serve)", r.cfg.Exe, serveArgs, filepath.Join(r.dir, "serve.log")); err != nil {
		return nil, err
	}
	defer r.server.stop()
	addr, err := r.server.await(ctx, "kioskwall: the wall is at ", time.Minute)
	if err != nil {
		return nil, err
	}
	serverURL := strings.TrimSpace(addr)
	res := r.scenario()

	s := &sampler{http: r.http, serverURL: serverURL, simURL: r.simURL, serverPID: r.server.pid(), progress: r.cfg.Progress, status: r.status}
	sctx, stopSampling := context.WithCancel(ctx)
	var sampling sync.WaitGroup
	sampling.Go(func() { s.run(sctx) })
	defer func() {
		stopSampling()
		sampling.Wait()
	}()

	m, err := r.measure(ctx, serverURL, s, res)
	stopSampling()
	sampling.Wait()
	if err != nil {
		return nil, err
	}
	if err := s.finish(ctx); err != nil {
		return nil, fmt.Errorf("reading the kiosks' last changes: %w", err)
	}
	r.setPhase("stopping the server")
	if err := r.server.stop(); err != nil {
		r.say("the server did not stop cleanly: %v", err)
	}
	r.figures(res, s, m)

	b, err := r.baseline(ctx)
	if err != nil {
		return nil, err
	}
	res.setBaseline(b)
	if err := r.sim.stop(); err != nil {
		r.say("the kiosks did not stop cleanly: %v", err)
	}
	return res, nil
}

// startSim starts the kiosks and reads who they are.
func (r *run) startSim(ctx context.Context) error {
	r.setPhase(fmt.Sprintf("starting %d synthetic kiosks", r.cfg.Kiosks))
	args := []string{"sim", "-kiosks", strconv.Itoa(r.cfg.Kiosks), "-addr", r.cfg.SimAddr + ":0", "-size", r.cfg.Size,
		"-seed", strconv.FormatUint(r.cfg.Seed, 10), "-mix", r.cfg.Mix, "-latency", r.cfg.Latency.String(),
		"-inventory", filepath.Join(r.dir, "kiosks.csv"), "-stats-addr", "127.0.0.1:0"}
	var err error
	if r.sim, err = startChild(ctx, "the kiosks (kioskwall sim)", r.cfg.Exe, args, filepath.Join(r.dir, "sim.log")); err != nil {
		return err
	}
	url, err := r.sim.await(ctx, "sim: stats at ", 5*time.Minute)
	if err != nil {
		return err
	}
	r.simURL = strings.TrimSpace(url)
	if _, err := r.sim.await(ctx, "sim: running until interrupted", time.Minute); err != nil {
		return err
	}
	if err := getJSON(ctx, r.http, r.simURL+"kiosks", &r.kiosks); err != nil {
		return fmt.Errorf("asking the kiosks who they are: %w", err)
	}
	for _, k := range r.kiosks {
		if !slices.Contains(r.sites, k.Site) {
			r.sites = append(r.sites, k.Site)
		}
	}
	slices.Sort(r.sites)
	if r.cfg.SiteCap == 0 {
		r.cfg.SiteCap = r.cfg.Cap / config.Bandwidth(len(r.sites))
	}
	return nil
}

// writeConfig writes the server's config: loopback on a free port, the
// kiosks' inventory, the caps.
func (r *run) writeConfig() (string, error) {
	// The config wants a real port; one the kernel just handed out and
	// took back is free in all likelihood.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	listen := ln.Addr().String()
	ln.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "# written by kioskwall bench\nlisten: %s\ndata_dir: %q\n", listen, filepath.Join(r.dir, "data"))
	fmt.Fprintf(&b, "inventory:\n  files: [%q]\n", filepath.Join(r.dir, "kiosks.csv"))
	fmt.Fprintf(&b, "budgets:\n  total: %d\n  sites:\n", int64(r.cfg.Cap))
	for _, s := range r.sites {
		fmt.Fprintf(&b, "    %q: %d\n", s, int64(r.cfg.SiteCap))
	}
	path := filepath.Join(r.dir, "kioskwall.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

// plan is who shows what: the visible kiosks and each viewer's tiles.
type plan struct {
	visible []string
	blocks  [][]string // one per viewer
}

// viewerPlan spreads the viewers over half the fleet (every other kiosk,
// so every site and behaviour is in view), TilesPerViewer each, wrapping
// around when they are more than that half needs; fewer viewers than that
// show fewer kiosks.
func viewerPlan(kiosks []SimKiosk, viewers, tiles, maxSubs int) plan {
	var half []string
	for i, k := range kiosks {
		if i%2 == 0 {
			half = append(half, k.ID)
		}
	}
	tiles = min(tiles, len(half))
	visible := half[:min(len(half), viewers*tiles, maxSubs)]
	p := plan{visible: visible}
	for v := range viewers {
		block := make([]string, 0, tiles)
		for j := range min(tiles, len(visible)) {
			block = append(block, visible[(v*tiles+j)%len(visible)])
		}
		p.blocks = append(p.blocks, block)
	}
	return p
}

// measured is what measure leaves for the figures.
type measured struct {
	start, end        time.Time
	warmupEnd         time.Time
	views             []view
	frames, tileBytes int64
	atStart, atEnd    procUsage
	// Server CPU seconds and wall seconds of the phases with one viewer
	// and with all of them.
	oneCPU, oneSecs float64
	allCPU, allSecs float64
	turnCores       []float64 // each turn's, in order: one viewer first
	classes         []ClassResult
}

// maxSubscriptions is what the tile protocol lets one page subscribe to.
const maxSubscriptions = 2048

func (r *run) measure(ctx context.Context, serverURL string, s *sampler, res *Result) (measured, error) {
	var m measured
	p := viewerPlan(r.kiosks, r.cfg.Viewers, r.cfg.TilesPerViewer, maxSubscriptions)
	res.VisibleKiosks = len(p.visible)
	wsURL := "ws" + strings.TrimPrefix(serverURL, "http") + "ws/wall"

	var viewers []*viewer
	var reading sync.WaitGroup
	defer func() {
		for _, v := range viewers {
			v.close()
		}
		reading.Wait()
	}()
	connect := func(tiles []string) (*viewer, error) {
		v, err := dialViewer(ctx, wsURL, "small")
		if err != nil {
			return nil, err
		}
		viewers = append(viewers, v)
		reading.Go(v.run)
		return v, v.subscribe(tiles)
	}
	first, err := connect(p.visible)
	if err != nil {
		return m, err
	}

	began := time.Now()
	r.setPhase("warm-up: waiting for every kiosk's first tile")
	complete, err := r.warmup(ctx, serverURL)
	if err != nil {
		return m, err
	}
	res.WarmupSeconds, res.WarmupComplete = time.Since(began).Seconds(), complete
	m.warmupEnd = time.Now()

	usage := func() (procUsage, error) { return readUsage(r.server.pid()) }
	// One viewer and all of them take turns (1, W, 1, W, ...), about 20 s
	// each and at least four turns: the fleet drifts during a run (more
	// kiosks turning a page, the heap growing), and halves in one order
	// would charge that drift to the viewers.
	phases := 1
	if r.cfg.Viewers > 1 {
		phases = 2 * max(2, int(r.cfg.Duration/(45*time.Second)))
	}
	res.ViewerTurns = phases
	kiosks := func() ([]SimKiosk, error) {
		var ks []SimKiosk
		return ks, getJSON(ctx, r.http, r.simURL+"kiosks", &ks)
	}
	accepted := func(ks []SimKiosk) int {
		n := 0
		for _, k := range ks {
			n += k.Accepted
		}
		return n
	}
	kiosksBefore, err := kiosks()
	if err != nil {
		return m, err
	}
	m.start = time.Now()
	if m.atStart, err = usage(); err != nil {
		return m, err
	}
	var extra []*viewer // the viewers beyond the first, while they run
	from, at := m.start, m.atStart
	for i := range phases {
		d := r.cfg.Duration*time.Duration(i+1)/time.Duration(phases) - r.cfg.Duration*time.Duration(i)/time.Duration(phases)
		all := i%2 == 1
		if all {
			r.setPhase(fmt.Sprintf("measuring for %v with %d viewers of %d tiles each (%d of %d)", d, r.cfg.Viewers, len(p.blocks[0]), i+1, phases))
			if err := first.subscribe(p.blocks[0]); err != nil {
				return m, err
			}
			for _, b := range p.blocks[1:] {
				v, err := connect(b)
				if err != nil {
					return m, err
				}
				extra = append(extra, v)
			}
		} else {
			r.setPhase(fmt.Sprintf("measuring for %v with 1 viewer showing %d tiles (%d of %d)", d, len(p.visible), i+1, phases))
			for _, v := range extra {
				v.close()
			}
			extra = nil
			if i > 0 {
				if err := first.subscribe(p.visible); err != nil {
					return m, err
				}
			}
		}
		if err := r.hold(ctx, d); err != nil {
			return m, err
		}
		now := time.Now()
		u, err := usage()
		if err != nil {
			return m, err
		}
		cpu, secs := (u.cpu - at.cpu).Seconds(), now.Sub(from).Seconds()
		if all {
			m.allCPU, m.allSecs = m.allCPU+cpu, m.allSecs+secs
		} else {
			m.oneCPU, m.oneSecs = m.oneCPU+cpu, m.oneSecs+secs
		}
		m.turnCores = append(m.turnCores, cpu/secs)
		from, at = now, u
	}
	m.end = time.Now()
	if m.atEnd, err = usage(); err != nil {
		return m, err
	}
	kiosksAfter, err := kiosks()
	if err != nil {
		return m, err
	}
	res.KioskConnections = accepted(kiosksAfter) - accepted(kiosksBefore)
	m.classes = byClass(kiosksBefore, kiosksAfter, p.visible, m.end.Sub(m.start).Seconds())
	for _, v := range viewers {
		frames, n, failed := v.counts()
		if failed != nil {
			return m, fmt.Errorf("a wall viewer's stream failed: %w", failed)
		}
		m.frames += frames
		m.tileBytes += n
	}
	for _, v := range viewers {
		v.close()
	}
	reading.Wait()
	for _, v := range viewers {
		e, a := v.shown()
		m.views = append(m.views, view{epochs: e, arrivals: a})
	}
	viewers = nil
	return m, nil
}

// hold lets the run go on for d, failing early if a process dies.
func (r *run) hold(ctx context.Context, d time.Duration) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if err := errors.Join(r.server.dead(), r.sim.dead()); err != nil {
			return err
		}
		if !sleep(ctx, min(time.Second, time.Until(end))) {
			return ctx.Err()
		}
	}
	return nil
}

// kioskState is the part of GET /api/kiosks the warm-up reads.
type kioskState struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	Thumbnails uint64 `json:"thumbnails"`
}

// warmup waits until every kiosk that speaks RFB has had a tile (the wall
// has a picture of each), or the limit passes (complete is then false and
// the run goes on). Whether kiosks stay online is the server's business
// and part of what is measured.
func (r *run) warmup(ctx context.Context, serverURL string) (complete bool, err error) {
	serving := 0
	for _, k := range r.kiosks {
		if k.Serves {
			serving++
		}
	}
	deadline := time.Now().Add(r.cfg.WarmupLimit)
	for {
		var ks []kioskState
		if err := getJSON(ctx, r.http, serverURL+"api/kiosks", &ks); err != nil {
			return false, err
		}
		ready, online := 0, 0
		for _, k := range ks {
			if k.Thumbnails > 0 {
				ready++
			}
			if k.State == "online" {
				online++
			}
		}
		r.mu.Lock()
		r.phase = fmt.Sprintf("warm-up: %d of %d kiosks have had a tile, %d online now", ready, serving, online)
		r.mu.Unlock()
		if ready >= serving {
			return true, nil
		}
		if time.Now().After(deadline) {
			r.say("warm-up incomplete after %v: %d of %d kiosks have had a tile; measuring anyway", r.cfg.WarmupLimit, ready, serving)
			return false, nil
		}
		if err := r.hold(ctx, 2*time.Second); err != nil {
			return false, err
		}
	}
}

// baseline plays today's noVNC sessions against a sample of the fleet.
func (r *run) baseline(ctx context.Context) (baselineResult, error) {
	sample := baselineSample(r.kiosks, r.cfg.BaselineKiosks)
	fleet := map[string]int{}
	for _, k := range r.kiosks {
		fleet[k.Behaviour]++
	}
	r.setPhase(fmt.Sprintf("baseline: %d noVNC-like sessions to a sample of the fleet", len(sample)))
	return runBaseline(ctx, sample, fleet, time.Minute, r.cfg.BaselineDuration, r.cfg.Progress)
}

// machine describes where the run happened.
func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, val, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				model = strings.TrimSpace(val)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
					mem = ", " + byteSize(kb<<10) + " RAM"
				}
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s)%s, %s/%s, %s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
