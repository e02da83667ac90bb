package rfb

import (
	"bufio"
	"bytes"
	"image"
	"runtime"
	"strings"
	"testing"
)

// Malformed client input ends that client's session with an error saying
// what was wrong; another client of the same desktop carries on.
func TestServeMalformedClientInput(t *testing.T) {
	pf24 := Format32.Marshal()
	pf24[0] = 24
	cm := ColourMapped().Marshal()
	for _, tc := range []struct {
		name    string
		desktop PixelFormat
		send    []byte
		want    string // in the error
	}{
		{"unknown message type", Format32, []byte{99, 1, 2, 3}, "unknown client message type 99"},
		{"EnableContinuousUpdates never offered", Format32, []byte{150, 1, 0, 0, 0, 0, 0, 10, 0, 10}, "unknown client message type 150"},
		{"truncated SetEncodings", Format32, []byte{2, 0, 0, 5, 0, 0, 0, 0, 0, 0}, "SetEncodings from the client: unexpected EOF"},
		{"truncated FramebufferUpdateRequest", Format32, []byte{3, 1, 0, 0}, "FramebufferUpdateRequest from the client: unexpected EOF"},
		{"truncated SetPixelFormat", Format32, []byte{0, 0, 0, 0, 32, 24}, "SetPixelFormat from the client: unexpected EOF"},
		{"24 bits per pixel", Format32, append([]byte{0, 0, 0, 0}, pf24[:]...), "24 bits per pixel"},
		{"colour map on a true-colour desktop", Format32, append([]byte{0, 0, 0, 0}, cm[:]...), "colour-mapped"},
		{"huge cut text", Format32, []byte{6, 0, 0, 0, 0x06, 0x40, 0, 0, 'a', 'b'}, "cut text of 104857600 bytes exceeds"},
		{"truncated cut text", Format32, []byte{6, 0, 0, 0, 0, 0, 0, 10, 'a', 'b'}, "ClientCutText from the client: unexpected EOF"},
		{"truncated key event", Format32, []byte{4, 1, 0}, "KeyEvent from the client: unexpected EOF"},
		{"truncated SetDesktopSize screens", Format32, []byte{251, 0, 0, 10, 0, 10, 2, 0, 1, 2, 3}, "SetDesktopSize from the client: unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newSceneDesktop(64, 32, tc.desktop, 5)
			srv := startServer(t, d, ServerConfig{})
			good, fb := dialServed(t, srv, nil, []Encoding{EncRaw})
			if err := good.Request(false, image.Rect(0, 0, 64, 32)); err != nil {
				t.Fatal(err)
			}
			nextData(t, good)

			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			bad := dialRaw(t, srv.addr)
			bad.handshake38None()
			bad.send(tc.send...)
			bad.conn.(interface{ CloseWrite() error }).CloseWrite()
			err := srv.result(t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Serve: %v, want an error containing %q", err, tc.want)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
				t.Errorf("serving the bad client allocated %d bytes", grew)
			}

			// The good client still gets updates.
			fillDesktop(d, image.Rect(1, 1, 9, 9), [3]uint8{200, 100, 50})
			if err := good.Request(true, image.Rect(0, 0, 64, 32)); err != nil {
				t.Fatal(err)
			}
			if u := nextData(t, good); unionOf(u.Rects) != image.Rect(1, 1, 9, 9) {
				t.Errorf("good client's update after the bad one: %v", u.Rects)
			}
			checkScreen(t, fb, d)
		})
	}
}

func TestSetEncodingsPrefs(t *testing.T) {
	all := defaultPrefs()
	for _, tc := range []struct {
		name    string
		offered []Encoding // ServerConfig.Encodings
		list    []Encoding // the client's SetEncodings
		want    encodingPrefs
	}{
		{"nothing asked: raw, lossless", nil, nil, all},
		{"first offered pixel encoding wins", nil, []Encoding{99, 100, EncZRLE, EncTight},
			encodingPrefs{pixel: EncZRLE, opts: all.opts}},
		{"server offering less", []Encoding{EncHextile}, []Encoding{EncTight, EncZRLE},
			encodingPrefs{pixel: EncRaw, opts: all.opts}},
		{"pseudo-encodings", nil, []Encoding{EncCursor, EncHextile, EncCopyRect, EncDesktopSize, EncExtendedDesktopSize, EncLastRect, EncDesktopName, -312, 0x574d5664},
			encodingPrefs{pixel: EncHextile, copyRect: true, cursor: true, desktopSize: true, extDesktopSize: true, lastRect: true, opts: all.opts}},
		{"CopyRect not offered", []Encoding{EncRaw}, []Encoding{EncCopyRect, EncRaw},
			encodingPrefs{pixel: EncRaw, opts: all.opts}},
		{"quality level and compression", nil, []Encoding{EncTight, EncQualityLevel0 + 8, EncCompressLevel0 + 3},
			encodingPrefs{pixel: EncTight, opts: EncodeOptions{Quality: 92, Compression: 3}}},
		{"quality level 0", nil, []Encoding{EncTight, EncQualityLevel0},
			encodingPrefs{pixel: EncTight, opts: EncodeOptions{Quality: 15, Compression: defaultCompression}}},
		{"fine quality beats the level, wherever it is", nil, []Encoding{EncTight, EncQualityLevel0 + 2, EncFineQuality0 + 70, EncSubsamp2X},
			encodingPrefs{pixel: EncTight, opts: EncodeOptions{Quality: 70, Compression: defaultCompression}}},
		{"first of repeated levels counts", nil, []Encoding{EncCompressLevel0 + 9, EncCompressLevel0 + 1},
			encodingPrefs{pixel: EncRaw, opts: EncodeOptions{Quality: -1, Compression: 9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newServerConn(nil, NewDesktop(1, 1, Format32), ServerConfig{Encodings: tc.offered})
			if err != nil {
				t.Fatal(err)
			}
			if tc.list != nil {
				b := clientBytes(nil).encodings(tc.list...)
				s.in = bufio.NewReader(bytes.NewReader(b))
				m, err := s.readMessage()
				if err != nil {
					t.Fatal(err)
				}
				s.prefs = m.prefs
			} else {
				s.prefs = defaultPrefs()
			}
			if s.prefs != tc.want {
				t.Errorf("prefs %+v, want %+v", s.prefs, tc.want)
			}
		})
	}
}

func TestServerConfigEncodingsChecked(t *testing.T) {
	_, err := newServerConn(nil, NewDesktop(1, 1, Format32), ServerConfig{Encodings: []Encoding{99}})
	if err == nil || !strings.Contains(err.Error(), "encoding(99)") {
		t.Errorf("offering an encoding the server cannot encode: %v", err)
	}
}
