package wall

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// allStates lists every State in the order the API and metrics show them.
var allStates = []State{StateConnecting, StateOnline, StateOffline, StateAuthFailed, StateError}

// rateWindow is the span /api/stats measures bytes_in_bps over: long enough
// to smooth the bursts of one-second update pacing, short enough to show a
// line filling up.
const rateWindow = 10 * time.Second

// meter turns the sessions' counters into per-site totals that only grow.
// A session's own counters start over when its kiosk is re-pointed and go
// away when the kiosk leaves the inventory; a Prometheus counter must not,
// so the meter adds what each session gained since it last looked.
type meter struct {
	fleet *Fleet
	now   func() time.Time

	mu     sync.Mutex
	seen   map[*Session]sessionCounts // what each session had at the last look
	totals map[string]*siteTotals     // by site: everything ever counted
	window []rateSample               // one per tick, the oldest first
}

type sessionCounts struct {
	bytes  int64
	thumbs uint64
}

type siteTotals struct {
	bytes  int64
	thumbs uint64
}

// rateSample is the byte totals at one moment, for the rate window.
type rateSample struct {
	at    time.Time
	total int64
	sites map[string]int64
}

// fleetSample is the fleet at one moment, as the API and metrics report it.
type fleetSample struct {
	at       time.Time
	states   map[State]int
	bytes    int64 // RFB bytes received, since the server started
	thumbs   uint64
	viewers  int
	bps      float64 // bits per second over the rate window; 0 before it has two samples
	sites    map[string]*siteSample
	siteList []string // sites in sample order: by name
}

type siteSample struct {
	states  map[State]int
	bytes   int64
	thumbs  uint64
	viewers int
	bps     float64
}

func newMeter(f *Fleet, now func() time.Time) *meter {
	return &meter{fleet: f, now: now, seen: map[*Session]sessionCounts{}, totals: map[string]*siteTotals{}}
}

// sample looks at every session, brings the totals up to date and returns
// the fleet as it is now. tick records the sample in the rate window.
func (m *meter) sample(tick bool) fleetSample {
	sessions := m.fleet.Sessions() // ordered by site, then id
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	fs := fleetSample{at: now, states: map[State]int{}, sites: map[string]*siteSample{}}
	site := func(name string) *siteSample {
		s := fs.sites[name]
		if s == nil {
			s = &siteSample{states: map[State]int{}}
			fs.sites[name] = s
		}
		return s
	}
	current := make(map[*Session]sessionCounts, len(sessions))
	for _, s := range sessions {
		t, st := s.Target(), s.Status()
		c := sessionCounts{bytes: st.BytesIn, thumbs: st.Thumbnails}
		prev := m.seen[s]
		if c.bytes < prev.bytes || c.thumbs < prev.thumbs {
			prev = sessionCounts{} // counters that went back started over
		}
		tot := m.totals[t.Site]
		if tot == nil {
			tot = &siteTotals{}
			m.totals[t.Site] = tot
		}
		tot.bytes += c.bytes - prev.bytes
		tot.thumbs += c.thumbs - prev.thumbs
		current[s] = c

		ss := site(t.Site)
		ss.states[st.State]++
		ss.viewers += st.Viewers
		fs.states[st.State]++
		fs.viewers += st.Viewers
	}
	m.seen = current
	rs := rateSample{at: now, sites: make(map[string]int64, len(m.totals))}
	for name, tot := range m.totals {
		ss := site(name)
		ss.bytes, ss.thumbs = tot.bytes, tot.thumbs
		fs.bytes += tot.bytes
		fs.thumbs += tot.thumbs
		rs.total += tot.bytes
		rs.sites[name] = tot.bytes
	}
	if old, ok := m.oldest(now); ok {
		secs := now.Sub(old.at).Seconds()
		fs.bps = float64(rs.total-old.total) * 8 / secs
		for name, ss := range fs.sites {
			ss.bps = float64(ss.bytes-old.sites[name]) * 8 / secs
		}
	}
	if tick {
		m.window = append(m.window, rs)
		for len(m.window) > 1 && now.Sub(m.window[1].at) >= rateWindow {
			m.window = m.window[1:]
		}
	}
	for name := range fs.sites {
		fs.siteList = append(fs.siteList, name)
	}
	slices.Sort(fs.siteList)
	return fs
}

// oldest returns the sample the rate is measured from: the newest one at
// least rateWindow old, or the oldest there is while the window fills.
func (m *meter) oldest(now time.Time) (rateSample, bool) {
	for i := len(m.window) - 1; i >= 0; i-- {
		if now.Sub(m.window[i].at) >= rateWindow {
			return m.window[i], true
		}
	}
	if len(m.window) > 0 && now.After(m.window[0].at) {
		return m.window[0], true
	}
	return rateSample{}, false
}

// Metrics: labels are site and state only. A per-kiosk label would give a
// fleet of thousands thousands of series per metric; per-kiosk detail is in
// the API.
var (
	descKiosks = prometheus.NewDesc("kioskwall_kiosks",
		"Kiosks in the inventory, by site and session state.", []string{"site", "state"}, nil)
	descBytes = prometheus.NewDesc("kioskwall_rfb_received_bytes_total",
		"RFB bytes received from the kiosks of a site since the server started.", []string{"site"}, nil)
	descThumbs = prometheus.NewDesc("kioskwall_thumbnails_published_total",
		"Thumbnail pictures published (one per picture change, all renditions) by the kiosks of a site since the server started.", []string{"site"}, nil)
	descViewers = prometheus.NewDesc("kioskwall_live_viewers",
		"Live viewers watching the kiosks of a site now.", []string{"site"}, nil)
	descProblems = prometheus.NewDesc("kioskwall_inventory_problems",
		"Problems found in the inventory files at the latest reload (see /api/stats).", nil, nil)
)

// fleetCollector reports the fleet to Prometheus when it is scraped.
type fleetCollector struct {
	m        *meter
	problems func() int
}

func (c fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descKiosks, descBytes, descThumbs, descViewers, descProblems} {
		ch <- d
	}
}

func (c fleetCollector) Collect(ch chan<- prometheus.Metric) {
	fs := c.m.sample(false)
	for _, name := range fs.siteList {
		ss := fs.sites[name]
		for _, st := range allStates {
			ch <- prometheus.MustNewConstMetric(descKiosks, prometheus.GaugeValue, float64(ss.states[st]), name, string(st))
		}
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(ss.bytes), name)
		ch <- prometheus.MustNewConstMetric(descThumbs, prometheus.CounterValue, float64(ss.thumbs), name)
		ch <- prometheus.MustNewConstMetric(descViewers, prometheus.GaugeValue, float64(ss.viewers), name)
	}
	ch <- prometheus.MustNewConstMetric(descProblems, prometheus.GaugeValue, float64(c.problems()))
}

// metricsHandler serves the fleet's metrics and the Go runtime's, from a
// registry of its own rather than the process-wide default one.
func metricsHandler(m *meter, problems func() int) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(fleetCollector{m: m, problems: problems},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
