package rfb

import (
	"crypto/des"
	"fmt"
	"strings"
)

// SecurityType is an RFB security type as offered by a server.
type SecurityType uint8

// Security types kioskwall speaks, and a few it names when a server offers them.
const (
	SecInvalid  SecurityType = 0
	SecNone     SecurityType = 1
	SecVNCAuth  SecurityType = 2
	SecRA2      SecurityType = 5
	SecRA2ne    SecurityType = 6
	SecTight    SecurityType = 16
	SecUltra    SecurityType = 17
	SecTLS      SecurityType = 18
	SecVeNCrypt SecurityType = 19
	SecARD      SecurityType = 30
	SecMSLogon  SecurityType = 113
)

var securityNames = map[SecurityType]string{
	SecNone: "None", SecVNCAuth: "VNC authentication", SecRA2: "RA2", SecRA2ne: "RA2ne",
	SecTight: "Tight", SecUltra: "Ultra", SecTLS: "TLS", SecVeNCrypt: "VeNCrypt",
	SecARD: "Apple Remote Desktop", SecMSLogon: "MS-Logon II",
}

func (s SecurityType) String() string {
	if n, ok := securityNames[s]; ok {
		return fmt.Sprintf("%s (%d)", n, uint8(s))
	}
	return fmt.Sprintf("unknown (%d)", uint8(s))
}

// AuthError reports that the server refused us: a wrong password, too many
// failed attempts, or a server that turned the connection away before
// authentication. Reason is the server's own text where the protocol carries
// one (RFB 3.8, or a refusal before authentication in any version).
type AuthError struct {
	Reason string
	// BeforeAuth is set when the server refused before any password was tried
	// (it offered no security types), as blacklisting servers do.
	BeforeAuth bool
}

func (e *AuthError) Error() string {
	msg := "rfb: authentication failed"
	if e.BeforeAuth {
		msg = "rfb: server refused the connection"
	}
	if e.Reason != "" {
		return msg + ": " + e.Reason
	}
	return msg
}

// TooManyAttempts reports whether the server says it is blacklisting us, in
// the words TightVNC, TigerVNC, RealVNC and libvncserver use.
func (e *AuthError) TooManyAttempts() bool {
	r := strings.ToLower(e.Reason)
	return strings.Contains(r, "too many") || strings.Contains(r, "blacklist")
}

// NoSecurityError reports that no security type the server offered is one the
// client can use (or is willing to: VNC auth needs a password).
type NoSecurityError struct {
	Offered []SecurityType
	Hint    string
}

func (e *NoSecurityError) Error() string {
	names := make([]string, len(e.Offered))
	for i, s := range e.Offered {
		names[i] = s.String()
	}
	msg := "rfb: no usable security type; the server offered " + strings.Join(names, ", ")
	if len(names) == 0 {
		msg = "rfb: no usable security type; the server offered none"
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// vncAuthResponse encrypts the 16-byte challenge with the password as DES key,
// the way VNC authentication defines it: at most 8 password bytes, each with
// its bits reversed.
func vncAuthResponse(password string, challenge []byte) []byte {
	var key [8]byte
	copy(key[:], password)
	for i, b := range key {
		var r byte
		for j := 0; j < 8; j++ {
			r |= (b >> j & 1) << (7 - j)
		}
		key[i] = r
	}
	c, err := des.NewCipher(key[:])
	if err != nil {
		panic(err) // cannot happen: the key is always 8 bytes
	}
	out := make([]byte, 16)
	c.Encrypt(out[:8], challenge[:8])
	c.Encrypt(out[8:], challenge[8:16])
	return out
}

// vncPasswordKey is the fixed DES key with which vncpasswd obfuscates the
// password files of TightVNC, TigerVNC and RealVNC, bit-reversed per byte as
// VNC's own DES variant applies it.
var vncPasswordKey = []byte{0xe8, 0x4a, 0xd6, 0x60, 0xc4, 0x72, 0x1a, 0xe0}

// DecodeVNCPasswordFile recovers the password from a file written by vncpasswd
// (8 obfuscated bytes, or 16 with a view-only password). ok is false when b
// does not look like one, e.g. a plain text file.
func DecodeVNCPasswordFile(b []byte) (password string, ok bool) {
	if len(b) != 8 && len(b) != 16 {
		return "", false
	}
	c, err := des.NewCipher(vncPasswordKey)
	if err != nil {
		return "", false
	}
	var out [8]byte
	c.Decrypt(out[:], b[:8])
	n := 0
	for n < 8 && out[n] != 0 {
		if out[n] < 0x20 || out[n] > 0x7e {
			return "", false
		}
		n++
	}
	return string(out[:n]), n > 0
}

// EncodeVNCPasswordFile obfuscates password the way vncpasswd does, for tests
// and tools that write password files real servers read.
func EncodeVNCPasswordFile(password string) []byte {
	var in [8]byte
	copy(in[:], password)
	c, _ := des.NewCipher(vncPasswordKey)
	out := make([]byte, 8)
	c.Encrypt(out, in[:])
	return out
}
