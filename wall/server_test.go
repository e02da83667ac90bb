package wall

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"kioskwall/rfb"
	"kioskwall/rfb/sim"
)

// apiEnv is a Server in front of real synthetic kiosks, reached over HTTP
// as a browser or script reaches it.
type apiEnv struct {
	t    *testing.T
	srv  *Server
	http *httptest.Server
	logs *apiLogBuffer
}

// apiLogBuffer keeps everything the server logs, so a test can search it.
type apiLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *apiLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *apiLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// apiScreen is the kiosks' desktop size in these tests: 16:10, so that the
// thumbnails are bounded by height, not width.
var apiScreen = image.Pt(640, 400)

// apiFleetOptions make sessions connect at once and retry quickly.
var apiFleetOptions = FleetOptions{
	Ramp:    time.Millisecond,
	Seed:    1,
	Backoff: Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, Auth: time.Minute},
}

// startAPISim starts synthetic kiosks that hold still (virtual time).
func startAPISim(t *testing.T, cfg sim.Config) *sim.Fleet {
	t.Helper()
	cfg.VirtualTime = true
	if cfg.Size == (image.Point{}) {
		cfg.Size = apiScreen
	}
	if cfg.BaseAddr == "" {
		cfg.BaseAddr = "127.0.23.1"
	}
	sf, err := sim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sf.Close() })
	return sf
}

// startAPIServer starts a Server with o (its fleet options defaulting to
// apiFleetOptions) and serves it over HTTP; targets, if any, are synced.
func startAPIServer(t *testing.T, o ServerOptions, targets []Target) *apiEnv {
	t.Helper()
	logs := &apiLogBuffer{}
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Fleet.Ramp == 0 {
		o.Fleet = apiFleetOptions
	}
	srv, err := NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	if targets != nil {
		srv.Fleet().Sync(targets)
	}
	return &apiEnv{t: t, srv: srv, http: hs, logs: logs}
}

// apiTargets lists the kiosks of a sim fleet, each with password pw.
func apiTargets(sf *sim.Fleet, pw string) []Target {
	var out []Target
	for _, k := range sf.Kiosks() {
		out = append(out, Target{ID: k.ID(), Name: k.Name(), Site: k.Site(), Addr: k.Addr(), Password: pw, Kind: "tightvnc"})
	}
	return out
}

