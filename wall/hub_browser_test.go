package wall

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"math"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/memory"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"kioskwall/internal/browser"
	"kioskwall/rfb"
	"kioskwall/rfb/sim"
	"kioskwall/static"
)

// wallSite serves the wall as the wall server does: the page at "/", its
// files beside it, the stream at /ws/wall. The hub can be swapped, which is
// what a page sees when the server restarts.
type wallSite struct {
	hub atomic.Pointer[Hub]
	srv *httptest.Server
}

func newWallSite(t *testing.T, h *Hub) *wallSite {
	s := &wallSite{}
	s.hub.Store(h)
	e := echo.New()
	e.GET("/ws/wall", func(c echo.Context) error { return s.hub.Load().ServeWS(c) })
	e.FileFS("/", "wall.html", static.FS())
	e.StaticFS("/", static.FS())
	// The live page belongs to another part; the wall only links to it.
	e.GET("/kiosk/:id", func(c echo.Context) error {
		return c.HTML(200, "<!doctype html><title>live "+html.EscapeString(c.Param("id"))+"</title>")
	})
	s.srv = httptest.NewServer(e)
	t.Cleanup(s.srv.Close)
	return s
}

// wallFleet is a wall's fleet of real synthetic kiosks: main serves the
// kiosks that stay up; stoppable is one more kiosk (K9001) the test can
// switch off; locked is a kiosk whose password the wall gets wrong (K9002).
type wallFleet struct {
	main      *sim.Fleet
	stoppable *sim.Fleet
	locked    *sim.Fleet
	tiles     *TileStore
	fleet     *Fleet
	targets   []Target
}

func startWallFleet(t *testing.T, kiosks int, base string) *wallFleet {
	t.Helper()
	ctx := t.Context()
	size := image.Point{1280, 720}
	mix := []sim.Behaviour{sim.Idle, sim.Interactive, sim.Carousel, sim.ErrorDialog}
	start := func(cfg sim.Config) *sim.Fleet {
		f, err := sim.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	b := net.ParseIP(base).To4()
	addr := func(off byte) string { return net.IPv4(b[0], b[1], b[2]+off, b[3]).String() }
	w := &wallFleet{
		main:      start(sim.Config{Kiosks: kiosks, BaseAddr: addr(0), Size: size, Seed: 7, Behaviours: mix}),
		stoppable: start(sim.Config{Kiosks: 1, BaseAddr: addr(1), Size: size, Seed: 8, Behaviours: []sim.Behaviour{sim.Carousel}}),
		locked:    start(sim.Config{Kiosks: 1, BaseAddr: addr(2), Size: size, Seed: 9, Password: "right", Behaviours: []sim.Behaviour{sim.Idle}}),
		tiles:     NewTileStore(),
	}
	for _, k := range w.main.Kiosks() {
		w.targets = append(w.targets, Target{ID: k.ID(), Name: k.Name(), Site: k.Site(), Addr: k.Addr(), Kind: "tightvnc"})
	}
	s, l := w.stoppable.Kiosks()[0], w.locked.Kiosks()[0]
	w.targets = append(w.targets,
		Target{ID: "K9001", Name: s.Name(), Site: s.Site(), Addr: s.Addr(), Kind: "tightvnc"},
		Target{ID: "K9002", Name: l.Name(), Site: l.Site(), Addr: l.Addr(), Password: "wrong", Kind: "tightvnc"})
	w.fleet = NewFleet(w.tiles, FleetOptions{
		Backoff: Backoff{Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond, Auth: time.Minute},
		Ramp:    200 * time.Millisecond,
		Logger:  quietLog(),
	})
	t.Cleanup(w.fleet.Close)
	w.fleet.Sync(w.targets)
	return w
}

// tileView is what the page shows for one tile, measured in the browser.
type tileView struct {
	ID     string       `json:"id"`
	Class  string       `json:"cls"`
	Badge  string       `json:"badge"`
	Href   string       `json:"href"`
	Width  int          `json:"w"`
	Height int          `json:"h"`
	Spread float64      `json:"sd"`    // standard deviation of luminance
	Cells  [][3]float64 `json:"cells"` // mean RGB of gridX x gridY cells, row by row
	Border string       `json:"border"`
	Filter string       `json:"filter"`
}

const gridX, gridY = 8, 4

// readTiles decodes every shown tile's picture in the page (drawn on a
// canvas, so it is what the browser really decoded) and measures it.
var readTiles = fmt.Sprintf(`(() => {
  const GX = %d, GY = %d, out = [];
  for (const a of document.querySelectorAll("#grid .tile")) {
    const img = a.querySelector("img");
    const r = {id: a.dataset.id, cls: a.className, badge: a.querySelector(".badge").textContent,
      href: a.getAttribute("href"), w: img.naturalWidth, h: img.naturalHeight, sd: 0, cells: [],
      border: getComputedStyle(a).borderTopColor, filter: getComputedStyle(img).filter};
    if (img.complete && img.naturalWidth > 0) {
      const c = document.createElement("canvas");
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const g = c.getContext("2d");
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const sums = Array.from({length: GX * GY}, () => [0, 0, 0, 0]);
      let s = 0, s2 = 0, n = 0;
      for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
        const i = (y * c.width + x) * 4, l = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
        s += l; s2 += l * l; n++;
        const cell = sums[Math.floor(y * GY / c.height) * GX + Math.floor(x * GX / c.width)];
        cell[0] += d[i]; cell[1] += d[i + 1]; cell[2] += d[i + 2]; cell[3]++;
      }
      r.sd = Math.sqrt(Math.max(0, s2 / n - (s / n) * (s / n)));
      r.cells = sums.map((c) => [c[0] / c[3], c[1] / c[3], c[2] / c[3]]);
    }
    out.push(r);
  }
  return out;
})()`, gridX, gridY)

func tilesOf(t *testing.T, ctx context.Context) map[string]tileView {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](readTiles))
	if err != nil {
		t.Fatalf("reading tiles: %v", err)
	}
	var list []tileView
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("reading tiles: %v", err)
	}
	out := map[string]tileView{}
	for _, v := range list {
		out[v.ID] = v
	}
	return out
}

