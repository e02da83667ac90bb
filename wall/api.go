package wall

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"kioskwall/rfb"
)

// KioskInfo is one kiosk as GET /api/kiosks shows it (docs/api.md). It has
// no password field, so no code path can put one in a response.
type KioskInfo struct {
	ID      string      `json:"id"`
	Name    string      `json:"name"`
	Site    string      `json:"site"`
	Kind    string      `json:"kind"`
	State   State       `json:"state"`
	Reason  rfb.Failure `json:"reason"`
	Message string      `json:"message"`
	Since   time.Time   `json:"since"`
	// LastUpdate is when the picture the wall shows last changed; null
	// before the first picture.
	LastUpdate *time.Time `json:"last_update"`
	// Confirmed is when the kiosk last proved the picture current: an update
	// or a probe answered. A picture unchanged for an hour on a kiosk that
	// answered a second ago is fresh. Null before the first answer.
	Confirmed  *time.Time `json:"confirmed"`
	Thumbnails uint64     `json:"thumbnails"`
	BytesIn    int64      `json:"bytes_in"`
	Width      int        `json:"width"`
	Height     int        `json:"height"`
	Format     string     `json:"format"`
	Viewers    int        `json:"viewers"`
	TileSeq    uint64     `json:"tile_seq"`
	TileStale  bool       `json:"tile_stale"`
	RTTms      *float64   `json:"rtt_ms"` // null until measured
	// Watched: some wall page shows the kiosk's tile. MaxAgeMS is how old
	// (since Confirmed) its picture may get while watched, 0 while not
	// watched; Overdue: it is older, because the budget did not allow
	// keeping it fresh.
	Watched  bool  `json:"watched"`
	MaxAgeMS int64 `json:"max_age_ms"`
	Overdue  bool  `json:"overdue"`
}

// apiErrorBody is the body of every error answer.
type apiErrorBody struct {
	Error string `json:"error"`
}

func apiError(c echo.Context, code int, format string, args ...any) error {
	return c.JSON(code, apiErrorBody{Error: fmt.Sprintf(format, args...)})
}

// kioskInfo describes one session. The picture's age and seq are those of
// the largest tile, the one a saved and reloaded wall shows too.
func (s *Server) kioskInfo(sess *Session) KioskInfo {
	t, st := sess.Target(), sess.Status()
	k := KioskInfo{
		ID: t.ID, Name: t.Name, Site: t.Site, Kind: t.Kind,
		State: st.State, Reason: st.Reason, Message: st.Message, Since: st.Since.UTC(),
		Thumbnails: st.Thumbnails, BytesIn: st.BytesIn,
		Width: st.Width, Height: st.Height, Format: st.Format, Viewers: st.Viewers,
		Watched: st.Watched, MaxAgeMS: st.MaxAge.Milliseconds(), Overdue: st.Overdue,
	}
	updated := st.LastUpdate
	if tile, ok := s.tiles.Get(t.ID, ""); ok {
		k.TileSeq, k.TileStale, updated = tile.Seq, tile.Stale, tile.Updated
	}
	if !updated.IsZero() {
		u := updated.UTC()
		k.LastUpdate = &u
	}
	if !st.Confirmed.IsZero() {
		c := st.Confirmed.UTC()
		k.Confirmed = &c
	}
	if st.RTT > 0 {
		ms := float64(st.RTT) / float64(time.Millisecond)
		k.RTTms = &ms
	}
	return k
}

// listKiosks serves GET /api/kiosks[?site=A,B][&state=S,T], ordered by
// site, then id.
func (s *Server) listKiosks(c echo.Context) error {
	sites := splitList(c.QueryParam("site"))
	states := splitList(c.QueryParam("state"))
	for _, st := range states {
		if !slices.Contains(allStates, State(st)) {
			return apiError(c, http.StatusBadRequest, "state %q is not a kiosk state; use %s", st, stateNames())
		}
	}
	out := []KioskInfo{} // [] rather than null for an empty fleet
	for _, sess := range s.fleet.Sessions() {
		k := s.kioskInfo(sess)
		if len(sites) > 0 && !slices.Contains(sites, k.Site) || len(states) > 0 && !slices.Contains(states, string(k.State)) {
			continue
		}
		out = append(out, k)
	}
	return c.JSON(http.StatusOK, out)
}

