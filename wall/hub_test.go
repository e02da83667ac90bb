package wall

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"kioskwall/thumbs"
)

// testHubOptions are short timings so that tests see pings, polls and
// dropped pages in milliseconds.
var testHubOptions = hubOptions{
	pollInterval: 20 * time.Millisecond,
	pingInterval: time.Second,
	writeWait:    2 * time.Second,
	maxSubs:      64,
	maxMessage:   16 << 10,
}

type hubEnv struct {
	hub   *Hub
	tiles *TileStore
	fleet *Fleet
	srv   *httptest.Server
	url   string
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// startHub serves a hub over a real HTTP server through Echo, as the wall
// server does.
func startHub(t *testing.T, o hubOptions, fo FleetOptions) *hubEnv {
	t.Helper()
	tiles := NewTileStore()
	fo.Logger = quietLog()
	fleet := NewFleet(tiles, fo)
	h := newHub(tiles, fleet, quietLog(), o)
	e := echo.New()
	e.GET("/ws/wall", h.ServeWS)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
		fleet.Close()
	})
	return &hubEnv{hub: h, tiles: tiles, fleet: fleet, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/wall"}
}

// page is a wall page's end of the stream, read the way a page reads it.
type page struct {
	t  *testing.T
	ws *websocket.Conn
}

// tileFrame is a binary tile frame decoded as docs/tile-protocol.md
// describes it, independently of the hub's encoder.
type tileFrame struct {
	Version       byte
	Stale         bool
	Seq           uint64
	Updated       time.Time
	Width, Height int
	ID, Rendition string
	JPEG          []byte
}

func decodeTileFrame(b []byte) (tileFrame, error) {
	var f tileFrame
	if len(b) < 26 {
		return f, fmt.Errorf("tile frame of %d bytes is shorter than the fixed header", len(b))
	}
	f.Version = b[0]
	f.Stale = b[1]&1 != 0
	h := int(binary.BigEndian.Uint16(b[2:4]))
	f.Seq = binary.BigEndian.Uint64(b[4:12])
	if ms := int64(binary.BigEndian.Uint64(b[12:20])); ms != 0 {
		f.Updated = time.UnixMilli(ms)
	}
	f.Width = int(binary.BigEndian.Uint16(b[20:22]))
	f.Height = int(binary.BigEndian.Uint16(b[22:24]))
	n := int(b[24])
	if 26+n > len(b) {
		return f, fmt.Errorf("kiosk id of %d bytes overruns the frame", n)
	}
	f.ID = string(b[25 : 25+n])
	r := int(b[25+n])
	if h < 26+n+r || h > len(b) {
		return f, fmt.Errorf("header length %d does not fit id %d and rendition %d bytes in a %d-byte frame", h, n, r, len(b))
	}
	f.Rendition = string(b[26+n : 26+n+r])
	f.JPEG = b[h:]
	return f, nil
}

func dialPage(t *testing.T, url string) *page {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dialing the wall stream: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &page{t: t, ws: ws}
}

// next returns the next message: a JSON object or a tile frame.
func (p *page) next(timeout time.Duration) (map[string]any, *tileFrame, error) {
	p.ws.SetReadDeadline(time.Now().Add(timeout))
	kind, data, err := p.ws.ReadMessage()
	if err != nil {
		return nil, nil, err
	}
	if kind == websocket.BinaryMessage {
		f, err := decodeTileFrame(data)
		if err != nil {
			p.t.Fatalf("bad tile frame: %v", err)
		}
		return nil, &f, nil
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		p.t.Fatalf("text frame is not JSON: %v: %q", err, data)
	}
	return m, nil, nil
}

// expectJSON reads until a JSON message of type typ, failing on a tile frame.
func (p *page) expectJSON(typ string) map[string]any {
	p.t.Helper()
	for {
		m, f, err := p.next(5 * time.Second)
		if err != nil {
			p.t.Fatalf("waiting for %q: %v", typ, err)
		}
		if f != nil {
			p.t.Fatalf("waiting for %q: got tile %s/%s seq %d", typ, f.ID, f.Rendition, f.Seq)
		}
		if m["type"] == typ {
			return m
		}
	}
}

