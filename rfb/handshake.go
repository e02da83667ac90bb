package rfb

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// maxReasonLen bounds a failure reason string: servers send a sentence.
const maxReasonLen = 4096

// maxNameLen bounds the desktop name in ServerInit and DesktopName.
const maxNameLen = 4096

// parseVersion reads a ProtocolVersion message and returns the minor version
// the client will speak: 3, 7 or 8. Servers announcing 3.4-3.6 (UltraVNC) get
// 3.3; anything newer than 3.8 gets 3.8.
func parseVersion(b []byte) (minor int, err error) {
	var major int
	if len(b) != 12 || string(b[:4]) != "RFB " || b[7] != '.' || b[11] != '\n' {
		return 0, protoErr("server greeting %q is not an RFB version; is this a VNC server?", printable(b))
	}
	if _, err := fmt.Sscanf(string(b[4:11]), "%03d.%03d", &major, &minor); err != nil {
		return 0, protoErr("server greeting %q has no version numbers", printable(b))
	}
	switch {
	case major < 3 || major == 3 && minor < 3:
		return 0, protoErr("server speaks RFB %d.%d; the oldest supported is 3.3", major, minor)
	case major > 3 || minor >= 8:
		return 8, nil
	case minor == 7:
		return 7, nil
	default:
		return 3, nil
	}
}

// printable makes peer bytes safe to show in an error.
func printable(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			s.WriteByte(c)
		} else {
			fmt.Fprintf(&s, "\\x%02x", c)
		}
	}
	return s.String()
}

// readReason reads a u32-length reason string, keeping at most maxReasonLen bytes.
func readReason(in *bufio.Reader) (string, error) {
	n, err := readU32(in)
	if err != nil {
		return "", err
	}
	keep := min(int64(n), maxReasonLen)
	b := make([]byte, keep)
	if err := readFull(in, b); err != nil {
		return "", err
	}
	if _, err := io.CopyN(io.Discard, in, int64(n)-keep); err != nil {
		return "", err
	}
	return strings.TrimSpace(printable(b)), nil
}

// handshake runs version, security and initialisation on c's connection.
func (c *Client) handshake() error {
	var greeting [12]byte
	if err := readFull(c.in, greeting[:]); err != nil {
		return fmt.Errorf("rfb: reading server version: %w", err)
	}
	minor, err := parseVersion(greeting[:])
	if err != nil {
		return err
	}
	c.minor = minor
	if err := c.write(fmt.Appendf(nil, "RFB 003.%03d\n", minor)); err != nil {
		return err
	}
	if err := c.negotiateSecurity(); err != nil {
		return err
	}
	// ClientInit: always shared, so kioskwall never disconnects another viewer.
	if err := c.write([]byte{1}); err != nil {
		return err
	}
	return c.readServerInit()
}

func (c *Client) negotiateSecurity() error {
	offered, err := c.readSecurityTypes()
	if err != nil {
		return err
	}
	c.offered = offered
	choice, err := c.chooseSecurity(offered)
	if err != nil {
		return err
	}
	c.security = choice
	if c.minor >= 7 {
		if err := c.write([]byte{byte(choice)}); err != nil {
			return err
		}
	}
	auth := choice
	if choice == SecTight {
		if auth, err = c.negotiateTight(); err != nil {
			return err
		}
	}
	if auth == SecVNCAuth {
		if err := c.vncAuth(); err != nil {
			return err
		}
	}
	// RFB 3.3 and 3.7 send no SecurityResult after None.
	if auth == SecNone && c.minor < 8 {
		return nil
	}
	return c.readSecurityResult()
}

// readSecurityTypes returns what the server offers: one type decided by the
// server in 3.3, a list in 3.7 and later.
func (c *Client) readSecurityTypes() ([]SecurityType, error) {
	if c.minor == 3 {
		t, err := readU32(c.in)
		if err != nil {
			return nil, fmt.Errorf("rfb: reading security type: %w", err)
		}
		if t == 0 {
			reason, err := readReason(c.in)
			if err != nil {
				return nil, fmt.Errorf("rfb: reading refusal reason: %w", err)
			}
			return nil, &AuthError{Reason: reason, BeforeAuth: true}
		}
		if t > 255 {
			return nil, protoErr("security type %d out of range", t)
		}
		return []SecurityType{SecurityType(t)}, nil
	}
	n, err := readU8(c.in)
	if err != nil {
		return nil, fmt.Errorf("rfb: reading security types: %w", err)
	}
	if n == 0 {
		reason, err := readReason(c.in)
		if err != nil {
			return nil, fmt.Errorf("rfb: reading refusal reason: %w", err)
		}
		return nil, &AuthError{Reason: reason, BeforeAuth: true}
	}
	types := make([]byte, n)
	if err := readFull(c.in, types); err != nil {
		return nil, fmt.Errorf("rfb: reading security types: %w", err)
	}
	offered := make([]SecurityType, n)
	for i, t := range types {
		offered[i] = SecurityType(t)
	}
	return offered, nil
}

// chooseSecurity prefers VNC auth when there is a password, None when there
// is not, and Tight (which wraps both) when it is what the server offers.
func (c *Client) chooseSecurity(offered []SecurityType) (SecurityType, error) {
	has := func(t SecurityType) bool {
		for _, o := range offered {
			if o == t {
				return true
			}
		}
		return false
	}
	prefs := []SecurityType{SecNone, SecTight, SecVNCAuth}
	if c.cfg.Password != "" {
		prefs = []SecurityType{SecVNCAuth, SecTight, SecNone}
	}
	if c.cfg.SecurityTypes != nil {
		prefs = c.cfg.SecurityTypes
	}
	for _, t := range prefs {
		if t != SecNone && t != SecVNCAuth && t != SecTight {
			continue
		}
		if has(t) {
			return t, nil
		}
	}
	hint := "kioskwall speaks None, VNC authentication and Tight; set the kiosk's VNC server to VNC password authentication"
	return 0, &NoSecurityError{Offered: offered, Hint: hint}
}

