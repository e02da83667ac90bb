package wall

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"kioskwall/thumbs"
)

// Hub streams tiles and kiosk status to wall pages over WebSocket, one
// connection per page, in the tile protocol of docs/tile-protocol.md.
//
// Tiles are encoded once, by the kiosk's session; the hub only sends the
// bytes the TileStore holds. A page that reads slowly gets the newest tile
// of each kiosk it watches when its socket is writable again, never a queue
// of old ones: per connection the hub remembers only which kiosks have
// news, and one writer goroutine sends what is current.
//
// Mounting it (wall/server.go): route GET /ws/wall to ServeWS behind the
// Origin/Host guard; serve static.FS() with wall.html at "/" and its other
// files (wall.js, wall.css) under their names, at the same level as ws/wall
// (the page finds the stream at "ws/wall" relative to itself, so the wall
// also works under a proxy's sub-path). Call Close before the fleet's Close.
type Hub struct {
	tiles      *TileStore
	fleet      *Fleet
	log        *slog.Logger
	opts       hubOptions
	renditions []thumbs.Rendition
	names      []string // rendition names, for checking subscriptions
	upgrader   websocket.Upgrader
	book       *statusBook

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the status poll and every connection's handler

	// watchMu orders the hub's reports to the fleet of which tiles pages
	// show (rewatch); it is never held with mu.
	watchMu sync.Mutex

	mu       sync.RWMutex
	closed   bool
	conns    map[*wallConn]struct{}
	watchers map[string]map[*wallConn]struct{} // kiosk id -> pages subscribed to it
}

// hubOptions are the hub's timings and limits; tests shorten them.
type hubOptions struct {
	pollInterval time.Duration // how often kiosk status is collected
	pingInterval time.Duration // WebSocket pings, under proxies' 60 s read timeouts
	writeWait    time.Duration // a page that cannot take a write for this long is dropped
	maxSubs      int           // tiles one connection may subscribe to
	maxMessage   int           // bytes of one message from a page
}

var defaultHubOptions = hubOptions{
	pollInterval: time.Second,
	pingInterval: 20 * time.Second,
	writeWait:    30 * time.Second,
	maxSubs:      2048,
	// A subscribe message for maxSubs tiles with 64-byte ids and JSON
	// punctuation fits with room to spare.
	maxMessage: 256 << 10,
}

// NewHub returns a hub streaming tiles from tiles and the status of fleet's
// kiosks. It starts one goroutine that polls the fleet's status; Close
// stops it and every page's connection.
func NewHub(tiles *TileStore, fleet *Fleet, log *slog.Logger) *Hub {
	return newHub(tiles, fleet, log, defaultHubOptions)
}

func newHub(tiles *TileStore, fleet *Fleet, log *slog.Logger, o hubOptions) *Hub {
	if log == nil {
		log = slog.Default()
	}
	renditions := fleet.env.renditions
	if len(renditions) == 0 {
		renditions = thumbs.DefaultRenditions
	}
	h := &Hub{
		tiles:    tiles,
		fleet:    fleet,
		log:      log,
		opts:     o,
		book:     newStatusBook(time.Now, log),
		conns:    map[*wallConn]struct{}{},
		watchers: map[string]map[*wallConn]struct{}{},
	}
	for _, r := range renditions {
		if r.Name == "" || len(r.Name) > maxNameBytes {
			log.Warn("wall stream: rendition name cannot travel in a tile frame; pages cannot subscribe to it", "rendition", r.Name)
			continue
		}
		h.renditions = append(h.renditions, r)
		h.names = append(h.names, r.Name)
	}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  4 << 10,
		WriteBufferSize: 32 << 10,
		// Write buffers are held only while a message is written, so idle
		// pages cost no buffer.
		WriteBufferPool: &sync.Pool{},
		// The server's Origin/Host guard has already filtered what reaches
		// the hub.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.book.update(h.snapshot())
	tiles.Listen(h.tileChanged)
	h.wg.Go(h.pollStatus)
	return h
}