// open reads hello and the full status list of a new connection.
func (p *page) open() (hello, status map[string]any) {
	p.t.Helper()
	m, _, err := p.next(5 * time.Second)
	if err != nil || m["type"] != "hello" {
		p.t.Fatalf("first message: %v, %v; want hello", m, err)
	}
	st := p.expectJSON("status")
	if st["full"] != true {
		p.t.Fatalf("first status message is not the full list: %v", st)
	}
	return m, st
}

func (p *page) subscribe(ref int, tiles ...tileRef) {
	p.t.Helper()
	if err := p.ws.WriteJSON(map[string]any{"type": "subscribe", "ref": ref, "tiles": tiles}); err != nil {
		p.t.Fatalf("subscribe: %v", err)
	}
}

// untilAck collects the tile frames that arrive before the acknowledgement
// of subscription ref.
func (p *page) untilAck(ref int) []tileFrame {
	p.t.Helper()
	var got []tileFrame
	for {
		m, f, err := p.next(5 * time.Second)
		if err != nil {
			p.t.Fatalf("waiting for the acknowledgement of subscription %d: %v", ref, err)
		}
		if f != nil {
			got = append(got, *f)
			continue
		}
		if m["type"] == "subscribed" && m["ref"] == float64(ref) {
			return got
		}
	}
}

// tilesFor reads frames until it has one of each want key; status messages
// are skipped, any other tile fails the test.
func (p *page) tilesFor(want ...tileRef) map[tileRef]tileFrame {
	p.t.Helper()
	got := map[tileRef]tileFrame{}
	wanted := map[tileRef]bool{}
	for _, w := range want {
		wanted[w] = true
	}
	for len(got) < len(want) {
		m, f, err := p.next(5 * time.Second)
		if err != nil {
			p.t.Fatalf("waiting for tiles %v (have %d): %v", want, len(got), err)
		}
		if f == nil {
			if m["type"] == "error" {
				p.t.Fatalf("unexpected error message: %v", m)
			}
			continue
		}
		k := tileRef{f.ID, f.Rendition}
		if !wanted[k] {
			p.t.Fatalf("got tile %v, not subscribed (want %v)", k, want)
		}
		got[k] = *f
	}
	return got
}

// testJPEG is a real JPEG whose picture depends on seed.
func testJPEG(t testing.TB, w, h int, seed uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x) + seed, uint8(y), seed, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 70}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func putTile(t testing.TB, ts *TileStore, id string, seed uint8) {
	ts.Put(id, []thumbs.Frame{
		{Rendition: "small", Seq: uint64(seed), Width: 64, Height: 36, JPEG: testJPEG(t, 64, 36, seed)},
		{Rendition: "large", Seq: uint64(seed), Width: 128, Height: 72, JPEG: testJPEG(t, 128, 72, seed)},
	})
}

func TestHubHello(t *testing.T) {
	env := startHub(t, testHubOptions, FleetOptions{})
	p := dialPage(t, env.url)
	hello, status := p.open()
	if hello["version"] != float64(1) || hello["server"] != "kioskwall" {
		t.Errorf("hello = %v; want version 1 from kioskwall", hello)
	}
	if _, err := time.Parse(time.RFC3339, hello["now"].(string)); err != nil {
		t.Errorf("hello now: %v", err)
	}
	rs, _ := hello["renditions"].([]any)
	var names []string
	for _, r := range rs {
		m := r.(map[string]any)
		names = append(names, fmt.Sprintf("%v:%vx%v", m["name"], m["width"], m["height"]))
	}
	if got, want := strings.Join(names, " "), "small:320x180 large:640x360"; got != want {
		t.Errorf("renditions %q, want %q (thumbs.DefaultRenditions)", got, want)
	}
	if hello["max_subscriptions"] != float64(testHubOptions.maxSubs) || hello["max_message_bytes"] != float64(testHubOptions.maxMessage) ||
		hello["ping_interval_ms"] != float64(testHubOptions.pingInterval.Milliseconds()) {
		t.Errorf("hello limits = %v; want the hub's options %+v", hello, testHubOptions)
	}
	if ks, ok := status["kiosks"].([]any); !ok || len(ks) != 0 {
		t.Errorf("full status of an empty fleet: kiosks = %#v; want []", status["kiosks"])
	}
}