// Tight security capability codes.
const (
	tightNoTunnel = 0
	tightAuthNone = 1
	tightAuthVNC  = 2
	// maxTightCaps bounds capability lists; real servers send a handful.
	maxTightCaps = 64
)

// negotiateTight handles the Tight security type: refuse tunnelling, then pick
// None or VNC auth from the server's capability list. It returns the chosen
// inner authentication.
func (c *Client) negotiateTight() (SecurityType, error) {
	c.tight = true
	tunnels, err := readU32(c.in)
	if err != nil {
		return 0, fmt.Errorf("rfb: reading Tight tunnel count: %w", err)
	}
	if tunnels > maxTightCaps {
		return 0, protoErr("Tight security offers %d tunnel types", tunnels)
	}
	if tunnels > 0 {
		if err := discard(c.in, int(tunnels)*16); err != nil {
			return 0, err
		}
		if err := c.write([]byte{0, 0, 0, tightNoTunnel}); err != nil {
			return 0, err
		}
	}
	n, err := readU32(c.in)
	if err != nil {
		return 0, fmt.Errorf("rfb: reading Tight auth count: %w", err)
	}
	if n == 0 {
		return SecNone, nil
	}
	if n > maxTightCaps {
		return 0, protoErr("Tight security offers %d authentication types", n)
	}
	var codes []uint32
	var cap [16]byte
	for i := 0; i < int(n); i++ {
		if err := readFull(c.in, cap[:]); err != nil {
			return 0, err
		}
		codes = append(codes, binary.BigEndian.Uint32(cap[:4]))
	}
	prefs := []uint32{tightAuthNone, tightAuthVNC}
	if c.cfg.Password != "" {
		prefs = []uint32{tightAuthVNC, tightAuthNone}
	}
	for _, p := range prefs {
		for _, code := range codes {
			if code == p {
				if err := c.write(binary.BigEndian.AppendUint32(nil, p)); err != nil {
					return 0, err
				}
				if p == tightAuthVNC {
					return SecVNCAuth, nil
				}
				return SecNone, nil
			}
		}
	}
	return 0, &NoSecurityError{Offered: []SecurityType{SecTight},
		Hint: fmt.Sprintf("its Tight authentication capabilities %v include neither None (1) nor VNC authentication (2)", codes)}
}

func (c *Client) vncAuth() error {
	if c.cfg.Password == "" {
		return &AuthError{Reason: "the server asks for a VNC password and none is configured"}
	}
	challenge := make([]byte, 16)
	if err := readFull(c.in, challenge); err != nil {
		return fmt.Errorf("rfb: reading VNC authentication challenge: %w", err)
	}
	return c.write(vncAuthResponse(c.cfg.Password, challenge))
}

func (c *Client) readSecurityResult() error {
	result, err := readU32(c.in)
	if err != nil {
		if err == io.ErrUnexpectedEOF && c.security != SecNone {
			// Servers of 3.3 and 3.7 close without a word on a wrong password.
			return &AuthError{Reason: "the server closed the connection after the password was sent"}
		}
		return fmt.Errorf("rfb: reading security result: %w", err)
	}
	if result == 0 {
		return nil
	}
	e := &AuthError{}
	if c.minor >= 8 {
		if e.Reason, err = readReason(c.in); err != nil {
			e.Reason = ""
		}
	}
	if result == 2 && e.Reason == "" {
		// RFB 3.3 and 3.7 servers signal "too many attempts" with result 2.
		e.Reason = "too many authentication attempts"
	}
	return e
}

func (c *Client) readServerInit() error {
	var b [24]byte
	if err := readFull(c.in, b[:]); err != nil {
		return fmt.Errorf("rfb: reading ServerInit: %w", err)
	}
	w, h := int(binary.BigEndian.Uint16(b[0:])), int(binary.BigEndian.Uint16(b[2:]))
	pf := UnmarshalPixelFormat(b[4:20])
	if err := pf.Validate(); err != nil {
		return fmt.Errorf("server's native pixel format: %w", err)
	}
	nameLen := binary.BigEndian.Uint32(b[20:])
	if nameLen > maxNameLen {
		return protoErr("desktop name of %d bytes (at most %d)", nameLen, maxNameLen)
	}
	name := make([]byte, nameLen)
	if err := readFull(c.in, name); err != nil {
		return fmt.Errorf("rfb: reading desktop name: %w", err)
	}
	c.name = string(name)
	c.width, c.height = w, h
	c.size.Store(uint64(w)<<32 | uint64(h))
	c.serverPF = pf
	c.pf = pf
	if c.tight {
		if err := c.readTightInteractionCaps(); err != nil {
			return err
		}
	}
	return nil
}

// readTightInteractionCaps skips the capability lists a server using Tight
// security sends after ServerInit.
func (c *Client) readTightInteractionCaps() error {
	var b [8]byte
	if err := readFull(c.in, b[:]); err != nil {
		return fmt.Errorf("rfb: reading Tight capabilities: %w", err)
	}
	n := int(binary.BigEndian.Uint16(b[0:])) + int(binary.BigEndian.Uint16(b[2:])) + int(binary.BigEndian.Uint16(b[4:]))
	if n > 3*maxTightCaps {
		return protoErr("Tight capability lists hold %d entries", n)
	}
	return discard(c.in, 16*n)
}
