package wall

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wallConn is one wall page's connection. Its reader goroutine takes
// subscriptions; its writer (the handler's goroutine) sends whatever is
// current when the socket can take it. Between them there is no queue: only
// the set of kiosks with news, a pending acknowledgement, and the version of
// the status the page has.
type wallConn struct {
	hub  *Hub
	ws   *websocket.Conn
	wake chan struct{} // capacity 1: "look again"

	mu    sync.Mutex
	subs  map[string]map[string]uint64 // kiosk -> rendition -> seq last sent (0: none)
	dirty map[string]struct{}          // kiosks whose tiles may be newer than what was sent
	ack   []byte                       // the "subscribed" message not yet sent

	// Writer only.
	statusAt uint64 // status version the page has
	work     []tileWork
	header   []byte
}

type tileWork struct {
	id, rendition string
	sent          uint64
}

func newWallConn(h *Hub, ws *websocket.Conn) *wallConn {
	return &wallConn{
		hub:   h,
		ws:    ws,
		wake:  make(chan struct{}, 1),
		subs:  map[string]map[string]uint64{},
		dirty: map[string]struct{}{},
	}
}

func (c *wallConn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *wallConn) markDirty(kioskID string) {
	c.mu.Lock()
	c.dirty[kioskID] = struct{}{}
	c.mu.Unlock()
	c.poke()
}

// run serves the connection until the page leaves or misbehaves, a write
// stalls, or ctx ends; it returns why.
func (c *wallConn) run(ctx context.Context) error {
	readErr := make(chan error, 1)
	var reader sync.WaitGroup
	reader.Go(func() { readErr <- c.readLoop() })
	err := c.writeLoop(ctx, readErr)
	c.ws.Close() // ends the reader if it is still reading
	reader.Wait()
	return err
}

func (c *wallConn) writeLoop(ctx context.Context, readErr <-chan error) error {
	ping := time.NewTicker(c.hub.opts.pingInterval)
	defer ping.Stop()
	if err := c.writeJSON(c.hub.hello()); err != nil {
		return err
	}
	for {
		if err := c.flush(); err != nil {
			return err
		}
		select {
		case <-c.wake:
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.hub.opts.writeWait)); err != nil {
				return err
			}
		case err := <-readErr:
			var bad *clientError
			if errors.As(err, &bad) {
				// Best effort: the page is told why, then the connection ends.
				if c.writeJSON(errorMsg{Type: "error", Code: bad.Code, Message: bad.Message}) == nil {
					c.closeWith(websocket.ClosePolicyViolation, bad.Code)
				}
			}
			return err
		case <-ctx.Done():
			c.closeWith(websocket.CloseGoingAway, "server shutting down")
			return ctx.Err()
		}
	}
}

func (c *wallConn) closeWith(code int, reason string) {
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

// flush sends what the page lacks: status changes, the acknowledgement of
// its latest subscription, then the current tile of every subscribed kiosk
// with news. A tile sent is always the newest the store holds.
func (c *wallConn) flush() error {
	msgs, at := c.hub.book.since(c.statusAt)
	for _, m := range msgs {
		if err := c.write(websocket.TextMessage, m); err != nil {
			return err
		}
	}
	c.statusAt = at

	// Take the acknowledgement and the tiles to look at in one step, so
	// that every tile sent after an acknowledgement belongs to the set it
	// acknowledged.
	c.mu.Lock()
	ack := c.ack
	c.ack = nil
	c.work = c.work[:0]
	for id := range c.dirty {
		for r, sent := range c.subs[id] {
			c.work = append(c.work, tileWork{id, r, sent})
		}
	}
	clear(c.dirty)
	c.mu.Unlock()

	if ack != nil {
		if err := c.write(websocket.TextMessage, ack); err != nil {
			return err
		}
	}
	for _, w := range c.work {
		t, ok := c.hub.tiles.Get(w.id, w.rendition)
		if !ok || t.Seq == w.sent {
			continue
		}
		if err := c.writeTile(t); err != nil {
			return err
		}
		c.mu.Lock()
		if m := c.subs[w.id]; m != nil {
			if _, still := m[w.rendition]; still {
				m[w.rendition] = t.Seq
			}
		}
		c.mu.Unlock()
	}
	return nil
}

func (c *wallConn) writeTile(t *Tile) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.hub.opts.writeWait)); err != nil {
		return err
	}
	w, err := c.ws.NextWriter(websocket.BinaryMessage)
	if err != nil {
		return err
	}
	c.header = appendTileHeader(c.header[:0], t)
	if _, err := w.Write(c.header); err != nil {
		return err
	}
	if _, err := w.Write(t.JPEG); err != nil {
		return err
	}
	return w.Close()
}

func (c *wallConn) write(kind int, data []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.hub.opts.writeWait)); err != nil {
		return err
	}
	return c.ws.WriteMessage(kind, data)
}

func (c *wallConn) writeJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.write(websocket.TextMessage, data)
}

// readLoop reads the page's messages until the connection fails or a
// message is bad (a *clientError).
func (c *wallConn) readLoop() error {
	o := c.hub.opts
	// A page answers pings (its browser does, even when the page's script
	// is busy); silence past one ping interval plus the write allowance
	// means it is gone.
	alive := func() error { return c.ws.SetReadDeadline(time.Now().Add(o.pingInterval + o.writeWait)) }
	c.ws.SetReadLimit(int64(o.maxMessage))
	c.ws.SetPongHandler(func(string) error { return alive() })
	if err := alive(); err != nil {
		return err
	}
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		if err := alive(); err != nil {
			return err
		}
		if kind != websocket.TextMessage {
			return badMessage("bad_message", "binary message from a page: pages send JSON text messages only")
		}
		m, err := parseClientMsg(data, c.hub.names, o.maxSubs)
		if err != nil {
			return err
		}
		c.subscribe(m)
	}
}

// subscribe replaces the set of tiles the page receives. Tiles it keeps are
// not sent again unless they changed; new ones are sent at once.
func (c *wallConn) subscribe(m *clientMsg) {
	// Ref was parsed as JSON, so it marshals again.
	ack, _ := json.Marshal(subscribedMsg{Type: "subscribed", Ref: m.Ref, Tiles: len(m.Tiles)})
	h := c.hub
	h.mu.Lock()
	c.mu.Lock()
	subs := make(map[string]map[string]uint64, len(m.Tiles))
	for _, t := range m.Tiles {
		r := subs[t.ID]
		if r == nil {
			r = map[string]uint64{}
			subs[t.ID] = r
		}
		r[t.Rendition] = c.subs[t.ID][t.Rendition]
		c.dirty[t.ID] = struct{}{}
	}
	for id := range c.subs {
		if subs[id] == nil {
			h.unwatchLocked(id, c)
			delete(c.dirty, id)
		}
	}
	for id := range subs {
		w := h.watchers[id]
		if w == nil {
			w = map[*wallConn]struct{}{}
			h.watchers[id] = w
		}
		w[c] = struct{}{}
	}
	changed := make([]string, 0, len(subs))
	for id := range c.subs {
		if subs[id] == nil {
			changed = append(changed, id)
		}
	}
	for id := range subs {
		changed = append(changed, id)
	}
	c.subs = subs
	c.ack = ack
	c.mu.Unlock()
	h.mu.Unlock()
	h.rewatch(changed)
	c.poke()
}
