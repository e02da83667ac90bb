package realvnc

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// moveWindow moves X window id on display n so its top-left corner is at
// (x, y), speaking the X protocol itself: xdotool crashes on Xtightvnc's
// X server, and no other Debian tool moves a window without a window
// manager. It returns once the server has carried out the request.
func moveWindow(n int, id uint32, x, y int) error {
	c, err := net.DialTimeout("unix", xSocket(n), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	le := binary.LittleEndian

	// Connection setup, little-endian, protocol 11.0, no authorisation: the
	// test servers accept local clients.
	setup := make([]byte, 12)
	setup[0] = 'l'
	le.PutUint16(setup[2:], 11)
	if _, err := c.Write(setup); err != nil {
		return err
	}
	var head [8]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		return fmt.Errorf("setting up the X connection: %w", err)
	}
	rest := make([]byte, 4*int(le.Uint16(head[6:])))
	if _, err := io.ReadFull(c, rest); err != nil {
		return fmt.Errorf("setting up the X connection: %w", err)
	}
	if head[0] != 1 {
		reason := rest[:min(int(head[1]), len(rest))]
		return fmt.Errorf("the X server refused the connection (status %d): %s", head[0], reason)
	}

	// ConfigureWindow with x and y, then GetInputFocus, whose reply comes
	// only after the server has handled the move (or its error).
	req := make([]byte, 20+4)
	req[0] = 12 // ConfigureWindow
	le.PutUint16(req[2:], 5)
	le.PutUint32(req[4:], id)
	le.PutUint16(req[8:], 0x0001|0x0002) // x, y
	le.PutUint32(req[12:], uint32(int32(x)))
	le.PutUint32(req[16:], uint32(int32(y)))
	req[20] = 43 // GetInputFocus
	le.PutUint16(req[22:], 1)
	if _, err := c.Write(req); err != nil {
		return err
	}
	for {
		var msg [32]byte
		if _, err := io.ReadFull(c, msg[:]); err != nil {
			return fmt.Errorf("waiting for the X server: %w", err)
		}
		switch msg[0] {
		case 0:
			return fmt.Errorf("an X error %d for request %d on resource %#x", msg[1], msg[10], le.Uint32(msg[4:]))
		case 1:
			return nil // GetInputFocus's reply: the move is done
		}
		// An event: ignore it.
	}
}