// get fetches path and returns status, headers and body; every body the
// server sends is kept so that a test can search them all.
func (e *apiEnv) get(path string) (int, http.Header, []byte) {
	e.t.Helper()
	resp, err := http.Get(e.http.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// getJSON fetches path, expects status want and decodes the body into v.
func (e *apiEnv) getJSON(path string, want int, v any) {
	e.t.Helper()
	code, h, body := e.get(path)
	if code != want {
		e.t.Fatalf("GET %s: status %d, want %d; body %s", path, code, want, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Fatalf("GET %s: Content-Type %q, want JSON", path, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		e.t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// kiosks lists the kiosks through the API, by id.
func (e *apiEnv) kiosks(query string) map[string]KioskInfo {
	e.t.Helper()
	var list []KioskInfo
	e.getJSON("/api/kiosks"+query, http.StatusOK, &list)
	out := map[string]KioskInfo{}
	for _, k := range list {
		out[k.ID] = k
	}
	return out
}

// waitKiosk polls the API until kiosk id satisfies cond.
func (e *apiEnv) waitKiosk(id, what string, cond func(KioskInfo) bool) KioskInfo {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var k KioskInfo
		e.getJSON("/api/kiosks/"+id, http.StatusOK, &k)
		if cond(k) {
			return k
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("kiosk %s: timed out waiting until %s; last seen %+v", id, what, k)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func apiHasPicture(k KioskInfo) bool {
	return k.State == StateOnline && k.Thumbnails > 0 && k.TileSeq > 0
}

func TestAPIListsOnlineKiosks(t *testing.T) {
	sf := startAPISim(t, sim.Config{Kiosks: 4, Seed: 3, Behaviours: []sim.Behaviour{sim.Idle, sim.Carousel, sim.Interactive, sim.ErrorDialog}})
	e := startAPIServer(t, ServerOptions{}, apiTargets(sf, ""))
	for _, k := range sf.Kiosks() {
		e.waitKiosk(k.ID(), "it has a picture", apiHasPicture)
	}

	// The raw JSON has every documented field, rtt_ms null while no
	// round trip has been measured.
	_, _, body := e.get("/api/kiosks")
	var raw []map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 4 {
		t.Fatalf("%d kiosks listed, want 4", len(raw))
	}
	for _, field := range []string{"id", "name", "site", "kind", "state", "reason", "message", "since", "last_update",
		"thumbnails", "bytes_in", "width", "height", "viewers", "tile_seq", "tile_stale", "rtt_ms", "confirmed"} {
		if _, ok := raw[0][field]; !ok {
			t.Errorf("kiosk JSON has no %q field: %v", field, raw[0])
		}
	}

	got := e.kiosks("")
	for _, k := range sf.Kiosks() {
		g := got[k.ID()]
		if g.Name != k.Name() || g.Site != k.Site() || g.Kind != "tightvnc" {
			t.Errorf("kiosk %s listed as name %q site %q kind %q; want %q %q tightvnc", k.ID(), g.Name, g.Site, g.Kind, k.Name(), k.Site())
		}
		if g.State != StateOnline || g.Reason != "" || g.Thumbnails == 0 || g.BytesIn == 0 || g.LastUpdate == nil || g.TileStale {
			t.Errorf("kiosk %s: %+v; want online, no reason, thumbnails, bytes, a last update, a fresh tile", k.ID(), g)
		}
		if g.Width != apiScreen.X || g.Height != apiScreen.Y {
			t.Errorf("kiosk %s: size %dx%d, want %v", k.ID(), g.Width, g.Height, apiScreen)
		}
	}

	// Filters: by site, by state, and lists of either.
	site := sf.Kiosks()[0].Site()
	for id, k := range e.kiosks("?site=" + site) {
		if k.Site != site {
			t.Errorf("?site=%s listed %s of site %s", site, id, k.Site)
		}
	}
	if n := len(e.kiosks("?state=online")); n != 4 {
		t.Errorf("?state=online listed %d kiosks, want 4", n)
	}
	if n := len(e.kiosks("?state=offline,auth_failed")); n != 0 {
		t.Errorf("?state=offline,auth_failed listed %d kiosks, want 0", n)
	}
	if n := len(e.kiosks("?site=nowhere")); n != 0 {
		t.Errorf("?site=nowhere listed %d kiosks, want 0", n)
	}
	var bad apiErrorBody
	e.getJSON("/api/kiosks?state=sleeping", http.StatusBadRequest, &bad)
	if !strings.Contains(bad.Error, "auth_failed") {
		t.Errorf("a bad state filter should list the states; got %q", bad.Error)
	}
}

// apiMeanDiff is the mean absolute difference of the RGB channels of two
// images of the same size, and 255 for different sizes.
func apiMeanDiff(a, b image.Image) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 255
	}
	var sum, n float64
	ra, rb := a.Bounds(), b.Bounds()
	for y := 0; y < ra.Dy(); y++ {
		for x := 0; x < ra.Dx(); x++ {
			r1, g1, b1, _ := a.At(ra.Min.X+x, ra.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(rb.Min.X+x, rb.Min.Y+y).RGBA()
			for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
				sum += float64(max(d, -d))
			}
			n += 3
		}
	}
	return sum / n
}

// shrink makes an independent reference thumbnail: each output pixel is
// the mean of the source pixels its box covers.
func apiShrink(src image.Image, w, h int) *image.RGBA {
	sb := src.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			x0, x1 := sb.Dx()*x/w, sb.Dx()*(x+1)/w
			y0, y1 := sb.Dy()*y/h, sb.Dy()*(y+1)/h
			var r, g, b, n uint32
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					cr, cg, cb, _ := src.At(sb.Min.X+sx, sb.Min.Y+sy).RGBA()
					r, g, b, n = r+cr>>8, g+cg>>8, b+cb>>8, n+1
				}
			}
			i := out.PixOffset(x, y)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = uint8(r/n), uint8(g/n), uint8(b/n), 255
		}
	}
	return out
}

// apiKioskPicture is what a synthetic kiosk's screen shows now.
func apiKioskPicture(k *sim.Kiosk) *image.RGBA {
	var img *image.RGBA
	k.Desktop().Draw(func(b *rfb.Buffer) []image.Rectangle {
		img = b.RGBA(b.Bounds())
		return nil
	})
	return img
}

// waitScreen polls a kiosk's thumbnail until it shows the kiosk's screen
// (a session may publish a picture before the screen's content arrives)
// and returns the last answer.
func (e *apiEnv) waitScreen(k *sim.Kiosk, query string, w, h int) (http.Header, []byte) {
	e.t.Helper()
	path := "/api/kiosks/" + k.ID() + "/thumbnail.jpg" + query
	want := apiShrink(apiKioskPicture(k), w, h)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, hdr, body := e.get(path)
		if code != http.StatusOK {
			e.t.Fatalf("GET %s: %d %s", path, code, body)
		}
		img, err := jpeg.Decode(bytes.NewReader(body))
		if err != nil {
			e.t.Fatalf("GET %s: not a JPEG: %v", path, err)
		}
		if got := img.Bounds().Size(); got != image.Pt(w, h) {
			e.t.Fatalf("GET %s: %v, want %dx%d", path, got, w, h)
		}
		// 8 bpp colour, box filtering and JPEG all blur; a different
		// picture differs by far more than this.
		d := apiMeanDiff(img, want)
		if d <= 12 {
			return hdr, body
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("GET %s: still differs from the kiosk's screen by %.1f per channel on average", path, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAPIThumbnailJPEG(t *testing.T) {
	sf := startAPISim(t, sim.Config{Kiosks: 1, Seed: 5, Behaviours: []sim.Behaviour{sim.Idle}})
	e := startAPIServer(t, ServerOptions{}, apiTargets(sf, ""))
	k := sf.Kiosks()[0]
	e.waitKiosk(k.ID(), "it has a picture", apiHasPicture)

	// A 640x400 screen in a 320x180 box is bounded by the height: 288x180;
	// in 640x360, 576x360.
	for _, tc := range []struct {
		query string
		w, h  int
	}{
		{"", 288, 180},
		{"?size=small", 288, 180},
		{"?size=large", 576, 360},
	} {
		path := "/api/kiosks/" + k.ID() + "/thumbnail.jpg" + tc.query
		h, _ := e.waitScreen(k, tc.query, tc.w, tc.h)
		if h.Get("Content-Type") != "image/jpeg" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Content-Type %q, Cache-Control %q", path, h.Get("Content-Type"), h.Get("Cache-Control"))
		}

		// The ETag is the tile's seq: a poller holding it gets 304.
		etag := h.Get("ETag")
		if len(etag) < 3 || etag[0] != '"' {
			t.Fatalf("GET %s: ETag %q, want a quoted seq", path, etag)
		}
		req, _ := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
		req.Header.Set("If-None-Match", etag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match %s: %d, want 304", path, etag, resp.StatusCode)
		}
	}

	var bad apiErrorBody
	e.getJSON("/api/kiosks/"+k.ID()+"/thumbnail.jpg?size=huge", http.StatusBadRequest, &bad)
	if !strings.Contains(bad.Error, "small") {
		t.Errorf("a bad size should name the sizes; got %q", bad.Error)
	}
}

func TestAPIScreenPNG(t *testing.T) {
	sf := startAPISim(t, sim.Config{Kiosks: 2, Seed: 7, Behaviours: []sim.Behaviour{sim.Interactive, sim.Refusing}})
	e := startAPIServer(t, ServerOptions{}, apiTargets(sf, ""))
	k, refusing := sf.Kiosks()[0], sf.Kiosks()[1]
	e.waitKiosk(k.ID(), "it has a picture", apiHasPicture)

	code, h, body := e.get("/api/kiosks/" + k.ID() + "/screen.png")
	if code != http.StatusOK || h.Get("Content-Type") != "image/png" {
		t.Fatalf("screen.png: %d %q %s", code, h.Get("Content-Type"), body)
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Size() != apiScreen {
		t.Fatalf("screen.png is %v, want the kiosk's full %v", img.Bounds().Size(), apiScreen)
	}
	// The session runs at 8 bpp (3 bits of red and green, 2 of blue), so
	// every channel may be off by up to half a step, blue by up to 43.
	if d := apiMeanDiff(img, apiKioskPicture(k)); d > 20 {
		t.Errorf("screen.png differs from the kiosk's screen by %.1f per channel on average", d)
	}

	e.waitKiosk(refusing.ID(), "it is offline", func(k KioskInfo) bool { return k.State == StateOffline })
	var msg apiErrorBody
	e.getJSON("/api/kiosks/"+refusing.ID()+"/screen.png", http.StatusServiceUnavailable, &msg)
	if !strings.Contains(msg.Error, "no picture") {
		t.Errorf("screen.png of a kiosk without a picture: %q", msg.Error)
	}
	e.getJSON("/api/kiosks/"+refusing.ID()+"/thumbnail.jpg", http.StatusNotFound, &msg)
	if !strings.Contains(msg.Error, "no small thumbnail") {
		t.Errorf("thumbnail of a kiosk without a picture: %q", msg.Error)
	}
}

// TestAPIFailuresAndNoPassword: a refusing kiosk is offline (refused), a
// wrong password is auth_failed, and neither the right password nor the
// wrong one appears in any answer, metric or log line.
func TestAPIFailuresAndNoPassword(t *testing.T) {
	const password, wrong = "Pw-0f-Kiosk", "Wr0ng-Pw"
	sf := startAPISim(t, sim.Config{Kiosks: 3, Seed: 11, Password: password,
		Behaviours: []sim.Behaviour{sim.Idle, sim.Refusing, sim.Idle}})
	targets := apiTargets(sf, password)
	targets[2].Password = wrong
	e := startAPIServer(t, ServerOptions{}, targets)

	ok, refused, denied := targets[0].ID, targets[1].ID, targets[2].ID
	e.waitKiosk(ok, "it has a picture", apiHasPicture)
	r := e.waitKiosk(refused, "it is offline", func(k KioskInfo) bool { return k.State == StateOffline })
	if r.Reason != rfb.FailRefused || r.Message == "" {
		t.Errorf("refusing kiosk: reason %q message %q; want refused and a message", r.Reason, r.Message)
	}
	d := e.waitKiosk(denied, "its login failed", func(k KioskInfo) bool { return k.State == StateAuthFailed })
	if d.Reason != rfb.FailAuth {
		t.Errorf("kiosk with a wrong password: reason %q, want %q", d.Reason, rfb.FailAuth)
	}

	var all bytes.Buffer
	for _, path := range []string{
		"/api/kiosks", "/api/kiosks/" + ok, "/api/kiosks/" + denied, "/api/kiosks/" + refused,
		"/api/stats", "/healthz", "/metrics",
		"/api/kiosks/" + ok + "/thumbnail.jpg", "/api/kiosks/" + ok + "/screen.png",
	} {
		code, h, body := e.get(path)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
		for name, vs := range h {
			all.WriteString(name + ": " + strings.Join(vs, ",") + "\n")
		}
		all.Write(body)
	}
	for _, pw := range []string{password, wrong} {
		if bytes.Contains(all.Bytes(), []byte(pw)) {
			t.Errorf("a response contains the password %q", pw)
		}
		if strings.Contains(e.logs.String(), pw) {
			t.Errorf("the log contains the password %q", pw)
		}
	}
}

func TestAPIErrorsAreJSON(t *testing.T) {
	e := startAPIServer(t, ServerOptions{}, []Target{{ID: "K1", Name: "one", Site: "west", Addr: "127.0.0.1:1"}})
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/api/kiosks/NOPE", http.StatusNotFound, `unknown kiosk "NOPE"`},
		{"/api/kiosks/NOPE/thumbnail.jpg", http.StatusNotFound, `unknown kiosk "NOPE"`},
		{"/api/kiosks/NOPE/screen.png", http.StatusNotFound, `unknown kiosk "NOPE"`},
		{"/api/nothing", http.StatusNotFound, "/api/nothing"},
		{"/nothing.html", http.StatusNotFound, "/nothing.html"},
		{"/api/kiosks/K1/screen.png", http.StatusServiceUnavailable, "no picture yet"},
	} {
		var body apiErrorBody
		e.getJSON(tc.path, tc.code, &body)
		if !strings.Contains(body.Error, tc.want) {
			t.Errorf("GET %s: error %q, want it to say %q", tc.path, body.Error, tc.want)
		}
	}
}

func TestServerServesPages(t *testing.T) {
	e := startAPIServer(t, ServerOptions{}, nil)
	code, h, body := e.get("/")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("wall.js")) {
		t.Errorf("GET /: %d %q, want the wall page", code, h.Get("Content-Type"))
	}
	code, h, _ = e.get("/wall.js")
	if code != http.StatusOK || !strings.Contains(h.Get("Content-Type"), "javascript") {
		t.Errorf("GET /wall.js: %d %q", code, h.Get("Content-Type"))
	}
	// No way out of the embedded pages, and no directory listings.
	for _, path := range []string{"/../go.mod", "/%2e%2e/go.mod", "/.", "/static.go"} {
		if code, _, body := e.get(path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", path, code, body)
		}
	}
}

func TestAPIStatsAndHealth(t *testing.T) {
	sf := startAPISim(t, sim.Config{Kiosks: 4, Seed: 13, Behaviours: []sim.Behaviour{sim.Idle, sim.Idle, sim.Idle, sim.Refusing}})
	e := startAPIServer(t, ServerOptions{}, apiTargets(sf, ""))
	ks := sf.Kiosks()
	for _, k := range ks[:3] {
		e.waitKiosk(k.ID(), "it has a picture", apiHasPicture)
	}
	e.waitKiosk(ks[3].ID(), "it is offline", func(k KioskInfo) bool { return k.State == StateOffline })

	sumBySite := func() map[string]int64 {
		m := map[string]int64{}
		for _, k := range e.kiosks("") {
			m[k.Site] += k.BytesIn
		}
		return m
	}
	before := sumBySite()
	var st Stats
	e.getJSON("/api/stats", http.StatusOK, &st)
	after := sumBySite()

	if st.Kiosks["total"] != 4 || st.Kiosks["online"] != 3 || st.Kiosks["offline"] != 1 || st.Kiosks["auth_failed"] != 0 {
		t.Errorf("stats kiosks %v; want 4 in all, 3 online, 1 offline", st.Kiosks)
	}
	var total int64
	for _, s := range st.Sites {
		if s.BytesIn < before[s.Site] || s.BytesIn > after[s.Site] {
			t.Errorf("site %s: stats say %d bytes in; the kiosks say %d to %d", s.Site, s.BytesIn, before[s.Site], after[s.Site])
		}
		total += s.BytesIn
		if s.Kiosks["total"] == 0 {
			t.Errorf("site %s listed without kiosks", s.Site)
		}
	}
	if total != st.BytesIn || total == 0 {
		t.Errorf("stats bytes_in %d, sum over sites %d", st.BytesIn, total)
	}
	if st.WindowSeconds != 10 || st.InventoryProblems == nil {
		t.Errorf("window_seconds %v, inventory_problems %v; want 10 and []", st.WindowSeconds, st.InventoryProblems)
	}

	var h struct {
		Status string         `json:"status"`
		Kiosks map[string]int `json:"kiosks"`
	}
	e.getJSON("/healthz", http.StatusOK, &h)
	if h.Status != "ok" || h.Kiosks["online"] != 3 || h.Kiosks["offline"] != 1 || h.Kiosks["total"] != 4 {
		t.Errorf("healthz %+v", h)
	}
}

// TestServerTilesSurviveRestart: a second server on the same data dir shows
// the first one's pictures, stale, until the kiosk confirms them.
func TestServerTilesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	sf := startAPISim(t, sim.Config{Kiosks: 1, Seed: 17, Behaviours: []sim.Behaviour{sim.Idle}})
	targets := apiTargets(sf, "")
	id := targets[0].ID

	first := startAPIServer(t, ServerOptions{DataDir: dir}, targets)
	first.waitKiosk(id, "it has a picture", apiHasPicture)
	_, saved := first.waitScreen(sf.Kiosks()[0], "?size=large", 576, 360)
	before := first.kiosks("")[id]
	first.http.Close()
	if err := first.srv.Close(); err != nil {
		t.Fatal(err)
	}

	// The second server's kiosk cannot connect until gate opens.
	gate := make(chan struct{})
	o := ServerOptions{DataDir: dir, Fleet: apiFleetOptions}
	o.Fleet.Dial = func(ctx context.Context, tg Target) (net.Conn, error) {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", tg.Addr)
	}
	o.Fleet.DialTimeout = time.Minute
	second := startAPIServer(t, o, targets)
	k := second.kiosks("")[id]
	if !k.TileStale || k.TileSeq != before.TileSeq || k.LastUpdate == nil {
		t.Errorf("after restart: tile_stale %v seq %d last_update %v; want the saved tile (seq %d), stale", k.TileStale, k.TileSeq, k.LastUpdate, before.TileSeq)
	}
	if _, _, body := second.get("/api/kiosks/" + id + "/thumbnail.jpg?size=large"); !bytes.Equal(body, saved) {
		t.Errorf("after restart the thumbnail is not the saved one")
	}
	close(gate)
	fresh := second.waitKiosk(id, "the kiosk confirmed its picture", func(k KioskInfo) bool { return !k.TileStale })
	if fresh.TileSeq <= before.TileSeq {
		t.Errorf("fresh tile seq %d, want above the saved %d", fresh.TileSeq, before.TileSeq)
	}
}
