package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Result is a run's figures. Units are in the names: _bps is bits per
// second, bytes_per_sec bytes per second, _ms milliseconds.
type Result struct {
	// The scenario.
	Kiosks         int            `json:"kiosks"`
	Size           string         `json:"size"`
	Mix            string         `json:"mix"`
	Behaviours     map[string]int `json:"behaviours"` // kiosks dealt each behaviour
	LatencyMS      float64        `json:"latency_ms"` // added to every write of a kiosk
	Seed           uint64         `json:"seed"`
	CapBPS         int64          `json:"cap_bps"`
	SiteCapBPS     int64          `json:"site_cap_bps"`
	Viewers        int            `json:"viewers"`
	TilesPerViewer int            `json:"tiles_per_viewer"`
	VisibleKiosks  int            `json:"visible_kiosks"`
	Machine        string         `json:"machine"`

	WarmupSeconds   float64 `json:"warmup_seconds"`
	WarmupComplete  bool    `json:"warmup_complete"` // every kiosk had a tile before the measurement
	MeasuredSeconds float64 `json:"measured_seconds"`
	// KioskConnections is how many connections the kiosks accepted during
	// the measurement: 0 for a server that holds its one session per kiosk.
	KioskConnections int `json:"kiosk_connections"`

	// RFB bytes over the measurement: read by the server, and written by
	// the kiosks (counted at their sockets).
	BytesPerSec            float64 `json:"bytes_per_sec"`
	SimBytesPerSec         float64 `json:"sim_bytes_per_sec"`
	BytesPerKioskPerMin    float64 `json:"bytes_per_kiosk_per_min"`
	SimBytesPerKioskPerMin float64 `json:"sim_bytes_per_kiosk_per_min"`
	// The worst 10-second window of the whole run, warm-up included.
	WorstWindowBPS    float64 `json:"worst_window_bps"`
	SimWorstWindowBPS float64 `json:"sim_worst_window_bps"`
	// CapsHeld: the total and every site stayed at or below 1.05 x cap in
	// every window, by the server's count.
	CapsHeld bool         `json:"caps_held"`
	Sites    []SiteResult `json:"sites"`
	// Classes says where the bytes go, by behaviour and whether a viewer
	// shows the kiosk.
	Classes []ClassResult `json:"classes"`

	// The baseline: noVNC's defaults, one session per kiosk.
	BaselineBytesPerSec float64            `json:"baseline_bytes_per_sec"`
	BaselineKiosks      int                `json:"baseline_kiosks"` // sampled
	BaselineSeconds     float64            `json:"baseline_seconds"`
	BaselinePerKiosk    map[string]float64 `json:"baseline_per_kiosk_bytes_per_sec"` // by behaviour
	BaselineFailed      int                `json:"baseline_failed"`
	BaselineRatio       float64            `json:"baseline_ratio"` // baseline bytes / kioskwall bytes

	// Freshness of visible tiles, per (change, viewer showing the kiosk).
	FreshnessP50MS   float64 `json:"freshness_p50_ms"`
	FreshnessP95MS   float64 `json:"freshness_p95_ms"`
	FreshnessP99MS   float64 `json:"freshness_p99_ms"`
	FreshnessSamples int     `json:"freshness_samples"`
	FreshnessChanges int     `json:"freshness_changes"`
	FreshnessUnseen  int     `json:"freshness_unseen"`  // no tile by the end: counted at their age then
	FreshnessDropped int     `json:"freshness_dropped"` // the viewer changed tiles first: not counted
	ChangesLost      int64   `json:"changes_lost"`      // the kiosks dropped them before they were read
	FreshWindows     int     `json:"fresh_windows"`     // 10-s windows with samples
	FreshWindowsOK   int     `json:"fresh_windows_ok"`  // of which p95 <= 2 s

	// The server process alone.
	CPUCores           float64   `json:"cpu_cores"` // CPU seconds per second over the measurement
	CPUCoresOneViewer  float64   `json:"cpu_cores_one_viewer"`
	CPUCoresAllViewers float64   `json:"cpu_cores_all_viewers"`
	ViewersCPUExtra    float64   `json:"viewers_cpu_extra"` // all/one - 1
	ViewerTurns        int       `json:"viewer_turns"`      // alternating turns of one viewer and all
	TurnCPUCores       []float64 `json:"turn_cpu_cores"`    // each turn's, one viewer first
	RSSBytes           int64     `json:"rss_bytes"`         // at the end of the measurement
	RSSPeakBytes       int64     `json:"rss_peak_bytes"`
	RSSBytesPerKiosk   float64   `json:"rss_bytes_per_kiosk"`
	TileFrames         int64     `json:"tile_frames"` // received by all viewers
	TileBytes          int64     `json:"tile_bytes"`
	SampleErrors       int       `json:"sample_errors"` // counter readings that failed
}

// SiteResult is one site (one leased line).
type SiteResult struct {
	Site              string  `json:"site"`
	Kiosks            int     `json:"kiosks"`
	CapBPS            int64   `json:"cap_bps"`
	BytesPerSec       float64 `json:"bytes_per_sec"`
	SimBytesPerSec    float64 `json:"sim_bytes_per_sec"`
	WorstWindowBPS    float64 `json:"worst_window_bps"`
	SimWorstWindowBPS float64 `json:"sim_worst_window_bps"`
}

