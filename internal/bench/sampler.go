package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// sampler reads the counters of the server and the kiosks twice a second,
// and the kiosks' changes once a second, while the server runs.
type sampler struct {
	http      *http.Client
	serverURL string // http://127.0.0.1:port/
	simURL    string
	serverPID int
	progress  io.Writer
	status    func() string // what the run is doing, for progress lines

	mu       sync.Mutex
	server   series
	sim      series
	usage    []usageAt
	changes  []change
	from     int64 // the next change number to ask the kiosks for
	lost     int64
	errors   int   // readings that failed
	lastErr  error // the latest of them
	lastLine time.Time
}

type usageAt struct {
	at time.Time
	procUsage
}

// samplePeriod is how often byte counters are read: the worst 10-second
// window spans 10 to 10.5 s.
const samplePeriod = 500 * time.Millisecond

// run samples until ctx ends.
func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(samplePeriod)
	defer t.Stop()
	for i := 0; ; i++ {
		s.sample(ctx, i%2 == 0)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serverStats is the part of GET /api/stats the benchmark reads.
type serverStats struct {
	BytesIn int64 `json:"bytes_in"`
	Sites   []struct {
		Site    string `json:"site"`
		BytesIn int64  `json:"bytes_in"`
	} `json:"sites"`
}

func (s *sampler) sample(ctx context.Context, withChanges bool) {
	var st serverStats
	var ss SimStats
	err := getJSON(ctx, s.http, s.serverURL+"api/stats", &st)
	at := time.Now()
	if err == nil {
		err = getJSON(ctx, s.http, s.simURL+"stats", &ss)
	}
	var u procUsage
	if err == nil {
		u, err = readUsage(s.serverPID)
	}
	var cs SimChanges
	if err == nil && withChanges {
		err = getJSON(ctx, s.http, s.simURL+"changes?from="+strconv.FormatInt(s.from, 10), &cs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			s.errors++
			s.lastErr = err
		}
		return
	}
	sv := counts{at: at, total: st.BytesIn, sites: map[string]int64{}}
	for _, site := range st.Sites {
		sv.sites[site.Site] = site.BytesIn
	}
	s.server = append(s.server, sv)
	s.sim = append(s.sim, counts{at: time.UnixMicro(ss.TimeUS), total: ss.BytesSent, sites: ss.Sites})
	s.usage = append(s.usage, usageAt{at, u})
	if withChanges {
		s.from, s.lost = cs.Next, s.lost+cs.Lost
		s.changes = append(s.changes, changesOf(cs.Changes)...)
	}
	if at.Sub(s.lastLine) >= 10*time.Second {
		s.lastLine = at
		fmt.Fprintf(s.progress, "bench: %s; last 10 s: server read %s, kiosks sent %s; server %.2f cores, %s resident\n",
			s.status(), bitRate(s.server.rate("", at.Add(-10*time.Second), at)), bitRate(s.sim.rate("", at.Add(-10*time.Second), at)),
			s.cores(at.Add(-10*time.Second), at), byteSize(u.rss))
	}
}

// cores is the server's CPU seconds per second between two moments, from
// the readings nearest them; the lock is held.
func (s *sampler) cores(from, to time.Time) float64 {
	var a, b *usageAt
	for i := range s.usage {
		u := &s.usage[i]
		if a == nil && !u.at.Before(from) {
			a = u
		}
		if !u.at.After(to) {
			b = u
		}
	}
	if a == nil || b == nil || !b.at.After(a.at) {
		return 0
	}
	return (b.cpu - a.cpu).Seconds() / b.at.Sub(a.at).Seconds()
}

func changesOf(cs []SimChange) []change {
	out := make([]change, len(cs))
	for i, c := range cs {
		out[i] = change{kiosk: c.Kiosk, at: time.UnixMicro(c.AtUS)}
		if c.ComposedUS != 0 {
			out[i].composed = time.UnixMicro(c.ComposedUS)
		}
	}
	return out
}

// finish reads the changes still outstanding and those no update carried
// yet, once the run is over.
func (s *sampler) finish(ctx context.Context) error {
	var cs SimChanges
	s.mu.Lock()
	from := s.from
	s.mu.Unlock()
	if err := getJSON(ctx, s.http, s.simURL+"changes?pending=1&from="+strconv.FormatInt(from, 10), &cs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.from, s.lost = cs.Next, s.lost+cs.Lost
	s.changes = append(s.changes, changesOf(cs.Changes)...)
	s.changes = append(s.changes, changesOf(cs.Pending)...)
	return nil
}

// bitRate formats bytes per second as bits per second.
func bitRate(bytesPerSec float64) string {
	bps := bytesPerSec * 8
	switch {
	case bps >= 1e6:
		return fmt.Sprintf("%.2f Mbit/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bps)
}

// byteSize formats a byte count.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