// splitList reads a filter such as "west,east"; empty means no filter.
func splitList(q string) []string {
	var out []string
	for v := range strings.SplitSeq(q, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func stateNames() string {
	names := make([]string, len(allStates))
	for i, st := range allStates {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// session finds the kiosk of the :id route parameter. When there is none it
// answers 404 itself and returns nil, with the error of writing the answer.
func (s *Server) session(c echo.Context) (*Session, error) {
	id := c.Param("id")
	if sess, ok := s.fleet.Session(id); ok {
		return sess, nil
	}
	return nil, apiError(c, http.StatusNotFound, "unknown kiosk %q: no kiosk of the inventory has that id", id)
}

// getKiosk serves GET /api/kiosks/:id.
func (s *Server) getKiosk(c echo.Context) error {
	sess, err := s.session(c)
	if sess == nil {
		return err
	}
	return c.JSON(http.StatusOK, s.kioskInfo(sess))
}

// thumbnail serves GET /api/kiosks/:id/thumbnail.jpg[?size=NAME]: the
// latest tile, whose seq is its ETag, so that a poller that sends
// If-None-Match gets 304 until the picture changes.
func (s *Server) thumbnail(c echo.Context) error {
	sess, err := s.session(c)
	if sess == nil {
		return err
	}
	size := c.QueryParam("size")
	if size == "" {
		size = s.renditions[0]
	}
	if !slices.Contains(s.renditions, size) {
		return apiError(c, http.StatusBadRequest, "size %q is not a thumbnail size; use %s", size, strings.Join(s.renditions, " or "))
	}
	id := sess.Target().ID
	// Renditions no page shows are encoded only now and then: bring them
	// up to date for this reader.
	if err := sess.RefreshTiles(); err != nil {
		s.log.Warn("thumbnail: encoding", "kiosk", id, "err", err)
	}
	tile, ok := s.tiles.Get(id, size)
	if !ok {
		st := sess.Status()
		return apiError(c, http.StatusNotFound, "kiosk %s has no %s thumbnail yet (state %s: %s)", id, size, st.State, st.Message)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	etag := `"` + strconv.FormatUint(tile.Seq, 10) + `"`
	h.Set("ETag", etag)
	h.Set("Last-Modified", tile.Updated.UTC().Format(http.TimeFormat))
	if c.Request().Header.Get("If-None-Match") == etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "image/jpeg", tile.JPEG)
}

// screen serves GET /api/kiosks/:id/screen.png: the kiosk's screen at full
// resolution as last decoded, lossless (up to the pixel format the session
// runs in: 8 bpp in thumbnail mode, 32 bpp while someone watches live).
func (s *Server) screen(c echo.Context) error {
	sess, err := s.session(c)
	if sess == nil {
		return err
	}
	st := sess.Status()
	if st.LastUpdate.IsZero() {
		return apiError(c, http.StatusServiceUnavailable, "kiosk %s has no picture yet (state %s: %s)", sess.Target().ID, st.State, st.Message)
	}
	var img *image.RGBA
	sess.Desktop().Draw(func(b *rfb.Buffer) []image.Rectangle {
		img = b.RGBA(b.Bounds())
		return nil
	})
	var buf bytes.Buffer
	// A kiosk screen is mostly flat colour: the fastest level is nearly as
	// small and several times quicker than the default.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return fmt.Errorf("encoding the screen of kiosk %s: %w", sess.Target().ID, err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", buf.Bytes())
}

// stateCounts is the number of kiosks in every state, zeros included, and
// their total.
func stateCounts(m map[State]int) map[string]int {
	out := map[string]int{"total": 0}
	for _, st := range allStates {
		out[string(st)] = m[st]
		out["total"] += m[st]
	}
	return out
}

// healthz serves GET /healthz: 200 while the server runs, with what an
// operator checks first.
func (s *Server) healthz(c echo.Context) error {
	fs := s.meter.sample(false)
	return c.JSON(http.StatusOK, struct {
		Status            string         `json:"status"`
		Kiosks            map[string]int `json:"kiosks"`
		InventoryProblems []problemInfo  `json:"inventory_problems"`
	}{"ok", stateCounts(fs.states), s.problemInfos()})
}

// SiteStats are one site's figures in GET /api/stats.
type SiteStats struct {
	Site       string         `json:"site"`
	BytesIn    int64          `json:"bytes_in"`
	BytesInBPS float64        `json:"bytes_in_bps"`
	Thumbnails uint64         `json:"thumbnails"`
	Viewers    int            `json:"viewers"`
	Kiosks     map[string]int `json:"kiosks"`
}

// Stats is the body of GET /api/stats.
type Stats struct {
	Time              time.Time      `json:"time"`
	WindowSeconds     float64        `json:"window_seconds"`
	BytesIn           int64          `json:"bytes_in"`
	BytesInBPS        float64        `json:"bytes_in_bps"`
	Thumbnails        uint64         `json:"thumbnails"`
	Viewers           int            `json:"viewers"`
	Kiosks            map[string]int `json:"kiosks"`
	Sites             []SiteStats    `json:"sites"`
	InventoryProblems []problemInfo  `json:"inventory_problems"`
	// Budgets are the bandwidth caps and how close the lines come to
	// them; absent when the server meters no lines.
	Budgets *BudgetReport `json:"budgets,omitempty"`
}

// BudgetReport is the budgets' part of GET /api/stats.
type BudgetReport struct {
	Total BudgetLine   `json:"total"`
	Sites []BudgetLine `json:"sites"`
}

// BudgetLine is one line of BudgetReport: its figures, and its rate
// against its cap said plainly, so that a script or a page need not know
// that both are in bits per second.
type BudgetLine struct {
	BudgetStats
	// Utilization is BPS / CapBPS: 1 is a line at its cap. Null for a
	// line without a cap of its own.
	Utilization *float64 `json:"utilization"`
}

func reportLine(st BudgetStats) BudgetLine {
	l := BudgetLine{BudgetStats: st}
	if st.CapBPS > 0 {
		u := float64(st.BPS) / float64(st.CapBPS)
		l.Utilization = &u
	}
	return l
}

// stats serves GET /api/stats.
func (s *Server) stats(c echo.Context) error {
	fs := s.meter.sample(false)
	out := Stats{
		Time: fs.at.UTC(), WindowSeconds: rateWindow.Seconds(),
		BytesIn: fs.bytes, BytesInBPS: fs.bps, Thumbnails: fs.thumbs, Viewers: fs.viewers,
		Kiosks: stateCounts(fs.states), Sites: []SiteStats{}, InventoryProblems: s.problemInfos(),
	}
	if s.budgets != nil {
		out.Budgets = &BudgetReport{Total: reportLine(s.budgets.Total()), Sites: []BudgetLine{}}
		for _, st := range s.budgets.Stats() {
			out.Budgets.Sites = append(out.Budgets.Sites, reportLine(st))
		}
	}
	for _, name := range fs.siteList {
		ss := fs.sites[name]
		out.Sites = append(out.Sites, SiteStats{
			Site: name, BytesIn: ss.bytes, BytesInBPS: ss.bps, Thumbnails: ss.thumbs,
			Viewers: ss.viewers, Kiosks: stateCounts(ss.states),
		})
	}
	return c.JSON(http.StatusOK, out)
}
