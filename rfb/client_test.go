package rfb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// scriptConn is a net.Conn that replays a server's bytes and keeps what the
// client writes, so handshake tests need no goroutine and no socket.
type scriptConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (s *scriptConn) Read(p []byte) (int, error)       { return s.in.Read(p) }
func (s *scriptConn) Write(p []byte) (int, error)      { return s.out.Write(p) }
func (s *scriptConn) Close() error                     { return nil }
func (s *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (s *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (s *scriptConn) SetDeadline(time.Time) error      { return nil }
func (s *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (s *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// serverScript builds what a server sends.
type serverScript struct{ bytes.Buffer }

func (s *serverScript) u8(v ...byte) *serverScript { s.Write(v); return s }
func (s *serverScript) u16(v uint16) *serverScript {
	s.Write(binary.BigEndian.AppendUint16(nil, v))
	return s
}
func (s *serverScript) u32(v uint32) *serverScript {
	s.Write(binary.BigEndian.AppendUint32(nil, v))
	return s
}
func (s *serverScript) str(v string) *serverScript { s.WriteString(v); return s }
func (s *serverScript) reason(v string) *serverScript {
	return s.u32(uint32(len(v))).str(v)
}

// serverInit appends a ServerInit for a w x h desktop in pf named name.
func (s *serverScript) serverInit(w, h uint16, pf PixelFormat, name string) *serverScript {
	s.u16(w).u16(h)
	m := pf.Marshal()
	s.Write(m[:])
	return s.reason(name)
}

// rect appends a rectangle header.
func (s *serverScript) rect(x, y, w, h uint16, enc Encoding) *serverScript {
	return s.u16(x).u16(y).u16(w).u16(h).u32(uint32(int32(enc)))
}

func dialScript(t *testing.T, script []byte, cfg ClientConfig) (*Client, *scriptConn, error) {
	t.Helper()
	conn := &scriptConn{in: bytes.NewReader(script)}
	if cfg.Framebuffer == nil {
		cfg.Framebuffer = &Buffer{}
	}
	c, err := NewClient(context.Background(), conn, cfg)
	return c, conn, err
}

func TestHandshake(t *testing.T) {
	pw := "secret12"
	challenge := bytes.Repeat([]byte{7}, 16)
	tests := []struct {
		name       string
		script     func() *serverScript
		password   string
		prefs      []SecurityType
		wantVer    string
		wantSec    SecurityType
		wantWrites func() []byte // what the client must have sent before ClientInit's tail
		wantErr    string
	}{
		{
			name: "3.8 none",
			script: func() *serverScript {
				return new(serverScript).str("RFB 003.008\n").u8(1, 1).u32(0).serverInit(64, 32, Format32, "kiosk")
			},
			wantVer: "3.8", wantSec: SecNone,
			wantWrites: func() []byte { return []byte("RFB 003.008\n\x01\x01") },
		},
		{
			name: "3.7 none has no security result",
			script: func() *serverScript {
				return new(serverScript).str("RFB 003.007\n").u8(1, 1).serverInit(64, 32, Format32, "kiosk")
			},
			wantVer: "3.7", wantSec: SecNone,
			wantWrites: func() []byte { return []byte("RFB 003.007\n\x01\x01") },
		},
		{
			name: "3.3 vnc auth",
			script: func() *serverScript {
				return new(serverScript).str("RFB 003.003\n").u32(2).u8(challenge...).u32(0).serverInit(64, 32, Format16, "old")
			},
			password: pw, wantVer: "3.3", wantSec: SecVNCAuth,
			wantWrites: func() []byte {
				return append(append([]byte("RFB 003.003\n"), vncAuthResponse(pw, challenge)...), 1)
			},
		},
		{
			name: "UltraVNC 3.6 is treated as 3.3",
			script: func() *serverScript {
				return new(serverScript).str("RFB 003.006\n").u32(1).serverInit(8, 8, Format32, "ultra")
			},
			wantVer: "3.3", wantSec: SecNone,
			wantWrites: func() []byte { return []byte("RFB 003.003\n\x01") },
		},
		{
			name: "Apple 3.889 is treated as 3.8",
			script: func() *serverScript {
				return new(serverScript).str("RFB 003.889\n").u8(2, 30, 2).u8(challenge...).u32(0).serverInit(8, 8, Format32, "mac")
			},
			password: pw, wantVer: "3.8", wantSec: SecVNCAuth,
			wantWrites: func() []byte {
				return append(append([]byte("RFB 003.008\n\x02"), vncAuthResponse(pw, challenge)...), 1)
			},
		},
		{
			name: "3.8 tight security with vnc auth capability and a tunnel offered",
			script: func() *serverScript {
				s := new(serverScript).str("RFB 003.008\n").u8(2, 2, 16)
				s.u32(1).u32(0).str("TGHTNOTUNNEL") // one tunnel type
				s.u32(2).u32(1).str("STDVNOAUTH__").u32(2).str("STDVVNCAUTH_")
				s.u8(challenge...).u32(0).serverInit(8, 8, Format32, "tight")
				s.u16(1).u16(0).u16(1).u16(0).str(strings.Repeat("c", 32)) // interaction caps
				return s
			},
			password: pw, prefs: []SecurityType{SecTight}, wantVer: "3.8", wantSec: SecTight,
			wantWrites: func() []byte {
				b := []byte("RFB 003.008\n\x10\x00\x00\x00\x00\x00\x00\x00\x02")
				return append(append(b, vncAuthResponse(pw, challenge)...), 1)
			},
		},
		{
			name: "3.8 wrong password carries the server's reason",
			script: func() *serverScript {
				return new(serverScript).str("RFB 003.008\n").u8(1, 2).u8(challenge...).u32(1).reason("Authentication failure")
			},
			password: "wrong", wantErr: "authentication failed: Authentication failure",
		},
		{
			name: "3.3 too many attempts",
			script: func() *serverScript {
				return new(serverScript).str("RFB 003.003\n").u32(0).reason("Too many authentication failures")
			},
			wantErr: "refused the connection: Too many authentication failures",
		},
		{
			name: "3.8 no usable security type lists what was offered",
			script: func() *serverScript {
				return new(serverScript).str("RFB 003.008\n").u8(2, 18, 19)
			},
			wantErr: "the server offered TLS (18), VeNCrypt (19)",
		},
		{
			name:    "not a VNC server",
			script:  func() *serverScript { return new(serverScript).str("HTTP/1.1 400\r\n") },
			wantErr: "is not an RFB version",
		},
		{
			name:    "too old",
			script:  func() *serverScript { return new(serverScript).str("RFB 003.002\n") },
			wantErr: "oldest supported is 3.3",
		},
		{
			name: "huge desktop name",
			script: func() *serverScript {
				pf := Format32.Marshal()
				return new(serverScript).str("RFB 003.008\n").u8(1, 1).u32(0).u16(8).u16(8).u8(pf[:]...).u32(1 << 30)
			},
			wantErr: "desktop name of 1073741824 bytes",
		},
		{
			name: "bad pixel format",
			script: func() *serverScript {
				bad := Format32
				bad.BitsPerPixel = 24
				return new(serverScript).str("RFB 003.008\n").u8(1, 1).u32(0).serverInit(8, 8, bad, "x")
			},
			wantErr: "24 bits per pixel",
		},
		{
			name:    "truncated greeting",
			script:  func() *serverScript { return new(serverScript).str("RFB 00") },
			wantErr: "unexpected EOF",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, conn, err := dialScript(t, tt.script().Bytes(), ClientConfig{Password: tt.password, SecurityTypes: tt.prefs})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if tt.password != "" && strings.Contains(err.Error(), tt.password) {
					t.Fatalf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Version() != tt.wantVer || c.SecurityType() != tt.wantSec {
				t.Errorf("version %s security %v, want %s %v", c.Version(), c.SecurityType(), tt.wantVer, tt.wantSec)
			}
			want := tt.wantWrites()
			if got := conn.out.Bytes(); !bytes.HasPrefix(got, want) {
				t.Errorf("client sent %q, want it to start with %q", got, want)
			}
		})
	}
}

// handshake38 is a 3.8 None handshake for a w x h desktop in pf.
func handshake38(w, h uint16, pf PixelFormat) *serverScript {
	return new(serverScript).str("RFB 003.008\n").u8(1, 1).u32(0).serverInit(w, h, pf, "test")
}

func TestClientSendsSharedAndEncodings(t *testing.T) {
	_, conn, err := dialScript(t, handshake38(4, 4, Format32).Bytes(), ClientConfig{Encodings: []Encoding{EncZRLE}})
	if err != nil {
		t.Fatal(err)
	}
	out := conn.out.Bytes()[len("RFB 003.008\n")+1:]
	if out[0] != 1 {
		t.Fatalf("ClientInit shared flag %d, want 1: kioskwall must never disconnect other viewers", out[0])
	}
	msg := out[1:]
	if msg[0] != 2 {
		t.Fatalf("first message type %d, want SetEncodings", msg[0])
	}
	n := int(binary.BigEndian.Uint16(msg[2:]))
	var got []Encoding
	for i := 0; i < n; i++ {
		got = append(got, Encoding(int32(binary.BigEndian.Uint32(msg[4+4*i:]))))
	}
	want := []Encoding{EncZRLE, EncCursor, EncDesktopSize}
	if len(got) != len(want) {
		t.Fatalf("encodings %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("encodings %v, want %v", got, want)
		}
	}
}

func TestUpdates(t *testing.T) {
	red := []byte{0, 0, 0xff, 0} // Format32 little endian: b, g, r, x
	tests := []struct {
		name    string
		msgs    func(s *serverScript)
		check   func(t *testing.T, c *Client, fb *Buffer, msgs []Message)
		wantErr string
	}{
		{
			name: "raw rectangle and bell",
			msgs: func(s *serverScript) {
				s.u8(0, 0).u16(1).rect(1, 1, 2, 1, EncRaw).u8(red...).u8(red...)
				s.u8(2)
			},
			check: func(t *testing.T, c *Client, fb *Buffer, msgs []Message) {
				u := msgs[0].(*Update)
				if len(u.Rects) != 1 || u.Rects[0] != image.Rect(1, 1, 3, 2) || u.Encodings[EncRaw] != 1 {
					t.Errorf("update %+v", u)
				}
				if u.Bytes != 4+12+8 {
					t.Errorf("update counted %d bytes, want 24", u.Bytes)
				}
				if r, g, b := fb.RGBAt(2, 1); r != 0xff || g != 0 || b != 0 {
					t.Errorf("pixel (2,1) = %d,%d,%d, want red", r, g, b)
				}
				if _, ok := msgs[1].(*Bell); !ok {
					t.Errorf("second message %T, want *Bell", msgs[1])
				}
			},
		},
		{
			name: "desktop size then last rect",
			msgs: func(s *serverScript) {
				s.u8(0, 0).u16(0xffff).rect(0, 0, 10, 6, EncDesktopSize).rect(0, 0, 0, 0, EncLastRect)
			},
			check: func(t *testing.T, c *Client, fb *Buffer, msgs []Message) {
				if c.Width() != 10 || c.Height() != 6 || fb.Width != 10 || fb.Height != 6 || !msgs[0].(*Update).Resized {
					t.Errorf("after DesktopSize: client %dx%d, framebuffer %dx%d", c.Width(), c.Height(), fb.Width, fb.Height)
				}
				// The resize brought no pixels: nothing of the new screen was drawn.
				if u := msgs[0].(*Update); len(u.Rects) != 0 {
					t.Errorf("a DesktopSize alone reported drawn rectangles %v", u.Rects)
				}
			},
		},
		{
			name: "extended desktop size of the same size keeps the picture",
			msgs: func(s *serverScript) {
				s.u8(0, 0).u16(1).rect(0, 0, 1, 1, EncRaw).u8(0, 0, 0xff, 0)
				s.u8(0, 0).u16(1).rect(0, 0, 4, 4, EncExtendedDesktopSize).u8(1, 0, 0, 0).u8(make([]byte, 16)...)
			},
			check: func(t *testing.T, c *Client, fb *Buffer, msgs []Message) {
				if r, _, _ := fb.RGBAt(0, 0); r != 0xff || msgs[1].(*Update).Resized {
					t.Error("an ExtendedDesktopSize rectangle of the current size cleared the framebuffer")
				}
			},
		},
		{
			name: "refused extended desktop size changes nothing",
			msgs: func(s *serverScript) {
				s.u8(0, 0).u16(1).rect(1, 3, 10, 6, EncExtendedDesktopSize).u8(1, 0, 0, 0).u8(make([]byte, 16)...)
			},
			check: func(t *testing.T, c *Client, fb *Buffer, msgs []Message) {
				if c.Width() != 4 {
					t.Errorf("a refused resize changed the width to %d", c.Width())
				}
			},
		},
		{
			name: "cursor is kept, not drawn",
			msgs: func(s *serverScript) {
				s.u8(0, 0).u16(1).rect(1, 0, 2, 1, EncCursor).u8(red...).u8(red...).u8(0x80)
			},
			check: func(t *testing.T, c *Client, fb *Buffer, msgs []Message) {
				cur := c.Cursor()
				if cur == nil || cur.Hotspot != image.Pt(1, 0) || cur.Image.RGBAAt(0, 0).A != 0xff || cur.Image.RGBAAt(1, 0).A != 0 {
					t.Errorf("cursor %+v", cur)
				}
				if r, _, _ := fb.RGBAt(0, 0); r != 0 {
					t.Error("the cursor was drawn into the framebuffer")
				}
			},
		},
		{
			name: "colour map and cut text",
			msgs: func(s *serverScript) {
				s.u8(1, 0).u16(250).u16(2).u16(1).u16(2).u16(3).u16(4).u16(5).u16(6)
				s.u8(3, 0, 0, 0).reason("caf\xe9")
			},
			check: func(t *testing.T, c *Client, fb *Buffer, msgs []Message) {
				cm := msgs[0].(*ColourMap)
				if cm.First != 250 || len(cm.Colours) != 2 || fb.Palette[251] != (Colour{4, 5, 6}) {
					t.Errorf("colour map %+v, palette[251] %+v", cm, fb.Palette[251])
				}
				if ct := msgs[1].(*CutText); ct.Text != "café" {
					t.Errorf("cut text %q", ct.Text)
				}
			},
		},
		{
			name: "oversized cut text is dropped, not allocated",
			msgs: func(s *serverScript) {
				s.u8(3, 0, 0, 0).u32(2 << 20).u8(make([]byte, 2<<20)...)
			},
			check: func(t *testing.T, c *Client, fb *Buffer, msgs []Message) {
				if ct := msgs[0].(*CutText); !ct.Truncated || ct.Text != "" {
					t.Errorf("cut text %+v", ct)
				}
			},
		},
		{
			name:    "rectangle outside the framebuffer",
			msgs:    func(s *serverScript) { s.u8(0, 0).u16(1).rect(3, 0, 2, 1, EncRaw) },
			wantErr: "lies outside the 4x4 framebuffer",
		},
		{
			name:    "encoding not asked for",
			msgs:    func(s *serverScript) { s.u8(0, 0).u16(1).rect(0, 0, 1, 1, 99) },
			wantErr: "did not ask for",
		},
		{
			name:    "unknown pseudo-encoding",
			msgs:    func(s *serverScript) { s.u8(0, 0).u16(1).rect(0, 0, 1, 1, -999) },
			wantErr: "did not ask for this pseudo-encoding",
		},
		{
			name:    "colour map past 256 entries",
			msgs:    func(s *serverScript) { s.u8(1, 0).u16(200).u16(100) },
			wantErr: "beyond the 256",
		},
		{
			name:    "huge cursor",
			msgs:    func(s *serverScript) { s.u8(0, 0).u16(1).rect(0, 0, 5000, 5000, EncCursor) },
			wantErr: "cursor of 5000x5000",
		},
		{
			name:    "copyrect source outside",
			msgs:    func(s *serverScript) { s.u8(0, 0).u16(1).rect(0, 0, 2, 2, EncCopyRect).u16(3).u16(0) },
			wantErr: "lies outside the 4x4 framebuffer",
		},
		{
			name:    "unknown message type",
			msgs:    func(s *serverScript) { s.u8(77) },
			wantErr: "unknown server message type 77",
		},
		{
			name:    "truncated update",
			msgs:    func(s *serverScript) { s.u8(0, 0).u16(1).rect(0, 0, 2, 2, EncRaw).u8(1, 2, 3) },
			wantErr: "unexpected EOF",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := handshake38(4, 4, Format32)
			tt.msgs(s)
			fb := &Buffer{}
			c, _, err := dialScript(t, s.Bytes(), ClientConfig{Framebuffer: fb})
			if err != nil {
				t.Fatal(err)
			}
			var msgs []Message
			for {
				m, err := c.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					if tt.wantErr == "" || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("error %v, want %q", err, tt.wantErr)
					}
					return
				}
				if u, ok := m.(*Update); ok { // the client reuses its Update
					cp := *u
					cp.Rects = append([]image.Rectangle(nil), u.Rects...)
					m = &cp
				}
				msgs = append(msgs, m)
			}
			if tt.wantErr != "" {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			tt.check(t, c, fb, msgs)
		})
	}
}

func TestPixelFormatChangeAppliesAtNextUpdate(t *testing.T) {
	s := handshake38(2, 1, Format32)
	s.u8(0, 0).u16(1).rect(0, 0, 2, 1, EncRaw).u8(0xe0, 0x07) // one 8 bpp row: 2 pixels
	fb := &Buffer{}
	c, _, err := dialScript(t, s.Bytes(), ClientConfig{Framebuffer: fb})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetPixelFormat(Format8); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(); err != nil {
		t.Fatal(err)
	}
	if c.PixelFormat() != Format8 || fb.Format != Format8 || len(fb.Pix) != 2 {
		t.Fatalf("format %v, framebuffer %v with %d bytes", c.PixelFormat(), fb.Format, len(fb.Pix))
	}
	if r, g, b := fb.RGBAt(1, 0); r != 0xff || g != 0 || b != 0 {
		t.Errorf("BGR233 pixel 0x07 decoded as %d,%d,%d, want pure red", r, g, b)
	}
}

// FuzzClientHandshake feeds arbitrary server bytes to the handshake and the
// message loop: a hostile server must get an error, never a panic or an
// allocation it sized.
func FuzzClientHandshake(f *testing.F) {
	f.Add(handshake38(4, 4, Format32).u8(0, 0).u16(1).rect(0, 0, 1, 1, EncRaw).u8(1, 2, 3, 4).Bytes())
	f.Add(new(serverScript).str("RFB 003.003\n").u32(2).u8(make([]byte, 16)...).u32(0).serverInit(3, 3, Format8, "x").Bytes())
	f.Add(new(serverScript).str("RFB 003.008\n").u8(1, 16).u32(0).u32(1).u32(1).str("STDVNOAUTH__").u32(0).serverInit(3, 3, Format16, "t").u32(0).u32(0).Bytes())
	f.Add(handshake38(4, 4, Format32).u8(1, 0).u16(0).u16(1).u16(1).u16(2).u16(3).u8(3, 0, 0, 0).reason("x").Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		conn := &scriptConn{in: bytes.NewReader(data)}
		c, err := NewClient(context.Background(), conn, ClientConfig{Framebuffer: &smallBuffer{}, Password: "pw"})
		if err != nil {
			return
		}
		for i := 0; i < 16; i++ {
			if _, err := c.Next(); err != nil {
				return
			}
		}
	})
}

// smallBuffer refuses desktops over 512x512, as a caller with tight memory
// would: the fuzzer then explores protocol paths, not big allocations.
type smallBuffer struct{ Buffer }

func (b *smallBuffer) SetFormat(w, h int, pf PixelFormat) error {
	if w*h > 512*512 {
		return errors.New("desktop too large for this test")
	}
	return b.Buffer.SetFormat(w, h, pf)
}
