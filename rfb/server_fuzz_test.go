package rfb

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"testing"
	"time"
)

// clientBytes builds what a client sends, for fuzz seeds.
type clientBytes []byte

func (b clientBytes) version(minor int) clientBytes {
	return append(b, "RFB 003.00"+string(rune('0'+minor))+"\n"...)
}

func (b clientBytes) pixelFormat(pf PixelFormat) clientBytes {
	m := pf.Marshal()
	return append(append(b, 0, 0, 0, 0), m[:]...)
}

func (b clientBytes) encodings(encs ...Encoding) clientBytes {
	b = binary.BigEndian.AppendUint16(append(b, 2, 0), uint16(len(encs)))
	for _, e := range encs {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(e)))
	}
	return b
}

func (b clientBytes) request(incremental bool, r image.Rectangle) clientBytes {
	b = append(b, 3, boolByte(incremental))
	for _, v := range []int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()} {
		b = binary.BigEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func (b clientBytes) input() clientBytes {
	b = append(b, 4, 1, 0, 0, 0, 0, 0xff, 0x0d)        // key down Return
	b = append(b, 5, 1, 0, 10, 0, 5)                   // pointer
	return append(b, 6, 0, 0, 0, 0, 0, 0, 2, 'h', 'i') // cut text
}

func (b clientBytes) setDesktopSize() clientBytes {
	return append(b, 251, 0, 0, 100, 0, 50, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 50, 0, 0, 0, 0)
}

// serverSessionSeeds are whole client sessions; the first byte selects the
// server's MaxVersion and desktop format (see FuzzServerSession).
func serverSessionSeeds() [][]byte {
	full := image.Rect(0, 0, fuzzDesktopW, fuzzDesktopH)
	all := []Encoding{EncTight, EncZRLE, EncHextile, EncCopyRect, EncRaw, EncCursor, EncDesktopSize,
		EncExtendedDesktopSize, EncLastRect, EncQualityLevel0 + 6, EncCompressLevel0 + 2, EncFineQuality0 + 80}
	s38 := clientBytes{0}.version(8)
	s38 = append(s38, 1, 1)
	s38 = s38.pixelFormat(Format16).encodings(all...).request(false, full).input().
		request(true, full).setDesktopSize().request(true, image.Rect(2, 2, 5, 5))
	s37 := clientBytes{1 + 3}.version(7)
	s37 = append(s37, 1, 0)
	s37 = s37.encodings(EncZRLE, EncRaw, EncLastRect).pixelFormat(Format8).request(false, full).
		pixelFormat(ColourMapped()).request(false, image.Rect(0, 0, 4, 4))
	s33 := clientBytes{2 + 6}.version(3)
	s33 = append(s33, 1)
	s33 = s33.encodings(EncHextile, EncCopyRect, EncCursor).request(false, full).input().request(true, full)
	bad := clientBytes{0}.version(8)
	bad = append(bad, 1, 1, 6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff)
	return [][]byte{s38, s37, s33, bad}
}

const fuzzDesktopW, fuzzDesktopH = 40, 24

// FuzzServerSession feeds arbitrary bytes to Serve as the client side of a
// connection: whatever they are, Serve must return, without panicking,
// once the client is done.
func FuzzServerSession(f *testing.F) {
	for _, s := range serverSessionSeeds() {
		f.Add(s)
	}
	versions := []string{"3.8", "3.7", "3.3"}
	formats := []PixelFormat{Format32, Format16, ColourMapped()}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		sel := int(data[0])
		data = data[1:]
		d := newSceneDesktop(fuzzDesktopW, fuzzDesktopH, formats[sel/3%3], uint64(sel))
		if sel&0x10 != 0 {
			d.SetCursor(&Cursor{Hotspot: image.Pt(1, 1), Image: image.NewRGBA(image.Rect(0, 0, 3, 3))})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Half way through the bytes the desktop changes, so that held
		// incremental requests have something to answer.
		conn := &fuzzConn{scriptConn: scriptConn{in: bytes.NewReader(data)}, half: len(data) / 2, atHalf: func() {
			fillDesktop(d, image.Rect(3, 3, 9, 7), [3]uint8{1, 2, 3})
			d.CopyRect(image.Rect(20, 10, 30, 20), image.Pt(0, 0))
		}}
		done := make(chan error, 1)
		go func() {
			done <- Serve(ctx, conn, d, ServerConfig{MaxVersion: versions[sel%3]})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after the client's bytes ended")
		}
	})
}

// fuzzConn is the client side of a connection as a script: reads come from
// the fuzzer's bytes (then EOF) in small pieces, so messages straddle reads;
// writes are discarded. The rest of net.Conn is client_test.go's scriptConn.
type fuzzConn struct {
	scriptConn
	half   int
	atHalf func()
	passed bool
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	if !c.passed && c.in.Len() <= c.half {
		c.passed = true
		c.atHalf()
	}
	return c.in.Read(p[:min(len(p), 13)])
}

func (c *fuzzConn) Write(p []byte) (int, error) { return len(p), nil }