// scenario starts the result with what was run.
func (r *run) scenario() *Result {
	res := &Result{
		Kiosks: len(r.kiosks), Size: r.cfg.Size, Mix: r.cfg.Mix, Behaviours: map[string]int{},
		LatencyMS: float64(r.cfg.Latency) / float64(time.Millisecond), Seed: r.cfg.Seed,
		CapBPS: int64(r.cfg.Cap), SiteCapBPS: int64(r.cfg.SiteCap),
		Viewers: r.cfg.Viewers, TilesPerViewer: r.cfg.TilesPerViewer, Machine: machine(),
	}
	for _, k := range r.kiosks {
		res.Behaviours[k.Behaviour]++
	}
	return res
}

// figures fills in the measured figures.
func (r *run) figures(res *Result, s *sampler, m measured) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res.MeasuredSeconds = m.end.Sub(m.start).Seconds()
	res.BytesPerSec = s.server.rate("", m.start, m.end)
	res.SimBytesPerSec = s.sim.rate("", m.start, m.end)
	perMin := 60 / float64(max(1, res.Kiosks))
	res.BytesPerKioskPerMin, res.SimBytesPerKioskPerMin = res.BytesPerSec*perMin, res.SimBytesPerSec*perMin
	res.WorstWindowBPS, _ = s.server.worstWindow("", capWindow)
	res.SimWorstWindowBPS, _ = s.sim.worstWindow("", capWindow)
	res.CapsHeld = res.WorstWindowBPS <= capMargin*float64(res.CapBPS)
	perSite := map[string]int{}
	for _, k := range r.kiosks {
		perSite[k.Site]++
	}
	for _, site := range r.sites {
		sr := SiteResult{Site: site, Kiosks: perSite[site], CapBPS: res.SiteCapBPS,
			BytesPerSec: s.server.rate(site, m.start, m.end), SimBytesPerSec: s.sim.rate(site, m.start, m.end)}
		sr.WorstWindowBPS, _ = s.server.worstWindow(site, capWindow)
		sr.SimWorstWindowBPS, _ = s.sim.worstWindow(site, capWindow)
		res.CapsHeld = res.CapsHeld && sr.WorstWindowBPS <= capMargin*float64(sr.CapBPS)
		res.Sites = append(res.Sites, sr)
	}

	res.Classes = m.classes

	f := measureFreshness(s.changes, m.views, m.start, m.end.Add(-freshnessTail), m.end, capWindow, freshnessTarget)
	ms := func(p float64) float64 { return float64(percentile(f.ages, p)) / float64(time.Millisecond) }
	res.FreshnessP50MS, res.FreshnessP95MS, res.FreshnessP99MS = ms(0.50), ms(0.95), ms(0.99)
	res.FreshnessSamples, res.FreshnessChanges = len(f.ages), f.changes
	res.FreshnessUnseen, res.FreshnessDropped, res.ChangesLost = f.unseen, f.dropped, s.lost
	res.FreshWindows, res.FreshWindowsOK = f.windows, f.windowsOK

	cores := func(a, b procUsage, from, to time.Time) float64 {
		return (b.cpu - a.cpu).Seconds() / to.Sub(from).Seconds()
	}
	res.CPUCores = cores(m.atStart, m.atEnd, m.start, m.end)
	res.CPUCoresOneViewer = m.oneCPU / max(m.oneSecs, 1e-9)
	res.CPUCoresAllViewers = res.CPUCoresOneViewer
	if m.allSecs > 0 {
		res.CPUCoresAllViewers = m.allCPU / m.allSecs
	}
	res.TurnCPUCores = m.turnCores
	if res.CPUCoresOneViewer > 0 {
		res.ViewersCPUExtra = res.CPUCoresAllViewers/res.CPUCoresOneViewer - 1
	}
	res.RSSBytes, res.RSSPeakBytes = m.atEnd.rss, m.atEnd.rssPeak
	res.RSSBytesPerKiosk = float64(res.RSSBytes) / float64(max(1, res.Kiosks))
	res.TileFrames, res.TileBytes = m.frames, m.tileBytes
	res.SampleErrors = s.errors
	if s.errors > 0 {
		r.say("%d counter readings failed; the last: %v", s.errors, s.lastErr)
	}
}

func (res *Result) setBaseline(b baselineResult) {
	res.BaselineBytesPerSec, res.BaselineKiosks, res.BaselineSeconds = b.bytesPerSec, b.sampled, b.seconds
	res.BaselinePerKiosk, res.BaselineFailed = b.perKiosk, b.failed
	if res.BytesPerSec > 0 {
		res.BaselineRatio = b.bytesPerSec / res.BytesPerSec
	}
	for i := range res.Classes {
		res.Classes[i].BaselinePerKiosk = b.perKiosk[res.Classes[i].Behaviour]
	}
}

