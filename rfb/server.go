package rfb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"
)

// ServerConfig says how Serve speaks to one client.
type ServerConfig struct {
	// Name is the desktop name announced in ServerInit.
	Name string
	// Password selects VNC authentication; "" means security type None.
	Password string
	// MaxVersion is the highest protocol version offered: "3.8" (the
	// default), "3.7" or "3.3", so tests can act like old servers.
	MaxVersion string
	// Encodings are the pixel encodings offered (CopyRect included); nil
	// means every encoding the server side implements and CopyRect. Raw is
	// always possible, as the protocol requires.
	Encodings []Encoding
	// OnInput receives the client's key, pointer and cut-text events, in
	// order, from the goroutine that reads the connection. May be nil.
	OnInput func(InputEvent)
	// Logger receives session events; nil means no logging.
	Logger *slog.Logger
	// WriteTimeout bounds every write to the client, so a client that stops
	// reading ends its own session instead of holding anything up; default 10 s.
	WriteTimeout time.Duration
	// BytesSent, if set, is increased by every byte written to the client.
	BytesSent *atomic.Int64
	// SendCutText decides, each time the desktop's clipboard changes
	// (Desktop.SetCutText), whether this client is sent it. nil means never:
	// a kiosk's clipboard may hold what a patient copied.
	SendCutText func() bool
	// OnUpdate is told of every update that answered a request with the
	// desktop's content, once the update is written whole, from the
	// goroutine running Serve (so it holds up this client's next update,
	// nothing else). It lets a drawing side learn when a change left for
	// this client. May be nil.
	OnUpdate func(SentUpdate)
}

// SentUpdate describes one update that answered a FramebufferUpdateRequest.
type SentUpdate struct {
	// Composed is when the update took the desktop's changes, read under
	// the desktop's lock: within Area the update shows every drawing that
	// ended before it (and perhaps parts of later ones, which a later
	// update sends again). A drawing side that reads the clock under the
	// same lock (inside Desktop.Draw) gets times ordered as the lock
	// ordered the drawing and the update.
	Composed time.Time
	// Area is the part of the desktop the update brought up to date as of
	// Composed: the areas the client asked for, cropped to the desktop (see
	// Covers). It is empty when a change of the desktop's size or format
	// cut the update short, as the next update then sends the whole screen
	// again.
	Area []image.Rectangle
}

// InputKind says which client message an InputEvent carries.
type InputKind uint8

// Input event kinds.
const (
	InputKey InputKind = iota + 1
	InputPointer
	InputCutText
)

func (k InputKind) String() string {
	switch k {
	case InputKey:
		return "key"
	case InputPointer:
		return "pointer"
	case InputCutText:
		return "cut-text"
	}
	return fmt.Sprintf("InputKind(%d)", uint8(k))
}

// InputEvent is one KeyEvent, PointerEvent or ClientCutText from a client.
type InputEvent struct {
	Kind InputKind
	// Down and Key (an X keysym) describe a key event.
	Down bool
	Key  uint32
	// Buttons (bit 0 is the left button) and X, Y describe a pointer event.
	// The position is as the client sent it and may lie outside the desktop.
	Buttons uint8
	X, Y    int
	// Text is the cut text, decoded from Latin-1.
	Text string
}

// ErrClientAuthFailed is returned by Serve when the client's answer to the
// VNC authentication challenge did not match the password.
var ErrClientAuthFailed = errors.New("rfb: client failed VNC authentication (wrong password)")

// Serve speaks the server side of RFB to one client on conn, showing d. It
// returns when ctx ends or the client leaves (nil), or when the client breaks
// the protocol or fails authentication (an error saying what was wrong), and
// always closes conn. Serve runs in the caller's goroutine plus one goroutine
// of its own that reads the connection (and, once ctx ends, the closing of
// conn by context.AfterFunc); both are gone when Serve returns.
func Serve(ctx context.Context, conn net.Conn, d *Desktop, cfg ServerConfig) error {
	s, err := newServerConn(conn, d, cfg)
	if err != nil {
		conn.Close()
		return err
	}

	// Ending ctx closes the connection, which unblocks any read or write in
	// progress, in the handshake or in an update to a client that stalls.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.Close()
		close(closed)
	})
	defer func() {
		if !stop() {
			<-closed
		}
		conn.Close()
	}()

	err = s.handshake()
	if s.w != nil {
		defer d.unwatch(s.w)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}

	// The reader: it hands client messages to this goroutine until the
	// connection fails or quit closes, and is gone before Serve returns.
	msgs := make(chan clientMessage)
	quit, readerDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readerDone)
		s.readLoop(msgs, quit)
	}()
	defer func() {
		conn.Close()
		close(quit)
		<-readerDone
	}()
	err = s.run(ctx, msgs)
	s.log.Debug("rfb: session ended", "remote", conn.RemoteAddr(), "bytes_sent", s.sent, "err", err)
	return err
}

