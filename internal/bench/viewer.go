package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// viewer is one wall page as the benchmark plays it: a WebSocket client of
// /ws/wall (docs/tile-protocol.md) that subscribes to tiles and notes when
// each tile arrives. It decodes no JPEG: a wall page's cost to the server is
// the same whether the browser paints the pictures or not.
type viewer struct {
	ws        *websocket.Conn
	rendition string

	mu       sync.Mutex
	epochs   []epoch                 // what it showed when, oldest first
	asked    map[int]map[string]bool // subscribe refs not yet acknowledged
	arrivals map[string][]arrival    // kiosk -> tiles in the order they arrived
	frames   int64
	bytes    int64
	lastRef  int
	closing  bool  // close was called: the end of the stream is no failure
	failed   error // why the stream ended early, if it did
}

// epoch is a span of time over which a viewer showed one set of tiles. An
// open epoch has a zero to.
type epoch struct {
	from, to time.Time
	tiles    map[string]bool
}

// arrival is one tile frame as it arrived.
type arrival struct {
	at        time.Time
	updatedMS int64 // when the server made the picture, Unix ms
	seq       uint64
}

// dialViewer connects to the wall stream at url (ws://host/ws/wall) and
// reads the hello.
func dialViewer(ctx context.Context, url, rendition string) (*viewer, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("wall stream %s: %w (HTTP %s)", url, err, resp.Status)
		}
		return nil, fmt.Errorf("wall stream %s: %w", url, err)
	}
	var hello struct {
		Type    string `json:"type"`
		Version int    `json:"version"`
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := ws.ReadJSON(&hello); err != nil || hello.Type != "hello" || hello.Version != 1 {
		ws.Close()
		return nil, fmt.Errorf("wall stream %s: want a version 1 hello first, got %+v (%v)", url, hello, err)
	}
	ws.SetReadDeadline(time.Time{})
	return &viewer{ws: ws, rendition: rendition, asked: map[int]map[string]bool{}, arrivals: map[string][]arrival{}}, nil
}

// subscribe asks for tiles; the new set takes effect when the server
// acknowledges it (read loop).
func (v *viewer) subscribe(tiles []string) error {
	type tileRef struct {
		ID        string `json:"id"`
		Rendition string `json:"rendition"`
	}
	msg := struct {
		Type  string    `json:"type"`
		Ref   int       `json:"ref"`
		Tiles []tileRef `json:"tiles"`
	}{Type: "subscribe"}
	set := make(map[string]bool, len(tiles))
	for _, id := range tiles {
		msg.Tiles = append(msg.Tiles, tileRef{id, v.rendition})
		set[id] = true
	}
	v.mu.Lock()
	v.lastRef++
	msg.Ref = v.lastRef
	v.asked[msg.Ref] = set
	v.mu.Unlock()
	// Only this goroutine writes; the read loop never does.
	v.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return v.ws.WriteJSON(msg)
}

// run reads the stream until it fails or the connection is closed.
func (v *viewer) run() {
	for {
		typ, data, err := v.ws.ReadMessage()
		if err != nil {
			v.end(err)
			return
		}
		now := time.Now()
		if typ == websocket.BinaryMessage {
			if err := v.tile(now, data); err != nil {
				v.end(err)
				return
			}
			continue
		}
		var m struct {
			Type    string `json:"type"`
			Ref     int    `json:"ref"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			v.end(fmt.Errorf("wall stream: text frame is not JSON: %w", err))
			return
		}
		switch m.Type {
		case "subscribed":
			v.acknowledged(now, m.Ref)
		case "error":
			v.end(fmt.Errorf("wall stream: the server refused a message: %s: %s", m.Code, m.Message))
			return
		}
	}
}

func (v *viewer) acknowledged(now time.Time, ref int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	set, ok := v.asked[ref]
	if !ok {
		return
	}
	delete(v.asked, ref)
	if n := len(v.epochs); n > 0 && v.epochs[n-1].to.IsZero() {
		v.epochs[n-1].to = now
	}
	v.epochs = append(v.epochs, epoch{from: now, tiles: set})
}

// tile records a binary tile frame; its layout is in docs/tile-protocol.md.
func (v *viewer) tile(now time.Time, b []byte) error {
	if len(b) < 25 || b[0] != 1 {
		return fmt.Errorf("wall stream: tile frame of %d bytes, version %d; want version 1 and at least 25 bytes", len(b), b[0])
	}
	h := int(binary.BigEndian.Uint16(b[2:]))
	n := int(b[24])
	if 25+n >= len(b) || h < 26+n+int(b[25+n]) || h > len(b) {
		return fmt.Errorf("wall stream: tile frame of %d bytes with header length %d and a %d-byte kiosk id does not add up", len(b), h, n)
	}
	id := string(b[25 : 25+n])
	a := arrival{at: now, seq: binary.BigEndian.Uint64(b[4:]), updatedMS: int64(binary.BigEndian.Uint64(b[12:]))}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.arrivals[id] = append(v.arrivals[id], a)
	v.frames++
	v.bytes += int64(len(b))
	return nil
}

// end notes why the stream stopped and closes the last epoch.
func (v *viewer) end(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if n := len(v.epochs); n > 0 && v.epochs[n-1].to.IsZero() {
		v.epochs[n-1].to = time.Now()
	}
	if v.failed == nil && !v.closing {
		v.failed = err
	}
}

// close ends the stream; run returns.
func (v *viewer) close() {
	v.mu.Lock()
	v.closing = true
	v.mu.Unlock()
	v.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	v.ws.Close()
}

// shown is what the viewer showed: its epochs and arrivals. Call it after
// run returned.
func (v *viewer) shown() ([]epoch, map[string][]arrival) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.epochs, v.arrivals
}

// counts are the tile frames and bytes received so far, and why the
// stream failed if it did.
func (v *viewer) counts() (frames, bytes int64, failed error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.frames, v.bytes, v.failed
}
