package rfb

import (
	"crypto/des"
	"errors"
	"image"
	"math/bits"
	"net"
	"strings"
	"testing"
)

// desResponse is VNC authentication's answer, written here from the spec
// (DES with the password as key, each key byte bit-reversed) rather than
// taken from the client code.
func desResponse(t *testing.T, password string, challenge []byte) []byte {
	var key [8]byte
	copy(key[:], password)
	for i := range key {
		key[i] = bits.Reverse8(key[i])
	}
	c, err := des.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	c.Encrypt(out, challenge)
	c.Encrypt(out[8:], challenge[8:])
	return out
}

func TestServerHandshake(t *testing.T) {
	for _, tc := range []struct {
		name          string
		max           string // ServerConfig.MaxVersion
		client        string // what the client answers
		password      string // the server's
		answer        string // the client's; defaults to password
		wantMinor     int    // the version the server must speak; 0 = refused at version
		wantAuthError bool
	}{
		{name: "3.8 none", max: "3.8", client: "RFB 003.008\n", wantMinor: 8},
		{name: "3.8 vnc auth", max: "", client: "RFB 003.008\n", password: "kiosk", wantMinor: 8},
		{name: "3.8 wrong password", max: "3.8", client: "RFB 003.008\n", password: "kiosk", answer: "guess", wantMinor: 8, wantAuthError: true},
		{name: "3.7 none", max: "3.7", client: "RFB 003.007\n", wantMinor: 7},
		{name: "3.7 vnc auth", max: "3.7", client: "RFB 003.007\n", password: "longer-than-8", wantMinor: 7},
		{name: "3.7 wrong password", max: "3.7", client: "RFB 003.007\n", password: "kiosk", answer: "x", wantMinor: 7, wantAuthError: true},
		{name: "3.3 none", max: "3.3", client: "RFB 003.003\n", wantMinor: 3},
		{name: "3.3 vnc auth", max: "3.3", client: "RFB 003.003\n", password: "kiosk", wantMinor: 3},
		{name: "3.3 wrong password", max: "3.3", client: "RFB 003.003\n", password: "kiosk", answer: "kiosk2", wantMinor: 3, wantAuthError: true},
		{name: "3.8 server, 3.3 client", max: "3.8", client: "RFB 003.003\n", password: "kiosk", wantMinor: 3},
		{name: "3.8 server, 3.7 client", max: "3.8", client: "RFB 003.007\n", wantMinor: 7},
		{name: "3.8 server, UltraVNC 3.6 client is 3.3", max: "3.8", client: "RFB 003.006\n", wantMinor: 3},
		{name: "3.8 server, 3.889 client is 3.8", max: "3.8", client: "RFB 003.889\n", wantMinor: 8},
		{name: "3.7 server, 3.8 client refused", max: "3.7", client: "RFB 003.008\n"},
		{name: "version 4 refused", max: "3.8", client: "RFB 004.000\n"},
		{name: "not RFB", max: "3.8", client: "GET / HTTP/1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDesktop(40, 30, Format16)
			srv := startServer(t, d, ServerConfig{Name: "Pay 3", Password: tc.password, MaxVersion: tc.max})
			c := dialRaw(t, srv.addr)
			offered := map[string]string{"": "RFB 003.008\n", "3.8": "RFB 003.008\n", "3.7": "RFB 003.007\n", "3.3": "RFB 003.003\n"}[tc.max]
			c.expect("server version", []byte(offered))
			c.send([]byte(tc.client)...)
			if tc.wantMinor == 0 {
				if !c.closed() {
					t.Error("server kept the connection after a version it cannot speak")
				}
				if err := srv.result(t); !IsProtocolError(err) {
					t.Errorf("Serve: %v, want a protocol error", err)
				}
				return
			}
			typ := byte(1)
			if tc.password != "" {
				typ = 2
			}
			if tc.wantMinor == 3 {
				c.expect("3.3 security type word", []byte{0, 0, 0, typ})
			} else {
				c.expect("security type list", []byte{1, typ})
				c.send(typ)
			}
			if tc.password != "" {
				challenge := c.read(16)
				answer := tc.answer
				if answer == "" {
					answer = tc.password
				}
				c.send(desResponse(t, answer, challenge)...)
			}
			if tc.password != "" || tc.wantMinor == 8 {
				if tc.wantAuthError {
					c.expect("security result", []byte{0, 0, 0, 1})
					if tc.wantMinor == 8 {
						reason := string(c.read(c.u32()))
						if !strings.Contains(reason, "wrong password") {
							t.Errorf("failure reason %q does not say what was wrong", reason)
						}
					}
					if !c.closed() {
						t.Error("server kept the connection after a failed authentication")
					}
					if err := srv.result(t); !errors.Is(err, ErrClientAuthFailed) {
						t.Errorf("Serve: %v, want ErrClientAuthFailed", err)
					}
					return
				}
				c.expect("security result", []byte{0, 0, 0, 0})
			}
			c.send(0) // ClientInit, not shared: accepted all the same
			c.expect("ServerInit size", []byte{0, 40, 0, 30})
			pf := Format16.Marshal()
			c.expect("ServerInit pixel format", pf[:])
			c.expect("ServerInit name", append([]byte{0, 0, 0, 5}, "Pay 3"...))
			// The session is live: a request is answered.
			c.setEncodings(EncRaw)
			c.request(false, image.Rect(0, 0, 40, 30))
			rects, _ := c.readUpdate(2)
			if len(rects) == 0 || unionOf(rawRects(rects)) != image.Rect(0, 0, 40, 30) {
				t.Errorf("first update %v does not cover the desktop", rawRects(rects))
			}
		})
	}
}

func TestServerRefusesUnofferedSecurityType(t *testing.T) {
	for _, minor := range []string{"3.7", "3.8"} {
		t.Run(minor, func(t *testing.T) {
			srv := startServer(t, NewDesktop(8, 8, Format32), ServerConfig{Password: "kiosk", MaxVersion: minor})
			c := dialRaw(t, srv.addr)
			c.read(12)
			c.send([]byte("RFB 003.00" + minor[2:] + "\n")...)
			c.expect("security types", []byte{1, 2})
			c.send(1) // None, which a password-protected server does not offer
			c.expect("security result", []byte{0, 0, 0, 1})
			if minor == "3.8" {
				if reason := string(c.read(c.u32())); !strings.Contains(reason, "not offered") {
					t.Errorf("reason %q", reason)
				}
			}
			if !c.closed() {
				t.Error("server kept the connection")
			}
			if err := srv.result(t); err == nil || !strings.Contains(err.Error(), "not offered") {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	err := Serve(t.Context(), a, NewDesktop(8, 8, Format32), ServerConfig{MaxVersion: "3.5"})
	if err == nil || !strings.Contains(err.Error(), "3.5") {
		t.Errorf("Serve with MaxVersion 3.5: %v", err)
	}
	if _, err := a.Write([]byte{0}); err == nil {
		t.Error("Serve did not close the connection")
	}
}

func rawRects(rs []rawRect) []image.Rectangle {
	var out []image.Rectangle
	for _, r := range rs {
		if r.enc >= 0 {
			out = append(out, r.r)
		}
	}
	return out
}
