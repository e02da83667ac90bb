package rfb

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"time"
)

// handshake runs version negotiation, security and initialisation, and
// registers the connection with the desktop.
func (s *serverConn) handshake() error {
	s.conn.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := s.write(fmt.Appendf(nil, "RFB 003.%03d\n", s.minor)); err != nil {
		return err
	}
	var v [12]byte
	if err := readFull(s.in, v[:]); err != nil {
		return fmt.Errorf("rfb: reading the client's protocol version: %w", err)
	}
	minor, err := s.clientVersion(v[:])
	if err != nil {
		return err
	}
	s.minor = minor
	if err := s.security(); err != nil {
		return err
	}
	// ClientInit: the shared flag is accepted either way. A kiosk's desktop
	// is always shared; no client may push the others off.
	if _, err := readU8(s.in); err != nil {
		return fmt.Errorf("rfb: reading ClientInit: %w", err)
	}
	if err := s.serverInit(); err != nil {
		return err
	}
	s.conn.SetDeadline(time.Time{})
	return nil
}

// clientVersion parses the client's ProtocolVersion and returns the minor
// version to speak. Versions 3.4 to 3.6 are treated as 3.3, as the protocol
// asks, and anything from 3.8 up as 3.8. A client may not ask for more than
// was offered.
func (s *serverConn) clientVersion(b []byte) (int, error) {
	var major, minor int
	if string(b[:4]) != "RFB " || b[7] != '.' || b[11] != '\n' {
		return 0, protoErr("client version %q is not an RFB ProtocolVersion", printable(b))
	}
	if _, err := fmt.Sscanf(string(b[4:11]), "%03d.%03d", &major, &minor); err != nil {
		return 0, protoErr("client version %q has no version numbers", printable(b))
	}
	if major != 3 || minor < 3 {
		return 0, protoErr("client asked for RFB %d.%d; this server speaks 3.3 to 3.8", major, minor)
	}
	switch {
	case minor >= 8:
		minor = 8
	case minor < 7:
		minor = 3
	}
	if minor > s.minor {
		return 0, protoErr("client asked for RFB 3.%d, but the server offered at most 3.%d", minor, s.minor)
	}
	return minor, nil
}

// Security result codes.
const (
	securityOK     = 0
	securityFailed = 1
)

// security offers the one security type the config implies and runs it.
func (s *serverConn) security() error {
	typ := SecNone
	if s.cfg.Password != "" {
		typ = SecVNCAuth
	}
	if s.minor == 3 {
		// RFB 3.3: the server decides and says so in a word.
		if err := s.write(binary.BigEndian.AppendUint32(nil, uint32(typ))); err != nil {
			return err
		}
	} else {
		if err := s.write([]byte{1, byte(typ)}); err != nil {
			return err
		}
		chosen, err := readU8(s.in)
		if err != nil {
			return fmt.Errorf("rfb: reading the client's security type: %w", err)
		}
		if SecurityType(chosen) != typ {
			reason := fmt.Sprintf("security type %v was not offered; this server offers only %v", SecurityType(chosen), typ)
			s.refuse(reason)
			return protoErr("client chose %s", reason)
		}
	}
	if typ == SecNone {
		if s.minor < 8 {
			return nil // 3.3 and 3.7 send no SecurityResult after None
		}
		return s.write(binary.BigEndian.AppendUint32(nil, securityOK))
	}
	return s.vncAuth()
}

// vncAuth sends a random challenge and checks the client's DES answer.
func (s *serverConn) vncAuth() error {
	challenge := make([]byte, 16)
	rand.Read(challenge)
	if err := s.write(challenge); err != nil {
		return err
	}
	answer := make([]byte, 16)
	if err := readFull(s.in, answer); err != nil {
		return fmt.Errorf("rfb: reading the client's VNC authentication response: %w", err)
	}
	if subtle.ConstantTimeCompare(answer, vncAuthResponse(s.cfg.Password, challenge)) != 1 {
		s.refuse("authentication failed: wrong password")
		return ErrClientAuthFailed
	}
	return s.write(binary.BigEndian.AppendUint32(nil, securityOK))
}

// refuse sends a failed SecurityResult, with the reason where the version
// carries one (3.8). The connection is closed after it.
func (s *serverConn) refuse(reason string) {
	b := binary.BigEndian.AppendUint32(nil, securityFailed)
	if s.minor >= 8 {
		b = binary.BigEndian.AppendUint32(b, uint32(len(reason)))
		b = append(b, reason...)
	}
	s.write(b)
}

// serverInit registers with the desktop and announces its size, native
// pixel format and name.
func (s *serverConn) serverInit() error {
	w, width, height, pf := s.d.watch()
	s.w = w
	s.width, s.height = width, height
	s.desktopPF, s.pf = pf, pf
	s.d.mu.RLock()
	s.palette = s.d.buf.Palette
	s.d.mu.RUnlock()
	s.conv.setup(s.desktopPF, s.pf, &s.palette)
	s.sendPalette = !pf.TrueColour
	b := make([]byte, 0, 24+len(s.cfg.Name))
	b = binary.BigEndian.AppendUint16(b, uint16(width))
	b = binary.BigEndian.AppendUint16(b, uint16(height))
	m := pf.Marshal()
	b = append(b, m[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.cfg.Name)))
	b = append(b, s.cfg.Name...)
	return s.write(b)
}