// screenCells is the mean RGB of the same cells of a kiosk's own screen.
func screenCells(d *rfb.Desktop) [][3]float64 {
	var img *image.RGBA
	d.Draw(func(b *rfb.Buffer) []image.Rectangle {
		img = b.RGBA(b.Bounds())
		return nil
	})
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	sums := make([][4]float64, gridX*gridY)
	for y := range h {
		for x := range w {
			p := img.RGBAAt(x, y)
			c := &sums[(y*gridY/h)*gridX+x*gridX/w]
			c[0] += float64(p.R)
			c[1] += float64(p.G)
			c[2] += float64(p.B)
			c[3]++
		}
	}
	out := make([][3]float64, len(sums))
	for i, s := range sums {
		out[i] = [3]float64{s[0] / s[3], s[1] / s[3], s[2] / s[3]}
	}
	return out
}

// cellDistance is the mean absolute difference of two cell grids, per channel.
func cellDistance(a, b [][3]float64) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.Inf(1)
	}
	sum := 0.0
	for i := range a {
		for c := range 3 {
			sum += math.Abs(a[i][c] - b[i][c])
		}
	}
	return sum / float64(3*len(a))
}

func poll(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(pctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return s
}

// TestWallPageInChromium loads the wall in a real headless Chromium against
// real synthetic kiosks: every tile shows its kiosk's picture, a kiosk that
// stops turns offline, a wrong password turns orange, a click opens the live
// page, and the page comes back by itself after a server restart.
func TestWallPageInChromium(t *testing.T) {
	ctx := browser.Start(t, 1920, 1200)
	const kiosks = 16
	w := startWallFleet(t, kiosks, "127.0.61.1")
	site := newWallSite(t, NewHub(w.tiles, w.fleet, quietLog()))
	t.Cleanup(func() { site.hub.Load().Close() })

	if err := chromedp.Do(ctx, chromedp.Navigate(site.srv.URL+"/?rotate=0&cols=10")); err != nil {
		t.Fatal(err)
	}
	// All kiosks but the locked one have pictures. (A session's very first
	// thumbnail can be blank, before the kiosk's whole screen has arrived,
	// so wait for pictures, not for the first frames.)
	poll(t, ctx, "a picture on every reachable kiosk's tile",
		fmt.Sprintf(`document.querySelectorAll("#grid .tile.has-pic").length >= %d`, kiosks+1), 60*time.Second)
	if p := evalString(t, ctx, `document.getElementById("page-no").textContent`); p != "" {
		t.Fatalf("the %d kiosks take more than one page (%q); the test expects one", kiosks+2, p)
	}
	var tiles map[string]tileView
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		// Pictures may come before the hub's next status poll says the
		// kiosks are online: wait for both.
		tiles = tilesOf(t, ctx)
		notReady := 0
		for _, v := range tiles {
			switch {
			case v.ID == "K9002":
				if !strings.Contains(v.Class, "state-auth_failed") {
					notReady++
				}
			case v.Spread < 8 || !strings.Contains(v.Class, "state-online"):
				notReady++
			}
		}
		if notReady == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(tiles) != kiosks+2 {
		t.Errorf("the page shows %d tiles; want %d", len(tiles), kiosks+2)
	}
	for i, k := range w.main.Kiosks() {
		v, ok := tiles[k.ID()]
		if !ok {
			t.Errorf("no tile for %s", k.ID())
			continue
		}
		if v.Width < 100 || v.Height < 50 || v.Spread < 8 {
			t.Errorf("%s: picture %dx%d with luminance spread %.1f; want a decoded kiosk screen, not a blank", k.ID(), v.Width, v.Height, v.Spread)
		}
		if !strings.Contains(v.Class, "state-online") || v.Href != "kiosk/"+k.ID() {
			t.Errorf("%s: class %q, link %q; want online, linking to kiosk/%s", k.ID(), v.Class, v.Href, k.ID())
		}
		// An idle kiosk's screen holds still (only its clock ticks), so the
		// tile must look like it.
		if k.Behaviour() == sim.Idle {
			d := cellDistance(v.Cells, screenCells(k.Desktop()))
			other := w.main.Kiosks()[(i+2)%kiosks] // a carousel: another picture
			dOther := cellDistance(v.Cells, screenCells(other.Desktop()))
			t.Logf("%s: tile vs its screen %.1f, vs %s's screen %.1f", k.ID(), d, other.ID(), dOther)
			if d > 20 || d >= dOther {
				t.Errorf("%s: tile differs from its kiosk's screen by %.1f per channel (from %s's by %.1f); want a close match", k.ID(), d, other.ID(), dOther)
			}
		}
	}
	if v := tiles["K9002"]; !strings.Contains(v.Class, "state-auth_failed") || !strings.HasPrefix(v.Badge, "auth failed") || v.Border != "rgb(240, 136, 62)" {
		t.Errorf("wrong-password kiosk: class %q, badge %q, border %s; want auth_failed with an orange border", v.Class, v.Badge, v.Border)
	}

	// Switch a kiosk off: its tile turns offline, grey and red.
	if v := tiles["K9001"]; !strings.Contains(v.Class, "state-online") {
		t.Fatalf("K9001 before it stops: %q", v.Class)
	}
	w.stoppable.Close()
	poll(t, ctx, "the stopped kiosk's tile to turn offline", `document.querySelector('.tile[data-id="K9001"]').classList.contains("state-offline")`, 30*time.Second)
	v := tilesOf(t, ctx)["K9001"]
	if !strings.HasPrefix(v.Badge, "offline") || v.Border != "rgb(248, 81, 73)" || !strings.Contains(v.Filter, "grayscale(1)") || v.Width == 0 {
		t.Errorf("stopped kiosk: badge %q, border %s, filter %q, picture %dx%d; want offline, red, its last picture in grey", v.Badge, v.Border, v.Filter, v.Width, v.Height)
	}

	// The server restarts: the page says so, reconnects by itself and
	// gets new pictures again.
	carousel := w.main.Kiosks()[2].ID()
	seqExpr := fmt.Sprintf(`Number(document.querySelector('.tile[data-id=%q]').dataset.seq || 0)`, carousel)
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](seqExpr))
	if err != nil {
		t.Fatal(err)
	}
	site.hub.Load().Close()
	poll(t, ctx, "the disconnected banner", `!document.getElementById("banner").hidden`, 10*time.Second)
	if b := evalString(t, ctx, `document.getElementById("banner").textContent`); !strings.Contains(b, "Reconnecting") {
		t.Errorf("banner %q; want it to say the page is reconnecting", b)
	}
	time.Sleep(time.Second) // a few refused attempts while the server is down
	site.hub.Store(NewHub(w.tiles, w.fleet, quietLog()))
	poll(t, ctx, "the banner to go after the restart", `document.getElementById("banner").hidden`, 20*time.Second)
	poll(t, ctx, "a new picture after the restart", fmt.Sprintf(`%s > %d`, seqExpr, before), 30*time.Second)

	// A click opens the kiosk's live page.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a.tile[data-id="K0001"]`))); err != nil {
		t.Fatal(err)
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/kiosk/K0001") {
		t.Errorf("after a click on K0001's tile the browser is at %q (%v); want /kiosk/K0001", loc, err)
	}
}

