package rfb

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// replayFinal replays a recorded session from testdata/sessions and returns
// the framebuffer it leaves.
func replayFinal(t *testing.T, name string) *Buffer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "sessions", name+".rfbrec"))
	if err != nil {
		t.Fatal(err)
	}
	fb := &Buffer{}
	c, err := NewReplay(bytes.NewReader(data), fb)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := c.Next(); errors.Is(err, io.EOF) {
			return fb
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestRealSessionsDecodeLikeRaw replays what real servers (TigerVNC's Xvnc,
// TightVNC's Xtightvnc) sent in ZRLE and Tight for the same scene and changes
// as the Raw recording, and checks the picture against Raw's: exactly for
// lossless 32 bpp sessions; within a rounding step for the other depths,
// where the server converts colours its own way; by PSNR for JPEG.
func TestRealSessionsDecodeLikeRaw(t *testing.T) {
	raw := replayFinal(t, "xvnc-raw-32")
	for _, name := range []string{"xvnc-zrle-32", "xvnc-tight-32"} {
		if fb := replayFinal(t, name); !bytes.Equal(fb.Pix, raw.Pix) {
			t.Errorf("%s: picture differs from Raw's", name)
		}
	}
	for _, name := range []string{"xvnc-zrle-8", "xvnc-tight-16", "xtightvnc-tight-8"} {
		fb := replayFinal(t, name)
		step := 256 / (int(fb.Format.BlueMax) + 1) // the coarsest channel's step
		for y := 0; y < raw.Height; y++ {
			for x := 0; x < raw.Width; x++ {
				r0, g0, b0 := raw.RGBAt(x, y)
				r1, g1, b1 := fb.RGBAt(x, y)
				if channelDiff(r0, r1) > step || channelDiff(g0, g1) > step || channelDiff(b0, b1) > step {
					t.Fatalf("%s: pixel (%d,%d) is %d,%d,%d; Raw has %d,%d,%d", name, x, y, r1, g1, b1, r0, g0, b0)
				}
			}
		}
	}
	jpeg := replayFinal(t, "xvnc-tightjpeg-32")
	if got := psnr(raw, jpeg, raw.Bounds()); got < 30 {
		t.Errorf("Tight JPEG session: PSNR %.1f dB against Raw, want at least 30", got)
	}
}

func channelDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