func TestHubSendsOnlySubscribedTiles(t *testing.T) {
	env := startHub(t, testHubOptions, FleetOptions{})
	for i, id := range []string{"K1", "K2", "K3"} {
		putTile(t, env.tiles, id, uint8(10*i+1))
	}
	p := dialPage(t, env.url)
	p.open()

	p.subscribe(1, tileRef{"K1", "small"}, tileRef{"K2", "large"}, tileRef{"K2", "large"})
	if early := p.untilAck(1); len(early) != 0 {
		t.Fatalf("%d tiles before the first acknowledgement", len(early))
	}
	got := p.tilesFor(tileRef{"K1", "small"}, tileRef{"K2", "large"})
	for k, f := range got {
		stored, _ := env.tiles.Get(k.ID, k.Rendition)
		if f.Version != TileProtocolVersion || f.Seq != stored.Seq || f.Width != stored.Width || f.Height != stored.Height ||
			!bytes.Equal(f.JPEG, stored.JPEG) || f.Stale || f.Updated.UnixMilli() != stored.Updated.UnixMilli() {
			t.Errorf("tile %v: got v%d seq %d %dx%d stale=%v updated %v, %d bytes; want the stored tile seq %d %dx%d updated %v, %d bytes",
				k, f.Version, f.Seq, f.Width, f.Height, f.Stale, f.Updated, len(f.JPEG), stored.Seq, stored.Width, stored.Height, stored.Updated, len(stored.JPEG))
		}
		img, err := jpeg.Decode(bytes.NewReader(f.JPEG))
		if err != nil || img.Bounds().Dx() != f.Width || img.Bounds().Dy() != f.Height {
			t.Errorf("tile %v does not decode as a %dx%d JPEG: %v", k, f.Width, f.Height, err)
		}
	}

	// News of an unwatched kiosk never reaches the page; news of a watched
	// one does. Re-subscribing the same set is the barrier: it does not
	// resend tiles the page has.
	putTile(t, env.tiles, "K3", 99)
	putTile(t, env.tiles, "K1", 50)
	p.subscribe(2, tileRef{"K1", "small"}, tileRef{"K2", "large"})
	var before []tileFrame
	for {
		m, f, err := p.next(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			before = append(before, *f)
		}
		if m["type"] == "subscribed" && m["ref"] == float64(2) {
			break
		}
	}
	sawK1 := false
	for _, f := range before {
		if f.ID != "K1" || f.Rendition != "small" {
			t.Errorf("got tile %s/%s; the page watches K1/small and K2/large and only K1 changed", f.ID, f.Rendition)
		}
		sawK1 = sawK1 || f.Seq == 50
	}
	if !sawK1 {
		// The new K1 picture may also come right after the barrier.
		f := p.tilesFor(tileRef{"K1", "small"})[tileRef{"K1", "small"}]
		if f.Seq != 50 {
			t.Errorf("K1 small seq %d; want the new picture, seq 50", f.Seq)
		}
	}

	// A new set: only K3 comes, at once, and K1's news no longer does.
	p.subscribe(3, tileRef{"K3", "small"})
	for _, f := range p.untilAck(3) {
		if f.ID != "K1" {
			t.Errorf("before the acknowledgement: tile %s/%s, not of the old set", f.ID, f.Rendition)
		}
	}
	if f := p.tilesFor(tileRef{"K3", "small"})[tileRef{"K3", "small"}]; f.Seq != 99 {
		t.Errorf("K3 seq %d; want 99", f.Seq)
	}
	putTile(t, env.tiles, "K1", 60)
	putTile(t, env.tiles, "K3", 100)
	if f := p.tilesFor(tileRef{"K3", "small"})[tileRef{"K3", "small"}]; f.Seq != 100 {
		t.Errorf("K3 seq %d; want 100", f.Seq)
	}
	p.subscribe(4, tileRef{"K3", "small"})
	if extra := p.untilAck(4); len(extra) != 0 {
		t.Errorf("after unsubscribing K1: got %d more tiles, first %s/%s", len(extra), extra[0].ID, extra[0].Rendition)
	}
}

