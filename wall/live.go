package wall

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"kioskwall/rfb"
)

// Live serves the live view: towards the browser kioskwall is the RFB
// server (noVNC speaks RFB over a WebSocket), showing the kiosk's Desktop,
// which the kiosk's one session decodes into. Every viewer of a kiosk shares
// that one upstream connection; while any watches, the session runs in live
// mode. The kiosk's password never leaves the server: viewers get security
// type None, and only a viewer given control can send input (see the control
// policy in live_control.go).
//
// Mount it in the Echo server (Origin and Host are checked by middleware
// before these handlers run):
//
//	e.GET("/ws/vnc/:id", live.ServeVNC)            // the live view, for noVNC
//	e.GET("/websockify", live.ServeVNC)            // the same, as ?token=ID, for pages made for websockify
//	e.GET("/api/kiosks/:id/control", live.ServeControl)
//	e.POST("/api/kiosks/:id/control", live.ServeControl)
//
// and call Close at shutdown, before the fleet's Close: Echo's Shutdown does
// not end hijacked WebSocket connections. The protocol, the control
// endpoint and the audit log are described in docs/live-view.md.
type Live struct {
	fleet *Fleet
	log   *slog.Logger
	board *controlBoard

	upgrader websocket.Upgrader
	// pingEvery is how often a viewer is pinged: often enough that a proxy
	// with a 60 s read timeout never sees a quiet view-only session as dead.
	pingEvery time.Duration
	// deadAfter ends a viewer whose browser answered no ping for this long.
	deadAfter time.Duration
	// checkEvery is how often a viewer checks that its kiosk is still the
	// fleet's (not removed from the inventory or re-pointed).
	checkEvery time.Duration

	ctx    context.Context // ends every viewer at Close
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // one per viewer being served
}

// Limits of the live view.
const (
	defaultPingEvery = 20 * time.Second
	// maxViewerMessage bounds one WebSocket message from a viewer. RFB
	// client messages are small, except a clipboard paste, which rfb bounds
	// to 1 MiB; the rest is headroom for framing.
	maxViewerMessage = 1<<20 + 64<<10
	// maxHeader bounds the User-Agent and X-Forwarded-For kept per viewer.
	maxHeader = 256
	// maxControlBody bounds a control request; it is a few dozen bytes.
	maxControlBody = 4 << 10
)

// viewerIDPattern is what a page may call itself: long enough for a random
// id, short and plain enough to log.
var viewerIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// NewLive returns the live view of fleet's kiosks. Control sessions are
// audited to audit as JSON lines (see OpenAuditLog); nil audits to the log
// only.
func NewLive(fleet *Fleet, log *slog.Logger, audit io.Writer) *Live {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Live{
		fleet: fleet,
		log:   log,
		board: newControlBoard(&auditLog{w: audit, log: log}),
		upgrader: websocket.Upgrader{
			// noVNC asks for "binary"; the websockify it replaces echoed it.
			Subprotocols: []string{"binary"},
			// The guard middleware has checked Origin and Host already.
			CheckOrigin:     func(*http.Request) bool { return true },
			ReadBufferSize:  4 << 10,
			WriteBufferSize: 32 << 10,
		},
		pingEvery:  defaultPingEvery,
		deadAfter:  3 * defaultPingEvery,
		checkEvery: 5 * time.Second,
		ctx:        ctx,
		cancel:     cancel,
	}
}

// Close ends every live viewer and waits for them.
func (l *Live) Close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
}

// track counts a viewer in; false means the live view is closing.
func (l *Live) track() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.wg.Add(1)
	return true
}