// WriteText writes the figures for people, with the targets.
func (res *Result) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	var mix []string
	for _, b := range sortedKeys(res.Behaviours) {
		mix = append(mix, fmt.Sprintf("%d %s", res.Behaviours[b], b))
	}
	p("kioskwall bench: %d synthetic %s kiosks (%s; mix %s), each write delayed %.0f ms, seed %d",
		res.Kiosks, res.Size, strings.Join(mix, ", "), res.Mix, res.LatencyMS, res.Seed)
	p("  caps: %s total, %s per site (%d sites); %d viewers x %d tiles over %d visible kiosks",
		bitRate(float64(res.CapBPS)/8), bitRate(float64(res.SiteCapBPS)/8), len(res.Sites), res.Viewers, res.TilesPerViewer, res.VisibleKiosks)
	warm := "every kiosk had had a tile"
	if !res.WarmupComplete {
		warm = "NOT every kiosk had had a tile"
	}
	p("  machine: %s", res.Machine)
	p("  measured %.0f s after a %.0f s warm-up (%s); 1 viewer showing all visible tiles and all viewers in alternating turns (%d)",
		res.MeasuredSeconds, res.WarmupSeconds, warm, res.ViewerTurns)
	p("  the kiosks accepted %d new connections while measured (a server holding its sessions makes none but the encoding policy's trial, one a kind a day)", res.KioskConnections)
	p("")
	p("RFB bytes      server read %s = %s per kiosk per minute; the kiosks sent %s (%+.1f%%)",
		bitRate(res.BytesPerSec), byteSize(int64(res.BytesPerKioskPerMin)), bitRate(res.SimBytesPerSec), pctDiff(res.SimBytesPerSec, res.BytesPerSec))
	p("worst 10 s     %s = %.2f x cap (at most %.2f x); kiosks' count %s; caps held: %s",
		bitRate(res.WorstWindowBPS/8), res.WorstWindowBPS/float64(res.CapBPS), capMargin, bitRate(res.SimWorstWindowBPS/8), yesNo(res.CapsHeld))
	for _, s := range res.Sites {
		p("  site %-8s %4d kiosks: %s on average; worst 10 s %s = %.2f x its cap (kiosks' count %s)",
			s.Site, s.Kiosks, bitRate(s.BytesPerSec), bitRate(s.WorstWindowBPS/8), s.WorstWindowBPS/float64(s.CapBPS), bitRate(s.SimWorstWindowBPS/8))
	}
	p("baseline       noVNC defaults (32 bpp, Tight, quality 6, compression 2, a request per update), %d kiosks sampled for %.0f s and scaled by behaviour: %s",
		res.BaselineKiosks, res.BaselineSeconds, bitRate(res.BaselineBytesPerSec))
	p("               kioskwall reads %.1f x fewer bytes (target at least 20 x)", res.BaselineRatio)
	if len(res.Classes) > 0 {
		p("               where the bytes go (the kiosks' count), each class against its kiosks' baseline:")
		for _, c := range res.Classes {
			against := "no baseline"
			if c.BaselinePerKiosk > 0 && c.BytesPerSecPerKiosk > 0 {
				against = fmt.Sprintf("%.1f x fewer than %.0f B/s", c.BaselinePerKiosk/c.BytesPerSecPerKiosk, c.BaselinePerKiosk)
			}
			p("                 %-22s %4d kiosks %6.0f B/s each %5.1f%% of the bytes (%s)",
				c.Class, c.Kiosks, c.BytesPerSecPerKiosk, 100*c.Share, against)
		}
	}
	p("freshness      change on a kiosk to a tile showing it on a viewer: p50 %s, p95 %s, p99 %s (target p95 <= 2 s)",
		msText(res.FreshnessP50MS), msText(res.FreshnessP95MS), msText(res.FreshnessP99MS))
	p("               %d samples of %d changes; %d had no tile by the end (counted at that age), %d left when the viewers changed; p95 <= 2 s in %d of %d 10-s windows",
		res.FreshnessSamples, res.FreshnessChanges, res.FreshnessUnseen, res.FreshnessDropped, res.FreshWindowsOK, res.FreshWindows)
	p("server         %.2f cores (target at most 1); 1 viewer %.2f, %d viewers %.2f: %+.1f%% (target at most +10%%)",
		res.CPUCores, res.CPUCoresOneViewer, res.Viewers, res.CPUCoresAllViewers, 100*res.ViewersCPUExtra)
	if len(res.TurnCPUCores) > 1 {
		// The turns show how much the fleet alone moves the figure.
		turns := make([]string, len(res.TurnCPUCores))
		for i, c := range res.TurnCPUCores {
			turns[i] = fmt.Sprintf("%.2f", c)
		}
		p("               cores in each turn, 1 viewer first: %s", strings.Join(turns, " "))
	}
	p("               %s resident (%s per kiosk), peak %s (target at most 4 GB); viewers received %d tiles, %s",
		byteSize(res.RSSBytes), byteSize(int64(res.RSSBytesPerKiosk)), byteSize(res.RSSPeakBytes), res.TileFrames, byteSize(res.TileBytes))
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func pctDiff(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return 100 * (a - b) / b
}

func msText(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
