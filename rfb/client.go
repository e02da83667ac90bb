package rfb

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ClientConfig says how a Client talks to one VNC server.
type ClientConfig struct {
	// Password for VNC authentication. It is used once, in the handshake, and
	// never appears in an error or log.
	Password string
	// SecurityTypes the client may use, in order of preference; nil means VNC
	// authentication, Tight, None (None first when there is no password).
	SecurityTypes []SecurityType
	// Framebuffer receives the decoded pixels. Required.
	Framebuffer Framebuffer
	// PixelFormat to ask the server for; nil keeps the server's native format.
	PixelFormat *PixelFormat
	// Encodings in order of preference, pseudo-encodings included. Nil means
	// DefaultEncodings. Cursor and DesktopSize are always added when absent.
	Encodings []Encoding
	// ReadTimeout, if set, fails a read that waits longer than this for bytes
	// (reset for every read, so a slow but moving update is fine).
	ReadTimeout time.Duration
	// WriteTimeout bounds every write; default 10 s.
	WriteTimeout time.Duration
	// MaxCutText bounds ServerCutText; longer text is discarded. Default 1 MiB.
	MaxCutText int
	// ReadBufferSize of the buffered reader over the connection; default 32 KiB.
	ReadBufferSize int
}

// DefaultEncodings is what a Client offers when the config says nothing.
// CopyRect comes first so that moved windows cost four bytes.
var DefaultEncodings = []Encoding{
	EncCopyRect, EncTight, EncZRLE, EncHextile, EncZlib, EncCoRRE, EncRRE, EncRaw,
	EncCursor, EncDesktopSize, EncExtendedDesktopSize, EncLastRect, EncDesktopName,
}

// Client is one RFB session to a VNC server. Writes (requests and input) are
// safe from any goroutine; Next must be called from one goroutine at a time.
// A Client starts no goroutine of its own.
type Client struct {
	conn *countingConn
	rd   *countingReader // under in: counts bytes read, for live and replayed sessions
	in   *bufio.Reader
	cfg  ClientConfig
	stop func() bool // unregisters the context watch

	minor    int
	offered  []SecurityType
	security SecurityType
	tight    bool
	name     string
	serverPF PixelFormat

	wmu sync.Mutex // serialises writes

	// size mirrors width and height (w<<32 | h) for other goroutines:
	// Width, Height and Request may be called while Next resizes.
	size atomic.Uint64

	// Reader state, owned by the goroutine calling Next.
	width, height int
	pf            PixelFormat
	nextPF        atomic.Pointer[PixelFormat] // set by SetPixelFormat, applied at the next update
	decoders      map[Encoding]decoder
	copyRect      *copyRectDecoder
	update        Update
	cursor        *Cursor
	scratch       []byte
	hdr           [12]byte
}