func TestHubStaleFlag(t *testing.T) {
	env := startHub(t, testHubOptions, FleetOptions{})
	dir := t.TempDir()
	src := NewTileStore()
	putTile(t, src, "K7", 3)
	if err := src.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := env.tiles.Load(dir); err != nil {
		t.Fatal(err)
	}
	p := dialPage(t, env.url)
	p.open()
	p.subscribe(1, tileRef{"K7", "small"})
	if f := p.tilesFor(tileRef{"K7", "small"})[tileRef{"K7", "small"}]; !f.Stale {
		t.Errorf("a tile loaded from the data dir arrives without the stale flag")
	}
	putTile(t, env.tiles, "K7", 4)
	if f := p.tilesFor(tileRef{"K7", "small"})[tileRef{"K7", "small"}]; f.Stale {
		t.Errorf("a fresh tile arrives with the stale flag")
	}
}

// dialSmallBuffer opens a page whose socket buffers little, so that a page
// that stops reading blocks the hub's writes soon.
func dialSmallBuffer(t *testing.T, url string) *page {
	d := websocket.Dialer{NetDialContext: (&net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10) })
		return serr
	}}).DialContext}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &page{t: t, ws: ws}
}

func TestHubLatestWinsForStalledReader(t *testing.T) {
	o := testHubOptions
	o.writeWait = 20 * time.Second
	env := startHub(t, o, FleetOptions{})
	const frames, size = 300, 256 << 10
	payload := func(seq int) []byte {
		b := make([]byte, size)
		r := rand.New(rand.NewPCG(uint64(seq), 1))
		for i := 0; i < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], r.Uint64())
		}
		return b
	}
	env.tiles.Put("K1", []thumbs.Frame{{Rendition: "small", Seq: 1, Width: 320, Height: 180, JPEG: payload(1)}})
	p := dialSmallBuffer(t, env.url)
	p.open()
	p.subscribe(1, tileRef{"K1", "small"})
	p.untilAck(1)
	p.tilesFor(tileRef{"K1", "small"})

	// The page stops reading while the kiosk keeps changing.
	var last uint64
	for i := 2; i <= frames; i++ {
		env.tiles.Put("K1", []thumbs.Frame{{Rendition: "small", Seq: uint64(i), Width: 320, Height: 180, JPEG: payload(i)}})
		t2, _ := env.tiles.Get("K1", "small")
		last = t2.Seq
	}
	time.Sleep(200 * time.Millisecond)

	received := 0
	for {
		f := p.tilesFor(tileRef{"K1", "small"})[tileRef{"K1", "small"}]
		received++
		if !bytes.Equal(f.JPEG, payload(int(f.Seq))) {
			t.Fatalf("tile seq %d carries another picture's bytes", f.Seq)
		}
		if f.Seq == last {
			break
		}
	}
	// Socket buffers hold a few frames; a queue would hold all of them.
	if received > 40 {
		t.Errorf("a stalled page received %d of %d pictures after it resumed; want only what socket buffers held, then the latest", received, frames-1)
	}
	t.Logf("stalled page received %d of %d pictures; the last was the latest (seq %d)", received, frames-1, last)
}

func TestHubDropsStalledPage(t *testing.T) {
	o := testHubOptions
	o.pingInterval, o.writeWait = 50*time.Millisecond, 150*time.Millisecond
	env := startHub(t, o, FleetOptions{})
	p := dialPage(t, env.url)
	p.open()
	// The page reads nothing more, so it answers no ping.
	waitFor(t, 3*time.Second, "the hub to drop a page that does not answer pings", func() bool {
		env.hub.mu.RLock()
		defer env.hub.mu.RUnlock()
		return len(env.hub.conns) == 0
	})
}

