package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"kioskwall/rfb/sim"
)

// The synthetic kiosks run in a process of their own (`kioskwall sim
// -stats-addr`), so that their drawing and encoding never count as the
// server's CPU. They tell the benchmark what they know over HTTP: the bytes
// they wrote (counted at their sockets, independently of the server's
// count) and when their content changed and left them in an update.

// SimStats is GET /stats: bytes written to viewers since the fleet started.
type SimStats struct {
	TimeUS    int64            `json:"time_us"` // Unix microseconds
	BytesSent int64            `json:"bytes_sent"`
	Sites     map[string]int64 `json:"sites"` // bytes_sent by site
}

// SimKiosk is one kiosk in GET /kiosks.
type SimKiosk struct {
	ID          string `json:"id"`
	Site        string `json:"site"`
	Behaviour   string `json:"behaviour"`
	Addr        string `json:"addr"`
	Serves      bool   `json:"serves"` // it speaks RFB (refusing and hanging-up kiosks do not)
	BytesSent   int64  `json:"bytes_sent"`
	Connections int    `json:"connections"` // open now
	Accepted    int    `json:"accepted"`    // since the fleet started
}

// SimChanges is GET /changes?from=N[&pending=1]: content changes (page
// changes, clicks, keys; never clock ticks) in the order the kiosks composed
// them into an update (see sim.Change).
type SimChanges struct {
	Next    int64       `json:"next"` // the from of the next poll
	Lost    int64       `json:"lost"` // changes dropped before this poll read them
	Changes []SimChange `json:"changes"`
	// Pending, asked for with pending=1, are the changes no update has
	// carried yet.
	Pending []SimChange `json:"pending,omitempty"`
}

// SimChange is one change; times are Unix microseconds of the machine's
// clock, which the benchmark's viewers share. ComposedUS is 0 while pending.
type SimChange struct {
	Kiosk      string `json:"kiosk"`
	AtUS       int64  `json:"at_us"`
	ComposedUS int64  `json:"composed_us,omitempty"`
}

// ServeSimStats serves f's counts and changes on ln until ctx ends.
func ServeSimStats(ctx context.Context, ln net.Listener, f *sim.Fleet) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, SimStats{TimeUS: time.Now().UnixMicro(), BytesSent: f.BytesSent(), Sites: f.BytesSentBySite()})
	})
	mux.HandleFunc("GET /kiosks", func(w http.ResponseWriter, r *http.Request) {
		out := make([]SimKiosk, 0, len(f.Kiosks()))
		for _, k := range f.Kiosks() {
			out = append(out, SimKiosk{
				ID: k.ID(), Site: k.Site(), Behaviour: k.Behaviour().String(), Addr: k.Addr(),
				Serves: k.Desktop() != nil, BytesSent: k.BytesSent(), Connections: k.Connections(), Accepted: k.Accepted(),
			})
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /changes", func(w http.ResponseWriter, r *http.Request) {
		from, err := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64)
		if err != nil || from < 0 {
			http.Error(w, "from must be the next number of the previous answer (0 at first)", http.StatusBadRequest)
			return
		}
		cs, next, lost := f.Changes(from)
		out := SimChanges{Next: next, Lost: lost, Changes: simChanges(cs)}
		if r.URL.Query().Get("pending") == "1" {
			out.Pending = simChanges(f.PendingChanges())
		}
		writeJSON(w, out)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sim stats: %w", err)
	}
	return nil
}

func simChanges(cs []sim.Change) []SimChange {
	out := make([]SimChange, len(cs))
	for i, c := range cs {
		out[i] = SimChange{Kiosk: c.Kiosk, AtUS: c.At.UnixMicro()}
		if !c.Composed.IsZero() {
			out[i].ComposedUS = c.Composed.UnixMicro()
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// getJSON fetches url into v, within a few seconds: a stats endpoint that
// takes longer is part of a machine too loaded to measure.
func getJSON(ctx context.Context, c *http.Client, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}