// Dial connects to addr ("host:port") and runs the handshake within ctx.
func Dial(ctx context.Context, addr string, cfg ClientConfig) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(ctx, conn, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// NewClient runs the RFB handshake on conn and returns a session ready for
// requests. The session lives until Close or until ctx is done; deadlines
// that ctx carries bound the handshake only. On error conn is closed.
func NewClient(ctx context.Context, conn net.Conn, cfg ClientConfig) (*Client, error) {
	if cfg.Framebuffer == nil {
		conn.Close()
		return nil, errors.New("rfb: ClientConfig.Framebuffer is nil")
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.MaxCutText == 0 {
		cfg.MaxCutText = 1 << 20
	}
	if cfg.ReadBufferSize == 0 {
		cfg.ReadBufferSize = 32 << 10
	}
	cc := &countingConn{Conn: conn, readTimeout: cfg.ReadTimeout}
	c := &Client{conn: cc, cfg: cfg}
	c.rd = &countingReader{r: cc}
	c.in = bufio.NewReaderSize(c.rd, cfg.ReadBufferSize)
	// Cancelling ctx unblocks any read or write in progress by expiring the
	// deadlines. A deadline of ctx bounds only the handshake: once the
	// session runs, a ctx that merely timed out leaves it alone.
	var running atomic.Bool
	c.stop = context.AfterFunc(ctx, func() {
		if !running.Load() || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			conn.SetDeadline(time.Unix(1, 0))
		}
	})
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if err := c.handshake(); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("rfb: handshake: %w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	running.Store(true)
	conn.SetDeadline(time.Time{})
	c.cfg.Password = ""
	if err := c.start(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// start negotiates the pixel format and encodings and sizes the framebuffer.
func (c *Client) start() error {
	c.decoders = newDecoders()
	c.copyRect = c.decoders[EncCopyRect].(*copyRectDecoder)
	if c.cfg.PixelFormat != nil {
		if err := c.SetPixelFormat(*c.cfg.PixelFormat); err != nil {
			return err
		}
		c.pf = *c.cfg.PixelFormat
		c.nextPF.Store(nil)
	}
	encs := c.cfg.Encodings
	if encs == nil {
		encs = DefaultEncodings
	}
	if err := c.SetEncodings(encs); err != nil {
		return err
	}
	return c.resize(c.width, c.height)
}

// resize tells the framebuffer the desktop size and pixel format.
func (c *Client) resize(w, h int) error {
	if w*h > MaxDesktopPixels {
		return protoErr("desktop size %dx%d exceeds the %d pixels kioskwall accepts", w, h, MaxDesktopPixels)
	}
	c.width, c.height = w, h
	c.size.Store(uint64(w)<<32 | uint64(h))
	c.copyRect.bounds = image.Rect(0, 0, w, h)
	return c.cfg.Framebuffer.SetFormat(w, h, c.pf)
}

// Version is the protocol version in use: "3.3", "3.7" or "3.8".
func (c *Client) Version() string { return fmt.Sprintf("3.%d", c.minor) }

// SecurityTypes are the types the server offered.
func (c *Client) SecurityTypes() []SecurityType { return c.offered }

// SecurityType is the type the client chose.
func (c *Client) SecurityType() SecurityType { return c.security }

// Name is the desktop name from ServerInit (or a later DesktopName).
func (c *Client) Name() string { return c.name }

// Width and Height are the desktop size as last announced.
func (c *Client) Width() int  { return int(c.size.Load() >> 32) }
func (c *Client) Height() int { return int(uint32(c.size.Load())) }

// ServerPixelFormat is the server's native format from ServerInit.
func (c *Client) ServerPixelFormat() PixelFormat { return c.serverPF }

// PixelFormat is the format updates are decoded in now.
func (c *Client) PixelFormat() PixelFormat { return c.pf }

// Cursor is the last pointer shape the server sent, or nil.
func (c *Client) Cursor() *Cursor { return c.cursor }

// BytesIn and BytesOut count bytes on the wire since the connection opened.
func (c *Client) BytesIn() int64  { return c.rd.n.Load() }
func (c *Client) BytesOut() int64 { return c.conn.out.Load() }

// RemoteAddr is the server's address.
func (c *Client) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// Close ends the session. It is safe to call more than once.
func (c *Client) Close() error {
	if c.conn == nil { // a replay
		return nil
	}
	c.stop()
	return c.conn.Close()
}

// Record makes the client copy every byte it reads after the handshake to w,
// preceded by a header (see ReplayHeader), so that sessions with real servers
// can be replayed in benchmarks. Call before the first Next.
func (c *Client) Record(w io.Writer) error {
	if c.in.Buffered() > 0 {
		return errors.New("rfb: Record must be called before the first Next")
	}
	h := replayHeader{Width: c.width, Height: c.height, Format: c.pf}
	if _, err := w.Write(h.marshal()); err != nil {
		return err
	}
	c.rd.r = io.TeeReader(c.conn, w)
	return nil
}

// write sends b with the write deadline, serialised with other writers.
func (c *Client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.cfg.WriteTimeout > 0 {
		c.conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	}
	_, err := c.conn.Write(b)
	return err
}

// SetPixelFormat asks the server for pf. Updates are decoded in pf from the
// next FramebufferUpdate on, so call it only while no update request is
// outstanding: an update already on its way would arrive in the old format.
func (c *Client) SetPixelFormat(pf PixelFormat) error {
	if err := pf.Validate(); err != nil {
		return err
	}
	b := make([]byte, 20)
	m := pf.Marshal()
	copy(b[4:], m[:])
	if err := c.write(b); err != nil {
		return err
	}
	c.nextPF.Store(&pf)
	return nil
}

// SetEncodings tells the server which encodings the client accepts, in order
// of preference. Cursor and DesktopSize are added when missing: the cursor so
// servers stop drawing the pointer into the frame, DesktopSize so a resized
// kiosk does not end the session.
func (c *Client) SetEncodings(encs []Encoding) error {
	all := append([]Encoding(nil), encs...)
	for _, must := range []Encoding{EncCursor, EncDesktopSize} {
		found := false
		for _, e := range all {
			found = found || e == must
		}
		if !found {
			all = append(all, must)
		}
	}
	b := make([]byte, 4, 4+4*len(all))
	b[0] = 2
	binary.BigEndian.PutUint16(b[2:], uint16(len(all)))
	for _, e := range all {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(e)))
	}
	return c.write(b)
}

// Request sends a FramebufferUpdateRequest for r (clipped to the desktop).
// The client never requests on its own: the caller decides when.
func (c *Client) Request(incremental bool, r image.Rectangle) error {
	return c.RequestRegion(incremental, []image.Rectangle{r}, image.Rectangle{})
}

// RequestRegion asks for the areas of region (see Subtract), and for poke
// non-incrementally if it is not empty, in one write: a server that keeps
// the union of what was asked (TigerVNC, libvncserver) sees the requests
// together and is most likely to answer them with one update.
func (c *Client) RequestRegion(incremental bool, region []image.Rectangle, poke image.Rectangle) error {
	screen := image.Rect(0, 0, c.Width(), c.Height())
	b := make([]byte, 0, 10*(len(region)+1))
	add := func(incremental bool, r image.Rectangle) {
		r = r.Intersect(screen)
		b = append(b, 3, boolByte(incremental))
		b = binary.BigEndian.AppendUint16(b, uint16(r.Min.X))
		b = binary.BigEndian.AppendUint16(b, uint16(r.Min.Y))
		b = binary.BigEndian.AppendUint16(b, uint16(r.Dx()))
		b = binary.BigEndian.AppendUint16(b, uint16(r.Dy()))
	}
	for _, r := range region {
		add(incremental, r)
	}
	if !poke.Empty() {
		add(false, poke)
	}
	return c.write(b)
}

// KeyEvent sends a key press or release (an X keysym).
func (c *Client) KeyEvent(down bool, keysym uint32) error {
	var b [8]byte
	b[0] = 4
	b[1] = boolByte(down)
	binary.BigEndian.PutUint32(b[4:], keysym)
	return c.write(b[:])
}

// PointerEvent sends the pointer position and button mask.
func (c *Client) PointerEvent(buttons uint8, x, y int) error {
	var b [6]byte
	b[0] = 5
	b[1] = buttons
	binary.BigEndian.PutUint16(b[2:], uint16(x))
	binary.BigEndian.PutUint16(b[4:], uint16(y))
	return c.write(b[:])
}

// CutText sends clipboard text (Latin-1 in the classic protocol).
func (c *Client) CutText(text string) error {
	b := make([]byte, 8, 8+len(text))
	b[0] = 6
	binary.BigEndian.PutUint32(b[4:], uint32(len(text)))
	return c.write(append(b, text...))
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// countingConn counts bytes written and refreshes the read deadline before
// every read when a read timeout is set.
type countingConn struct {
	net.Conn
	readTimeout time.Duration
	out         atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.readTimeout > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.readTimeout))
	}
	return c.Conn.Read(p)
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}