// ServeWS upgrades a request to the wall stream and serves it until the page
// leaves, misbehaves or the hub closes.
func (h *Hub) ServeWS(c echo.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return echo.NewHTTPError(http.StatusServiceUnavailable, "the wall stream is shutting down; reconnect in a moment")
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	ws, err := h.upgrader.Upgrade(c.Response(), c.Request(), nil)
	if err != nil {
		// Upgrade has answered the request with the reason.
		h.log.Info("wall stream: not a WebSocket upgrade", "remote", c.RealIP(), "err", err)
		return nil
	}
	conn := newWallConn(h, ws)
	h.mu.Lock()
	h.conns[conn] = struct{}{}
	h.mu.Unlock()
	defer h.drop(conn)
	h.log.Info("wall page connected", "remote", c.RealIP())
	err = conn.run(h.ctx)
	h.log.Info("wall page disconnected", "remote", c.RealIP(), "why", err)
	return nil
}

// Close ends every page's connection (they reconnect to the next server)
// and stops the status poll.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}

// drop forgets a connection that ended.
func (h *Hub) drop(c *wallConn) {
	h.mu.Lock()
	delete(h.conns, c)
	c.mu.Lock()
	ids := make([]string, 0, len(c.subs))
	for id := range c.subs {
		h.unwatchLocked(id, c)
		ids = append(ids, id)
	}
	c.mu.Unlock()
	h.mu.Unlock()
	h.rewatch(ids)
}

// rewatch tells the fleet which renditions pages now show of the given
// kiosks, so that the schedule asks those first and only shown renditions
// are encoded. The fleet calls into the hub (tileChanged) under its own
// lock, so this runs without mu held.
func (h *Hub) rewatch(ids []string) {
	if len(ids) == 0 {
		return
	}
	h.watchMu.Lock()
	defer h.watchMu.Unlock()
	masks := make([]uint64, len(ids))
	h.mu.RLock()
	for i, id := range ids {
		for c := range h.watchers[id] {
			c.mu.Lock()
			for r := range c.subs[id] {
				masks[i] |= h.fleet.renditionBit(r)
			}
			c.mu.Unlock()
		}
	}
	h.mu.RUnlock()
	for i, id := range ids {
		h.fleet.SetWatch(id, masks[i])
	}
}

func (h *Hub) unwatchLocked(id string, c *wallConn) {
	if w := h.watchers[id]; w != nil {
		delete(w, c)
		if len(w) == 0 {
			delete(h.watchers, id)
		}
	}
}

// tileChanged is the TileStore listener: it runs on the kiosk's session
// goroutine, so it only marks the news for the pages that watch the kiosk.
func (h *Hub) tileChanged(kioskID string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.watchers[kioskID] {
		c.markDirty(kioskID)
	}
}

// pollStatus collects the fleet's status once per interval and wakes every
// page when something changed: one poll for all pages, not one per page.
func (h *Hub) pollStatus() {
	t := time.NewTicker(h.opts.pollInterval)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		if !h.book.update(h.snapshot()) {
			continue
		}
		h.mu.RLock()
		for c := range h.conns {
			c.poke()
		}
		h.mu.RUnlock()
	}
}

// snapshot is the status of every kiosk, ordered by site and id.
func (h *Hub) snapshot() []kioskStatus {
	sessions := h.fleet.Sessions()
	out := make([]kioskStatus, 0, len(sessions))
	for _, s := range sessions {
		t, st := s.Target(), s.Status()
		ks := kioskStatus{
			ID: t.ID, Name: t.Name, Site: t.Site, Kind: t.Kind,
			State: st.State, Reason: st.Reason, Message: st.Message, Since: st.Since,
			LastUpdate: jsonTime{st.LastUpdate}, Confirmed: jsonTime{st.Confirmed}, Overdue: st.Overdue,
		}
		// The age a page shows is that of the picture it has: the tile's.
		if tile, ok := h.tiles.Get(t.ID, ""); ok {
			ks.LastUpdate, ks.Stale = jsonTime{tile.Updated}, tile.Stale
		}
		out = append(out, ks)
	}
	return out
}

// hello is the first message of every connection.
func (h *Hub) hello() helloMsg {
	m := helloMsg{
		Type: "hello", Version: TileProtocolVersion, Server: "kioskwall", Now: time.Now(),
		MaxSubscriptions: h.opts.maxSubs, MaxMessageBytes: h.opts.maxMessage,
		PingIntervalMS: h.opts.pingInterval.Milliseconds(),
	}
	for _, r := range h.renditions {
		height := r.Height
		if height == 0 {
			height = r.Width * 9 / 16
		}
		m.Renditions = append(m.Renditions, renditionInfo{Name: r.Name, Width: r.Width, Height: height})
	}
	return m
}
