package rfb

import (
	"fmt"
	"image"
	"testing"
)

// BenchmarkServeUpdate measures one update of a kiosk-sized screen, from the
// desktop's pixels to bytes on the (discarding) connection: a full frame,
// and a clock-sized change.
func BenchmarkServeUpdate(b *testing.B) {
	const w, h = 1920, 1080
	d := newSceneDesktop(w, h, ColourMapped(), 1)
	for _, enc := range []Encoding{EncRaw, EncHextile, EncZRLE, EncTight} {
		for _, area := range []image.Rectangle{image.Rect(0, 0, w, h), image.Rect(1700, 20, 1900, 60)} {
			b.Run(fmt.Sprintf("%v/%dx%d", enc, area.Dx(), area.Dy()), func(b *testing.B) {
				conn := &fuzzConn{}
				s, err := newServerConn(conn, d, ServerConfig{})
				if err != nil {
					b.Fatal(err)
				}
				s.serverInit()
				defer d.unwatch(s.w)
				s.w.damage.reset() // measure only the area below
				if err := s.setPixelFormat(Format8); err != nil {
					b.Fatal(err)
				}
				s.prefs = defaultPrefs()
				s.prefs.pixel, s.prefs.lastRect = enc, true
				b.ReportAllocs()
				for b.Loop() {
					s.d.mu.Lock()
					s.w.damage.add(area)
					s.d.mu.Unlock()
					s.request(true, image.Rect(0, 0, w, h))
					sent := s.sent
					if err := s.update(); err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(s.sent-sent), "bytes/update")
				}
			})
		}
	}
}