// ServeVNC serves GET /ws/vnc/:id and GET /websockify?token=:id: it upgrades
// to a WebSocket and speaks RFB 3.8 with security type None, showing the
// kiosk's screen as last decoded (also while the kiosk is unreachable).
// Query parameters: viewer, the page's own id for the control endpoint
// (generated if absent); control=1 asks for control at once.
func (l *Live) ServeVNC(c echo.Context) error {
	r := c.Request()
	id := c.Param("id")
	if id == "" {
		id = c.QueryParam("token")
	}
	if id == "" {
		return liveError(c, http.StatusBadRequest, "no kiosk named: use /ws/vnc/{id}, or /websockify?token={id}")
	}
	s, ok := l.fleet.Session(id)
	if !ok {
		return liveError(c, http.StatusNotFound, fmt.Sprintf("unknown kiosk %q", id))
	}
	if !websocket.IsWebSocketUpgrade(r) {
		return liveError(c, http.StatusBadRequest, "this is the WebSocket endpoint noVNC connects to; open /kiosk/"+id+" in a browser for the live page")
	}
	vid := c.QueryParam("viewer")
	if vid == "" {
		vid = newViewerID()
	} else if !viewerIDPattern.MatchString(vid) {
		return liveError(c, http.StatusBadRequest, "viewer id must be 1 to 64 letters, digits, '-' or '_'")
	}
	t := s.Target()
	v := &viewer{
		id: vid, kioskID: id, site: t.Site, session: s, since: time.Now(),
		remoteAddr:   r.RemoteAddr,
		forwardedFor: truncateHeader(r.Header.Get("X-Forwarded-For"), maxHeader),
		userAgent:    truncateHeader(r.UserAgent(), maxHeader),
	}
	if !l.track() {
		return liveError(c, http.StatusServiceUnavailable, "kioskwall is shutting down")
	}
	defer l.wg.Done()
	if err := l.board.join(v); err != nil {
		return liveError(c, http.StatusConflict, err.Error())
	}
	defer func() { l.board.leave(v, time.Now()) }()

	ws, err := l.upgrader.Upgrade(c.Response(), r, nil)
	if err != nil {
		return nil // the upgrader has answered the request
	}
	l.serveViewer(newWSConn(ws), v, c.QueryParam("control"))
	return nil
}

// serveViewer runs one viewer's RFB session until it leaves, breaks the
// protocol, stops answering pings, its kiosk goes away or Close is called.
func (l *Live) serveViewer(conn *wsConn, v *viewer, control string) {
	log := l.log.With("kiosk", v.kioskID, "site", v.site, "viewer", v.id, "remote", v.remoteAddr)
	conn.ws.SetReadLimit(maxViewerMessage)
	var lastPong atomic.Int64
	lastPong.Store(time.Now().UnixNano())
	conn.ws.SetPongHandler(func(string) error {
		lastPong.Store(time.Now().UnixNano())
		return nil
	})

	remove := v.session.AddViewer()
	defer remove()
	st := v.session.Status()
	log.Info("live: viewer joined", "state", st.State, "user_agent", v.userAgent)
	if control == "1" || control == "true" {
		if err := l.board.grant(v, time.Now()); err != nil {
			log.Info("live: control refused; the viewer stays view-only", "err", err)
		}
	}

	ctx, cancel := context.WithCancel(l.ctx)
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		l.keepAlive(ctx, conn, v, &lastPong)
	}()
	defer func() {
		cancel()
		<-kept
	}()

	var sent atomic.Int64
	t := v.session.Target()
	name := t.Name
	if name == "" {
		name = t.ID
	}
	err := rfb.Serve(ctx, conn, v.session.Desktop(), rfb.ServerConfig{
		Name:      name,
		OnInput:   v.input,
		Logger:    log,
		BytesSent: &sent,
		// The kiosk's clipboard may hold what a patient copied: only the
		// viewer in control sees it, as only it can change it.
		SendCutText: v.hasControl,
	})
	attrs := []any{"bytes_sent", sent.Load(), "dropped_inputs", v.droppedInputs(), "watched", time.Since(v.since).Round(time.Second)}
	if err != nil {
		log.Info("live: viewer ended", append(attrs, "err", err)...)
		return
	}
	log.Info("live: viewer left", attrs...)
}

// keepAlive pings the viewer, ends it when its browser stops answering, and
// ends it when its kiosk leaves the fleet or is replaced by a re-pointed one,
// so the page reconnects to what the inventory now says.
func (l *Live) keepAlive(ctx context.Context, conn *wsConn, v *viewer, lastPong *atomic.Int64) {
	ping := time.NewTicker(l.pingEvery)
	defer ping.Stop()
	check := time.NewTicker(l.checkEvery)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			if l.ctx.Err() != nil {
				conn.closeWith(websocket.CloseGoingAway, "kioskwall is shutting down")
			}
			return
		case <-ping.C:
			if silent := time.Since(time.Unix(0, lastPong.Load())); silent > l.deadAfter {
				conn.closeWith(websocket.CloseGoingAway, fmt.Sprintf("no answer to pings for %v", silent.Round(time.Second)))
				return
			}
			if err := conn.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)); err != nil {
				return // the connection is gone; rfb.Serve notices too
			}
		case <-check.C:
			if cur, ok := l.fleet.Session(v.kioskID); !ok || cur != v.session {
				conn.closeWith(websocket.CloseServiceRestart, "kiosk "+v.kioskID+" was removed from the inventory or re-pointed")
				return
			}
		}
	}
}