// serverConn is the state of one served connection. The first fields are
// set before the reader starts and only read after; the rest belong to the
// goroutine running Serve.
type serverConn struct {
	conn    net.Conn
	in      *bufio.Reader
	d       *Desktop
	cfg     ServerConfig
	log     *slog.Logger
	minor   int
	offered map[Encoding]bool // pixel encodings offered, CopyRect included

	// Owned by the goroutine running Serve.
	w           *watcher
	width       int // the desktop size the client knows
	height      int
	desktopPF   PixelFormat // the desktop format the converter was built for
	pf          PixelFormat // the client's format
	prefs       encodingPrefs
	encoders    map[Encoding]encoder
	conv        pixelConverter
	palette     [256]Colour
	sendPalette bool // the client is colour-mapped and needs SetColourMapEntries
	sendCursor  bool // the client just asked for cursor shapes

	// The outstanding FramebufferUpdateRequest: reqPending says one is
	// outstanding, req the areas asked for (a region, as TigerVNC keeps it:
	// a client may ask for the screen without its clock), and full (with
	// fullPending) the union of the areas asked for non-incrementally.
	reqPending  bool
	req         []image.Rectangle
	fullPending bool
	full        image.Rectangle
	edsInitial  bool // a non-incremental request owes an ExtendedDesktopSize rectangle
	edsReplies  int  // SetDesktopSize messages not yet answered

	plan   updatePlan
	out    bytes.Buffer // the message being built
	chunk  bytes.Buffer // one encoder call's output
	nrects int          // rectangles in out (when counted)
	pix    []byte       // pixels of one band in the client's format
	warned map[Encoding]bool
	sent   int64
}

// Defaults and bounds for served connections.
const (
	defaultWriteTimeout = 10 * time.Second
	// handshakeTimeout bounds the handshake, so a connection that says
	// nothing does not hold a session open.
	handshakeTimeout = 30 * time.Second
	// maxClientCutText bounds ClientCutText: a clipboard, not a file transfer.
	maxClientCutText = 1 << 20
	// maxSetDesktopSizeOwed bounds SetDesktopSize messages answered in one
	// update; a client sending more without asking for updates is broken.
	maxSetDesktopSizeOwed = 64
)

func newServerConn(conn net.Conn, d *Desktop, cfg ServerConfig) (*serverConn, error) {
	s := &serverConn{conn: conn, d: d, cfg: cfg, log: cfg.Logger, encoders: newEncoders(), warned: map[Encoding]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.WriteTimeout <= 0 {
		s.cfg.WriteTimeout = defaultWriteTimeout
	}
	switch cfg.MaxVersion {
	case "", "3.8":
		s.minor = 8
	case "3.7":
		s.minor = 7
	case "3.3":
		s.minor = 3
	default:
		return nil, fmt.Errorf("rfb: ServerConfig.MaxVersion %q; use \"3.3\", \"3.7\" or \"3.8\"", cfg.MaxVersion)
	}
	s.offered = map[Encoding]bool{EncRaw: true}
	if cfg.Encodings == nil {
		s.offered[EncCopyRect] = true
		for e := range s.encoders {
			s.offered[e] = true
		}
	}
	for _, e := range cfg.Encodings {
		if _, ok := s.encoders[e]; !ok && e != EncCopyRect {
			return nil, fmt.Errorf("rfb: ServerConfig.Encodings lists %v, which the server side cannot encode", e)
		}
		s.offered[e] = true
	}
	s.in = bufio.NewReaderSize(conn, 4096)
	return s, nil
}

// run handles client messages and desktop changes until the session ends.
func (s *serverConn) run(ctx context.Context, msgs <-chan clientMessage) error {
	for {
		if err := s.sendCutText(); err != nil {
			return err
		}
		if s.reqPending {
			if err := s.update(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.w.wake:
		case m := <-msgs:
			if done, err := s.consume(ctx, m); done || err != nil {
				return err
			}
			if done, err := s.handleBurst(ctx, msgs); done || err != nil {
				return err
			}
		}
	}
}

// consume handles one client message; done reports that the session ended.
func (s *serverConn) consume(ctx context.Context, m clientMessage) (done bool, err error) {
	if m.err != nil {
		if errors.Is(m.err, io.EOF) || ctx.Err() != nil {
			return true, nil
		}
		return true, m.err
	}
	return false, s.handle(m)
}

// burstWait is how long the server lets further client messages land
// before it answers: a client asks for an area that is not a rectangle with
// several requests in a row, and TigerVNC too defers its updates by a
// millisecond, so they get one answer.
const burstWait = time.Millisecond

// handleBurst handles the messages that arrive within burstWait.
func (s *serverConn) handleBurst(ctx context.Context, msgs <-chan clientMessage) (done bool, err error) {
	t := time.NewTimer(burstWait)
	defer t.Stop()
	for {
		select {
		case m := <-msgs:
			if done, err := s.consume(ctx, m); done || err != nil {
				return done, err
			}
		case <-t.C:
			return false, nil
		}
	}
}

// write sends b within the write timeout and counts it.
func (s *serverConn) write(b []byte) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	n, err := s.conn.Write(b)
	s.sent += int64(n)
	if s.cfg.BytesSent != nil {
		s.cfg.BytesSent.Add(int64(n))
	}
	if err != nil {
		return fmt.Errorf("rfb: writing to client: %w", err)
	}
	return nil
}

// sendCutText sends the desktop's clipboard if it changed since this
// connection last looked and the config lets this client have it.
func (s *serverConn) sendCutText() error {
	text, ok := s.d.takeCutText(s.w)
	if !ok || s.cfg.SendCutText == nil || !s.cfg.SendCutText() {
		return nil
	}
	b := make([]byte, 8, 8+len(text))
	b[0] = 3 // ServerCutText
	for _, r := range text {
		if r > 0xff {
			r = '?' // the classic protocol carries Latin-1
		}
		b = append(b, byte(r))
	}
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)-8))
	return s.write(b)
}