func TestHubPings(t *testing.T) {
	o := testHubOptions
	o.pingInterval = 30 * time.Millisecond
	env := startHub(t, o, FleetOptions{})
	p := dialPage(t, env.url)
	pings := make(chan struct{}, 100)
	p.ws.SetPingHandler(func(string) error {
		pings <- struct{}{}
		return p.ws.WriteControl(websocket.PongMessage, nil, time.Now().Add(time.Second))
	})
	p.open()
	go func() {
		for {
			if _, _, err := p.ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for i := range 3 {
		select {
		case <-pings:
		case <-time.After(2 * time.Second):
			t.Fatalf("got %d pings in 2 s; want one every %v", i, o.pingInterval)
		}
	}
	// Answering pings keeps the page: ten intervals later it is still served.
	time.Sleep(10 * o.pingInterval)
	env.hub.mu.RLock()
	n := len(env.hub.conns)
	env.hub.mu.RUnlock()
	if n != 1 {
		t.Errorf("%d connections after a page answered every ping; want 1", n)
	}
}

func TestHubMalformedMessageClosesOnlyThatPage(t *testing.T) {
	long := strings.Repeat("x", 300)
	tooMany := make([]string, testHubOptions.maxSubs+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf(`{"id":"K%d","rendition":"small"}`, i)
	}
	cases := []struct {
		name      string
		kind      int
		msg       string
		code      string // error code; "" when the WebSocket layer refuses it
		closeCode int
	}{
		{"not JSON", websocket.TextMessage, `subscribe K1`, "bad_json", websocket.ClosePolicyViolation},
		{"JSON array", websocket.TextMessage, `[1,2]`, "bad_json", websocket.ClosePolicyViolation},
		{"no type", websocket.TextMessage, `{"tiles":[]}`, "bad_message", websocket.ClosePolicyViolation},
		{"unknown type", websocket.TextMessage, `{"type":"reboot"}`, "unknown_type", websocket.ClosePolicyViolation},
		{"binary", websocket.BinaryMessage, `{"type":"subscribe","tiles":[]}`, "bad_message", websocket.ClosePolicyViolation},
		{"tiles not a list", websocket.TextMessage, `{"type":"subscribe","tiles":{"id":"K1"}}`, "bad_json", websocket.ClosePolicyViolation},
		{"empty id", websocket.TextMessage, `{"type":"subscribe","tiles":[{"id":"","rendition":"small"}]}`, "bad_tile", websocket.ClosePolicyViolation},
		{"id too long", websocket.TextMessage, `{"type":"subscribe","tiles":[{"id":"` + long + `","rendition":"small"}]}`, "bad_tile", websocket.ClosePolicyViolation},
		{"unknown rendition", websocket.TextMessage, `{"type":"subscribe","tiles":[{"id":"K1","rendition":"huge"}]}`, "bad_tile", websocket.ClosePolicyViolation},
		{"too many tiles", websocket.TextMessage, `{"type":"subscribe","tiles":[` + strings.Join(tooMany, ",") + `]}`, "too_many_tiles", websocket.ClosePolicyViolation},
		{"long ref", websocket.TextMessage, `{"type":"subscribe","ref":"` + long + `","tiles":[]}`, "bad_message", websocket.ClosePolicyViolation},
		{"too large", websocket.TextMessage, `{"type":"subscribe","ref":"` + strings.Repeat("y", testHubOptions.maxMessage) + `"}`, "", websocket.CloseMessageTooBig},
	}
	env := startHub(t, testHubOptions, FleetOptions{})
	putTile(t, env.tiles, "K1", 1)
	good := dialPage(t, env.url)
	good.open()
	good.subscribe(1, tileRef{"K1", "small"})
	good.untilAck(1)
	good.tilesFor(tileRef{"K1", "small"})

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := dialPage(t, env.url)
			bad.open()
			if err := bad.ws.WriteMessage(tc.kind, []byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			var gotCode string
			var closeErr *websocket.CloseError
			for {
				m, _, err := bad.next(5 * time.Second)
				if err != nil {
					if !errors.As(err, &closeErr) {
						t.Fatalf("connection ended with %v; want a close frame", err)
					}
					break
				}
				if m != nil && m["type"] == "error" {
					gotCode, _ = m["code"].(string)
					if msg, _ := m["message"].(string); msg == "" {
						t.Errorf("error message without text: %v", m)
					}
				}
			}
			if gotCode != tc.code || closeErr.Code != tc.closeCode {
				t.Errorf("got error code %q and close %d; want %q and close %d", gotCode, closeErr.Code, tc.code, tc.closeCode)
			}
			// The other page is served as before.
			putTile(t, env.tiles, "K1", uint8(i+2))
			if f := good.tilesFor(tileRef{"K1", "small"})[tileRef{"K1", "small"}]; f.Seq != uint64(i+2) {
				t.Errorf("the good page got seq %d; want %d", f.Seq, i+2)
			}
		})
	}
}

