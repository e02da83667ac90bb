package wall

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskwall/config"
	"kioskwall/internal/browser"
	"kioskwall/rfb/sim"
)

// lineView is one leased line as the wall page shows it in its header.
type lineView struct {
	Site  string `json:"site"`
	Class string `json:"cls"`
	Rate  string `json:"rate"`
	Fill  string `json:"fill"`
	Title string `json:"title"`
}

const readLines = `[...document.querySelectorAll("#lines .line")].map((e) => ({site: e.dataset.site, cls: e.className,
  rate: e.querySelector(".line-rate").textContent, fill: e.querySelector(".fill").style.width, title: e.title}))`

func linesOf(t *testing.T, ctx context.Context) map[string]lineView {
	t.Helper()
	list, err := chromedp.Run(ctx, chromedp.Evaluate[[]lineView](readLines))
	if err != nil {
		t.Fatalf("reading the lines: %v", err)
	}
	out := map[string]lineView{}
	for _, l := range list {
		out[l.Site] = l
	}
	return out
}

// TestWallPageLinesAndOverdue loads the wall in a real headless Chromium
// from a whole Server (page, wall stream and API as served) whose kiosks are
// real synthetic kiosks (rfb/sim) on three leased lines, two of them capped.
// The header shows every line's rate against its cap; when the caps change
// (Budgets.SetCaps, as a config reload does) it follows; a watched kiosk
// whose line is cut to a trickle gets its picture no more, turns overdue in
// the API and on its tile, and comes back when the line does.
func TestWallPageLinesAndOverdue(t *testing.T) {
	ctx := browser.Start(t, 1920, 1080)
	start := func(base string, n int, b sim.Behaviour) *sim.Fleet {
		f, err := sim.Start(t.Context(), sim.Config{Kiosks: n, BaseAddr: base, Size: image.Pt(1920, 1080), Seed: 11, Behaviours: []sim.Behaviour{b}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	// west: one carousel kiosk, whose every slide is a whole new screen;
	// east: capped, idle; north: no cap of its own.
	fleets := map[string]*sim.Fleet{
		"west":  start("127.0.67.1", 1, sim.Carousel),
		"east":  start("127.0.68.1", 2, sim.Idle),
		"north": start("127.0.69.1", 1, sim.Idle),
	}
	var targets []Target
	for site, f := range fleets {
		for _, k := range f.Kiosks() {
			targets = append(targets, Target{ID: site + "-" + k.ID(), Name: k.Name(), Site: site, Addr: k.Addr(), Kind: "tightvnc"})
		}
	}
	west := "west-" + fleets["west"].Kiosks()[0].ID()
	caps := func(westCap config.Bandwidth) config.Budgets {
		return config.Budgets{Total: 40 * config.Mbit, Sites: map[string]config.Bandwidth{"west": westCap, "east": 2 * config.Mbit}}
	}
	budgets := NewBudgets(caps(8*config.Mbit), BudgetOptions{})
	const maxAge = 3 * time.Second
	srv, err := NewServer(ServerOptions{Logger: quietLog(), Fleet: FleetOptions{
		Budgets:  budgets,
		Schedule: Schedule{MaxAge: maxAge},
		Backoff:  Backoff{Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond, Auth: time.Minute},
		Ramp:     100 * time.Millisecond,
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	srv.Fleet().Sync(targets)

	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/?rotate=0")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "a picture on every tile", fmt.Sprintf(`document.querySelectorAll("#grid .tile.has-pic").length >= %d`, len(targets)), 60*time.Second)
	poll(t, ctx, "the total and the three sites in the header", `document.querySelectorAll("#lines .line").length === 4`, 20*time.Second)

	// Rates against caps; the line without a cap shows its rate alone.
	lines := linesOf(t, ctx)
	for _, want := range []struct{ site, cap string }{{"", "40 Mbit/s"}, {"west", "8 Mbit/s"}, {"east", "2 Mbit/s"}} {
		l := lines[want.site]
		// "1.2 / 2 Mbit/s", or "610 bit/s / 40 Mbit/s" for a rate too small
		// for the cap's unit.
		rate := regexp.MustCompile(`^\d+(\.\d+)?( (bit|kbit|Mbit)/s)? / ` + regexp.QuoteMeta(want.cap) + `$`)
		if !rate.MatchString(l.Rate) || !strings.Contains(l.Class, "capped") || l.Fill == "" {
			t.Errorf("line %q: %+v; want its rate against its cap of %s, with a bar", want.site, l, want.cap)
		}
	}
	if l := lines["north"]; !regexp.MustCompile(`^\d+(\.\d+)? (bit|kbit|Mbit)/s$`).MatchString(l.Rate) || strings.Contains(l.Class, "capped") {
		t.Errorf("uncapped line north: %+v; want its rate alone, no bar", l)
	}
	if !strings.Contains(lines["west"].Title, "of its 8 Mbit/s cap") || !strings.Contains(lines[""].Title, "slots in use") {
		t.Errorf("line titles %q, %q; want the cap and the request slots said in full", lines["west"].Title, lines[""].Title)
	}
	if !strings.Contains(lines["west"].Title, "busiest 10 s since ") {
		t.Errorf("line title %q; want from when its busiest window counts (cap_since)", lines["west"].Title)
	}
	if evalString(t, ctx, `document.querySelector('.tile[data-id="`+west+`"]').className`) == "" {
		t.Fatalf("no tile for %s", west)
	}

	// Cut west to a trickle: once the bucket's burst is spent, each slide
	// of the carousel (a few KB) takes many seconds to arrive, so its
	// picture is no longer confirmed within the maximum age.
	budgets.SetCaps(caps(2 * config.Kbit))
	poll(t, ctx, "the west line to show its new cap", `document.querySelector('#lines .line[data-site="west"] .line-rate').textContent.endsWith(" / 2 kbit/s")`, 20*time.Second)
	tile := `document.querySelector('.tile[data-id="` + west + `"]')`
	poll(t, ctx, "the overdue mark on "+west, tile+`.classList.contains("overdue")`, 60*time.Second)
	late := evalString(t, ctx, tile+`.querySelector(".late").textContent`)
	m := regexp.MustCompile(`^(\d+) s old$`).FindStringSubmatch(late)
	if m == nil {
		t.Errorf("overdue mark says %q; want how old the picture is, such as \"4 s old\"", late)
	} else if s, _ := strconv.Atoi(m[1]); time.Duration(s)*time.Second < maxAge-time.Second {
		t.Errorf("overdue mark says %q; the picture is overdue only past %v", late, maxAge)
	}
	if shown := evalString(t, ctx, `getComputedStyle(`+tile+`.querySelector(".late")).display`); shown == "none" {
		t.Error("the overdue mark is hidden")
	}
	if c := evalString(t, ctx, `document.getElementById("counts").textContent`); !strings.Contains(c, "1 overdue") {
		t.Errorf("header counts %q; want 1 overdue", c)
	}
	k := kioskFromAPI(t, hs.URL, west)
	if !k.Watched || k.MaxAgeMS != maxAge.Milliseconds() || k.State != StateOnline || k.Confirmed == nil {
		t.Errorf("API while the tile is marked: watched %v, max_age_ms %d, state %s, confirmed %v; want watched, %d, online, a time",
			k.Watched, k.MaxAgeMS, k.State, k.Confirmed, maxAge.Milliseconds())
	}

	// The line comes back: the slide arrives and the mark goes.
	budgets.SetCaps(caps(8 * config.Mbit))
	poll(t, ctx, "the overdue mark to go", `!`+tile+`.classList.contains("overdue")`, 60*time.Second)
	if late := evalString(t, ctx, tile+`.querySelector(".late").textContent`); late != "" {
		t.Errorf("mark of a kiosk no longer overdue says %q", late)
	}
	if k := kioskFromAPI(t, hs.URL, west); k.Overdue {
		t.Errorf("API: %s still overdue after its line came back", west)
	}
	poll(t, ctx, "the west line to show its cap again", `document.querySelector('#lines .line[data-site="west"] .line-rate').textContent.endsWith(" / 8 Mbit/s")`, 20*time.Second)
}

func kioskFromAPI(t *testing.T, base, id string) KioskInfo {
	t.Helper()
	resp, err := http.Get(base + "/api/kiosks/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var k KioskInfo
	if err := json.NewDecoder(resp.Body).Decode(&k); err != nil {
		t.Fatalf("/api/kiosks/%s: %v", id, err)
	}
	return k
}
