package sim

import (
	"encoding/binary"
	"image"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// clientBytes builds what an RFB client sends, message by message, straight
// from the protocol's layouts.
type clientBytes []byte

func (b clientBytes) u8(v ...byte) clientBytes { return append(b, v...) }
func (b clientBytes) u16(v int) clientBytes    { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func (b clientBytes) u32(v int) clientBytes    { return binary.BigEndian.AppendUint32(b, uint32(v)) }

func (b clientBytes) request(incremental bool, r image.Rectangle) clientBytes {
	inc := byte(0)
	if incremental {
		inc = 1
	}
	return b.u8(3, inc).u16(r.Min.X).u16(r.Min.Y).u16(r.Dx()).u16(r.Dy())
}

// session is everything after the handshake: one of each message the
// kiosks read, two requests among them.
func session() (clientBytes, []updateRequest) {
	var b clientBytes
	b = b.u8(0, 0, 0, 0).u8(make([]byte, 16)...)                          // SetPixelFormat
	b = b.u8(2, 0).u16(3).u32(7).u32(0xffffff21).u32(0xfffffee6)          // SetEncodings, 3
	b = b.request(false, image.Rect(0, 0, 1920, 1080))                    //
	b = b.u8(4, 1, 0, 0).u32(0x31)                                        // KeyEvent
	b = b.u8(5, 1).u16(300).u16(200)                                      // PointerEvent
	b = b.u8(6, 0, 0, 0).u32(5).u8([]byte("hello")...)                    // ClientCutText
	b = b.u8(251, 0).u16(800).u16(600).u8(2, 0).u8(make([]byte, 2*16)...) // SetDesktopSize, 2 screens
	b = b.u8(6, 0, 0, 0).u32(3).u8(3, 3, 3)                               // cut text that looks like request bytes
	b = b.request(true, image.Rect(10, 20, 11, 21))                       //
	b = b.u8(2, 0).u16(0)                                                 // SetEncodings, none
	return b, []updateRequest{
		{false, image.Rect(0, 0, 1920, 1080)},
		{true, image.Rect(10, 20, 11, 21)},
	}
}

func TestClientParserFollowsSessions(t *testing.T) {
	msgs, want := session()
	auth := make([]byte, 16)
	for i := range auth {
		auth[i] = 3 // challenge answers look like message types too
	}
	for _, tc := range []struct {
		name      string
		password  bool
		handshake clientBytes
	}{
		{"3.8 none", false, clientBytes("RFB 003.008\n").u8(1, 1)},
		{"3.8 vnc auth", true, clientBytes("RFB 003.008\n").u8(2).u8(auth...).u8(1)},
		{"3.7 none", false, clientBytes("RFB 003.007\n").u8(1, 0)},
		{"3.3 none", false, clientBytes("RFB 003.003\n").u8(1)},
		{"3.3 vnc auth", true, clientBytes("RFB 003.003\n").u8(auth...).u8(0)},
		{"3.889 as 3.8", false, clientBytes("RFB 003.889\n").u8(1, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := append(slices.Clone(tc.handshake), msgs...)
			rng := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			// Whole, a byte at a time, and in random pieces: the same requests.
			for split := range 12 {
				p := clientParser{password: tc.password}
				var got []updateRequest
				rest := stream
				for len(rest) > 0 {
					n := len(rest)
					switch {
					case split == 1:
						n = 1
					case split > 1:
						n = min(n, 1+rng.IntN(23))
					}
					if err := p.feed(rest[:n], func(r updateRequest) { got = append(got, r) }); err != nil {
						t.Fatalf("split %d: %v", split, err)
					}
					rest = rest[n:]
				}
				if !slices.Equal(got, want) {
					t.Fatalf("split %d: requests %v, want %v", split, got, want)
				}
			}
		})
	}
}

func TestClientParserRefusesWhatItCannotFollow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream clientBytes
		want   string
	}{
		{"not rfb", clientBytes("GET / HTTP/1.1\r\n"), "not RFB 3.x"},
		{"rfb 4", clientBytes("RFB 004.000\n"), "not RFB 3.x"},
		{"tight security", clientBytes("RFB 003.008\n").u8(16), "security type 16"},
		{"unknown message", clientBytes("RFB 003.008\n").u8(1, 1, 150), "message type 150"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p clientParser
			err := p.feed(tc.stream, func(updateRequest) { t.Error("a request was reported") })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// Whatever a client sends, the parser neither panics nor reports a request
// it did not complete, and pieces parse as the whole does.
func FuzzClientParser(f *testing.F) {
	msgs, _ := session()
	f.Add([]byte(append(clientBytes("RFB 003.008\n").u8(1, 1), msgs...)), false)
	f.Add([]byte(append(clientBytes("RFB 003.003\n").u8(make([]byte, 16)...).u8(0), msgs...)), true)
	f.Fuzz(func(t *testing.T, stream []byte, password bool) {
		whole := clientParser{password: password}
		var all []updateRequest
		errWhole := whole.feed(stream, func(r updateRequest) { all = append(all, r) })
		bytewise := clientParser{password: password}
		var one []updateRequest
		var errOne error
		for i := range stream {
			if errOne = bytewise.feed(stream[i:i+1], func(r updateRequest) { one = append(one, r) }); errOne != nil {
				break
			}
		}
		if (errWhole == nil) != (errOne == nil) || !slices.Equal(all, one) {
			t.Fatalf("whole: %v, %v; a byte at a time: %v, %v", all, errWhole, one, errOne)
		}
		if len(all)*10 > len(stream) {
			t.Fatalf("%d requests from %d bytes", len(all), len(stream))
		}
	})
}