// ControlStatus is the answer of the control endpoint.
type ControlStatus struct {
	Kiosk   string `json:"kiosk"`
	Viewers int    `json:"viewers"` // live viewers of the kiosk now
	// Controller is who has control, or null.
	Controller *ControllerInfo `json:"controller"`
	// Viewer and Control are the asking viewer and whether it has control.
	Viewer  string `json:"viewer,omitempty"`
	Control bool   `json:"control"`
}

// ControllerInfo says who controls a kiosk, as much as operators need to
// find each other.
type ControllerInfo struct {
	RemoteAddr string    `json:"remote_addr"`
	Browser    string    `json:"browser"`
	Since      time.Time `json:"since"`
}

// controlRequest is the body of POST /api/kiosks/:id/control.
type controlRequest struct {
	Viewer  string `json:"viewer"`
	Control *bool  `json:"control"`
}

// ServeControl serves GET and POST /api/kiosks/:id/control. GET
// (?viewer=ID optional) says who controls the kiosk; POST with
// {"viewer": ID, "control": true|false} takes or releases control for the
// live view the page opened with ?viewer=ID. A request while another viewer
// has control is refused with 409 and a message naming the holder.
func (l *Live) ServeControl(c echo.Context) error {
	id := c.Param("id")
	if _, ok := l.fleet.Session(id); !ok {
		return liveError(c, http.StatusNotFound, fmt.Sprintf("unknown kiosk %q", id))
	}
	if c.Request().Method == http.MethodGet {
		return c.JSON(http.StatusOK, l.controlStatus(id, c.QueryParam("viewer")))
	}
	var req controlRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, maxControlBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return liveError(c, http.StatusBadRequest, "control request: "+err.Error()+`; send {"viewer": "<id>", "control": true|false}`)
	}
	if req.Viewer == "" || req.Control == nil {
		return liveError(c, http.StatusBadRequest, `control request needs "viewer" and "control": {"viewer": "<id>", "control": true|false}`)
	}
	v, ok := l.board.lookup(id, req.Viewer)
	if !ok {
		return liveError(c, http.StatusNotFound, fmt.Sprintf("no live view of kiosk %s has viewer id %q; the page must be connected to /ws/vnc/%s?viewer=%s", id, req.Viewer, id, req.Viewer))
	}
	now := time.Now()
	if !*req.Control {
		l.board.release(v, now, "released by the viewer")
		return c.JSON(http.StatusOK, l.controlStatus(id, req.Viewer))
	}
	if err := l.board.grant(v, now); err != nil {
		code := http.StatusConflict
		if errors.Is(err, errUnknownViewer) {
			code = http.StatusNotFound // it left between lookup and grant
		}
		return c.JSON(code, struct {
			Error string `json:"error"`
			ControlStatus
		}{err.Error(), l.controlStatus(id, req.Viewer)})
	}
	return c.JSON(http.StatusOK, l.controlStatus(id, req.Viewer))
}

func (l *Live) controlStatus(kioskID, viewerID string) ControlStatus {
	st := ControlStatus{Kiosk: kioskID, Viewers: l.board.viewerCount(kioskID), Viewer: viewerID}
	if c, ok := l.board.controllerOf(kioskID); ok {
		st.Controller = &ControllerInfo{RemoteAddr: c.v.remoteAddr, Browser: browserName(c.v.userAgent), Since: c.since.UTC()}
		st.Control = viewerID != "" && c.v.id == viewerID
	}
	return st
}

func liveError(c echo.Context, code int, msg string) error {
	return c.JSON(code, map[string]string{"error": msg})
}

// newViewerID names a viewer that did not name itself.
func newViewerID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func truncateHeader(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