// TestWallPageFitsHundredTilesOn4K checks the density the operators need: a
// 3840x2160 screen shows at least 100 kiosks on one page, grouped by site,
// and pages through the rest.
func TestWallPageFitsHundredTilesOn4K(t *testing.T) {
	ctx := browser.Start(t, 3840, 2160)
	// Kiosks nobody answers for: the layout does not need pictures.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tiles := NewTileStore()
	fleet := NewFleet(tiles, FleetOptions{Backoff: Backoff{Initial: time.Minute, Max: time.Minute, Auth: time.Minute}, Logger: quietLog()})
	t.Cleanup(fleet.Close)
	const n = 150
	var targets []Target
	for i := range n {
		targets = append(targets, Target{ID: fmt.Sprintf("K%04d", i+1), Name: fmt.Sprintf("Kiosk %d", i+1), Site: []string{"east", "north", "south", "west"}[i*4/n], Addr: addr})
	}
	fleet.Sync(targets)
	h := NewHub(tiles, fleet, quietLog())
	t.Cleanup(h.Close)
	site := newWallSite(t, h)
	if err := chromedp.Do(ctx, chromedp.Navigate(site.srv.URL+"/?rotate=0")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the tiles", `document.querySelectorAll("#grid .tile").length > 0`, 20*time.Second)
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#grid .tile").length`))
	if err != nil {
		t.Fatal(err)
	}
	sections, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#grid .site").length`))
	overflow, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("#grid .tile")].some((a) => a.getBoundingClientRect().bottom > innerHeight)`))
	pager := evalString(t, ctx, `document.getElementById("page-no").textContent`)
	viewport := evalString(t, ctx, `innerWidth + "x" + innerHeight`)
	t.Logf("4K window (viewport %s): %d tiles in %d site groups on page 1; pager %q", viewport, shown, sections, pager)
	if shown < 100 || overflow || sections < 2 || pager != "page 1 / 2" {
		t.Errorf("4K screen: %d tiles in %d site groups, overflow %v, pager %q; want 100 or more fully visible, grouped by site, 2 pages for %d", shown, sections, overflow, pager, n)
	}
	// Filters: a site and a search narrow the grid.
	if err := chromedp.Do(ctx, chromedp.Navigate(site.srv.URL+"/?rotate=0&site=west&q=kiosk%2014")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "filtered tiles", `document.querySelectorAll("#grid .tile").length > 0`, 20*time.Second)
	ids := evalString(t, ctx, `[...document.querySelectorAll("#grid .tile")].map((a) => a.dataset.id).join(" ")`)
	var want []string
	for _, tg := range targets {
		if tg.Site == "west" && strings.Contains(strings.ToLower(tg.Name), "kiosk 14") {
			want = append(want, tg.ID)
		}
	}
	if ids != strings.Join(want, " ") {
		t.Errorf("site west, search 'kiosk 14': tiles %q; want %q", ids, strings.Join(want, " "))
	}
}

// TestWallPageLongRun runs the wall with rotation for a long time and checks
// that the page does not grow: JS heap and DOM nodes at the end are those of
// the start. It takes 30 minutes, so it runs only with KIOSKWALL_LONG=1;
// KIOSKWALL_LONG_DURATION (a Go duration, such as 3m) shortens it.
func TestWallPageLongRun(t *testing.T) {
	if os.Getenv("KIOSKWALL_LONG") != "1" {
		t.Skip("a 30-minute stability run; set KIOSKWALL_LONG=1 (and KIOSKWALL_LONG_DURATION=3m for a shorter one)")
	}
	duration := 30 * time.Minute
	if s := os.Getenv("KIOSKWALL_LONG_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("KIOSKWALL_LONG_DURATION: %v", err)
		}
		duration = d
	}
	ctx := browser.Start(t, 1280, 720)
	w := startWallFleet(t, 16, "127.0.64.1")
	h := NewHub(w.tiles, w.fleet, quietLog())
	t.Cleanup(h.Close)
	site := newWallSite(t, h)
	// Count the page's live object URLs: a picture whose URL is never
	// revoked keeps its bytes for the life of the page.
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: countObjectURLs}); err != nil {
		t.Fatal(err)
	}
	// Small pages rotating every 5 s: every tile's DOM node and picture is
	// made, shown, hidden and freed over and over.
	if err := chromedp.Do(ctx, chromedp.Navigate(site.srv.URL+"/?rotate=5&cols=4")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "pictures", `document.querySelectorAll("#grid .tile.has-pic").length > 0`, 60*time.Second)
	pages := evalString(t, ctx, `document.getElementById("page-no").textContent`)
	if pages == "" {
		t.Fatalf("the long run needs several pages to rotate through; the page shows one")
	}
	time.Sleep(30 * time.Second) // every page shown at least once
	start := measure(t, ctx)
	t.Logf("start (%s): %v", pages, start)
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		time.Sleep(min(time.Minute, time.Until(end)))
		t.Logf("%v left: %v", time.Until(end).Round(time.Second), measure(t, ctx))
	}
	last := measure(t, ctx)
	t.Logf("end: %v", last)
	if last.Heap > start.Heap*1.25+1<<20 {
		t.Errorf("JS heap grew from %.1f MB to %.1f MB", start.Heap/1e6, last.Heap/1e6)
	}
	if last.Nodes > start.Nodes+100 || last.Listeners > start.Listeners+50 || last.Documents > start.Documents {
		t.Errorf("page grew: start %v, end %v", start, last)
	}
	// At most a shown and a loading picture for each kiosk of two pages
	// (the shown one and the one prefetched).
	if kiosks := len(w.targets); last.ObjectURLs > 2*kiosks || last.ObjectURLs < 1 {
		t.Errorf("%d object URLs alive at the end; want between 1 and %d", last.ObjectURLs, 2*kiosks)
	}
	if got := evalString(t, ctx, `document.getElementById("banner").hidden ? "" : "banner"`); got != "" {
		t.Errorf("the page lost its connection during the run")
	}
}

// countObjectURLs runs before the page's own script and keeps count of the
// object URLs it creates and revokes.
const countObjectURLs = `(() => {
  const create = URL.createObjectURL.bind(URL), revoke = URL.revokeObjectURL.bind(URL);
  const live = new Set();
  URL.createObjectURL = (b) => { const u = create(b); live.add(u); return u; };
  URL.revokeObjectURL = (u) => { live.delete(u); revoke(u); };
  window.liveObjectURLs = () => live.size;
})();`

type pageMetrics struct {
	Heap                        float64 // JS heap in use, bytes, after a full GC
	Nodes, Listeners, Documents int64
	ObjectURLs                  int
}

func (m pageMetrics) String() string {
	return fmt.Sprintf("JS heap %.2f MB, %d DOM nodes, %d event listeners, %d documents, %d object URLs",
		m.Heap/1e6, m.Nodes, m.Listeners, m.Documents, m.ObjectURLs)
}

func measure(t *testing.T, ctx context.Context) pageMetrics {
	t.Helper()
	if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
		t.Fatalf("collecting garbage: %v", err)
	}
	var m pageMetrics
	pm, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range pm.Metrics {
		if x.Name == "JSHeapUsedSize" {
			m.Heap = x.Value
		}
	}
	dc, err := chromedp.Call(ctx, memory.GetDOMCounters, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	m.Nodes, m.Listeners, m.Documents = dc.Nodes, dc.JsEventListeners, dc.Documents
	if m.ObjectURLs, err = chromedp.Run(ctx, chromedp.Evaluate[int](`liveObjectURLs()`)); err != nil {
		t.Fatal(err)
	}
	return m
}
