package rfb

import (
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
