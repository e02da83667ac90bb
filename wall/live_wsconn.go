package wall

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsConn presents a WebSocket as the byte stream RFB expects, so rfb.Serve
// (and, in tests, rfb.NewClient) run over it unchanged. RFB over WebSocket
// carries the stream in binary messages whose boundaries mean nothing: a
// client message may span messages and one message may hold several, so
// reads continue across message boundaries and every Write is one message.
//
// Like any net.Conn, one goroutine may read while another writes; Close and
// the deadline setters may be called from anywhere.
type wsConn struct {
	ws *websocket.Conn

	// Owned by the reading goroutine.
	r       io.Reader // the message being read; nil between messages
	readErr error     // sticky: gorilla must not be read again after an error

	wmu sync.Mutex // serialises Write; gorilla allows one writer at a time
}

func newWSConn(ws *websocket.Conn) *wsConn { return &wsConn{ws: ws} }

// errTextFrame ends a connection whose peer sends text: RFB is binary, and
// the base64 text protocol of early websockify is not spoken here.
var errTextFrame = errors.New("websocket: peer sent a text message; RFB over WebSocket needs binary messages (subprotocol \"binary\")")

func (c *wsConn) Read(p []byte) (int, error) {
	if c.readErr != nil {
		return 0, c.readErr
	}
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				c.readErr = wsReadError(err)
				return 0, c.readErr
			}
			if typ != websocket.BinaryMessage {
				c.readErr = errTextFrame
				return 0, c.readErr
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil // the message ended; the stream goes on in the next one
			if n == 0 {
				continue
			}
			err = nil
		}
		if err != nil {
			c.readErr = wsReadError(err)
		}
		return n, c.readErr
	}
}

// wsReadError makes a normal closing handshake look like the end of a
// stream, which is what it is to RFB.
func wsReadError(err error) error {
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
		return io.EOF
	}
	return err
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close sends a close message when it can and closes the connection.
func (c *wsConn) Close() error {
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return c.ws.Close()
}

// closeWith closes the connection telling the peer why, in at most 123
// bytes as a close message allows; browsers show the reason to scripts.
func (c *wsConn) closeWith(code int, reason string) {
	if len(reason) > 123 {
		reason = reason[:120] + "..."
	}
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.ws.Close()
}

func (c *wsConn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

func (c *wsConn) SetDeadline(t time.Time) error {
	return errors.Join(c.ws.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *wsConn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }

// SetWriteDeadline takes the write lock: gorilla counts the deadline as a
// write method, which must not run beside a Write.
func (c *wsConn) SetWriteDeadline(t time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.SetWriteDeadline(t); err != nil {
		return fmt.Errorf("websocket: setting the write deadline: %w", err)
	}
	return nil
}