func TestHubManyPages(t *testing.T) {
	env := startHub(t, testHubOptions, FleetOptions{})
	const kiosks, pages = 20, 40
	for i := range kiosks {
		putTile(t, env.tiles, fmt.Sprintf("K%02d", i), 1)
	}
	ps := make([]*page, pages)
	want := make([][]tileRef, pages)
	for i := range ps {
		ps[i] = dialPage(t, env.url)
		ps[i].open()
		// Page i watches kiosks i, i+1, i+2 (mod kiosks).
		for j := range 3 {
			want[i] = append(want[i], tileRef{fmt.Sprintf("K%02d", (i+j)%kiosks), "small"})
		}
		ps[i].subscribe(1, want[i]...)
	}
	for i, p := range ps {
		p.untilAck(1)
		p.tilesFor(want[i]...)
	}
	for i := range kiosks {
		putTile(t, env.tiles, fmt.Sprintf("K%02d", i), 2)
	}
	for i, p := range ps {
		for k, f := range p.tilesFor(want[i]...) {
			if f.Seq != 2 {
				t.Errorf("page %d, tile %v: seq %d; want 2", i, k, f.Seq)
			}
		}
		p.subscribe(2, want[i]...)
		if extra := p.untilAck(2); len(extra) != 0 {
			t.Errorf("page %d got %d tiles more than it watches", i, len(extra))
		}
	}
}

func TestHubStatusMessages(t *testing.T) {
	env := startHub(t, testHubOptions, FleetOptions{
		Backoff: Backoff{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond, Auth: time.Second},
		Ramp:    time.Millisecond,
	})
	// A port nothing listens on: the kiosk is refused, as a switched-off
	// VNC service is.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	p := dialPage(t, env.url)
	p.open()
	env.fleet.Sync([]Target{{ID: "K1", Name: "Registration 1", Site: "west", Addr: addr, Kind: "tightvnc"}})
	var k1 map[string]any
	waitForStatus := func(cond func(map[string]any) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			m := p.expectJSON("status")
			if m["full"] != false {
				t.Fatalf("a later status message is marked full: %v", m)
			}
			for _, k := range m["kiosks"].([]any) {
				if km := k.(map[string]any); km["id"] == "K1" {
					k1 = km
				}
			}
			if cond(m) {
				return
			}
		}
		t.Fatalf("status never matched; last K1 entry %v", k1)
	}
	waitForStatus(func(map[string]any) bool { return k1 != nil && k1["state"] == "offline" })
	if k1["reason"] != "refused" || k1["name"] != "Registration 1" || k1["site"] != "west" || k1["kind"] != "tightvnc" ||
		k1["last_update"] != nil || k1["stale"] != false || k1["message"] == "" {
		t.Errorf("K1 status = %v; want offline, refused, its name, site and kind, a message, no picture", k1)
	}
	if _, err := time.Parse(time.RFC3339, k1["since"].(string)); err != nil {
		t.Errorf("since: %v", err)
	}

	// A page that connects now gets K1 in its full list.
	late := dialPage(t, env.url)
	_, full := late.open()
	if ks := full["kiosks"].([]any); len(ks) != 1 || ks[0].(map[string]any)["id"] != "K1" {
		t.Errorf("full list of a new page: %v; want K1", ks)
	}

	env.fleet.Sync(nil)
	waitForStatus(func(m map[string]any) bool {
		rm, _ := m["removed"].([]any)
		return len(rm) == 1 && rm[0] == "K1"
	})
}

func TestHubCloseEndsPagesWithoutLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	tiles := NewTileStore()
	fleet := NewFleet(tiles, FleetOptions{Logger: quietLog()})
	defer fleet.Close()
	h := newHub(tiles, fleet, quietLog(), testHubOptions)
	e := echo.New()
	e.GET("/ws/wall", h.ServeWS)
	srv := httptest.NewServer(e)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/wall"
	putTile(t, tiles, "K1", 1)

	var open []*page
	for i := range 12 {
		p := dialPage(t, url)
		p.open()
		switch i % 3 {
		case 0: // a page that leaves
			p.ws.Close()
		case 1: // a page that misbehaves
			p.ws.WriteMessage(websocket.TextMessage, []byte("nonsense"))
		default: // a page that watches until the server stops
			p.subscribe(1, tileRef{"K1", "small"})
			p.untilAck(1)
			open = append(open, p)
		}
	}
	h.Close()
	for _, p := range open {
		var closeErr *websocket.CloseError
		for {
			_, _, err := p.next(5 * time.Second)
			if err != nil {
				if !errors.As(err, &closeErr) || closeErr.Code != websocket.CloseGoingAway {
					t.Errorf("page ended with %v; want close 1001 (going away)", err)
				}
				break
			}
		}
	}
	// After Close no new page is served.
	if _, resp, err := websocket.DefaultDialer.Dial(url, nil); err == nil || resp == nil || resp.StatusCode != 503 {
		t.Errorf("dial after Close: %v, %v; want 503", resp, err)
	}
	for _, p := range open {
		p.ws.Close()
	}
	srv.Close()
	waitFor(t, 5*time.Second, "hub goroutines to end", func() bool {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		return !strings.Contains(stacks, "wall.(*Hub)") && !strings.Contains(stacks, "wall.(*wallConn)") && runtime.NumGoroutine() <= before+1
	})
}

func TestTileHeaderLayout(t *testing.T) {
	updated := time.Date(2026, 3, 2, 10, 15, 4, 123e6, time.UTC)
	cases := []Tile{
		{KioskID: "K0001", Rendition: "small", Seq: 1, Width: 320, Height: 180, Updated: updated, JPEG: []byte{0xff, 0xd8, 1, 2}},
		{KioskID: strings.Repeat("k", 255), Rendition: "large", Seq: 1<<63 + 5, Width: 8192, Height: 4608, Stale: true, JPEG: []byte{0xff, 0xd8}},
		{KioskID: "x", Rendition: "r", Seq: 0, Width: 1, Height: 1, JPEG: nil},
	}
	for _, tc := range cases {
		frame := append(appendTileHeader(nil, &tc), tc.JPEG...)
		f, err := decodeTileFrame(frame)
		if err != nil {
			t.Fatalf("%.10s: %v", tc.KioskID, err)
		}
		if f.Version != 1 || f.ID != tc.KioskID || f.Rendition != tc.Rendition || f.Seq != tc.Seq ||
			f.Width != tc.Width || f.Height != tc.Height || f.Stale != tc.Stale || !bytes.Equal(f.JPEG, tc.JPEG) ||
			f.Updated.UnixMilli() != tc.Updated.UnixMilli() && !tc.Updated.IsZero() || tc.Updated.IsZero() && !f.Updated.IsZero() {
			t.Errorf("%.10s: decoded %+v; want %+v", tc.KioskID, f, tc)
		}
		if got := int(binary.BigEndian.Uint16(frame[2:])); got != 26+len(tc.KioskID)+len(tc.Rendition) {
			t.Errorf("%.10s: header length %d; want 26 + id + rendition = %d", tc.KioskID, got, 26+len(tc.KioskID)+len(tc.Rendition))
		}
	}
}
