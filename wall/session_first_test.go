package wall

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
	"testing"

	"kioskwall/rfb"
	"kioskwall/thumbs"
)

// On a narrow line a kiosk's first frame can take minutes to come, and a
// liveness probe (1x1) may be answered before it. The first tile waits for
// the whole screen: before, it showed the blank framebuffer with one pixel,
// a black screen the kiosk does not have. A kiosk whose screen is black
// gets its tile all the same.
func TestFirstTileWaitsForTheWholeScreen(t *testing.T) {
	for _, tt := range []struct {
		name  string
		grey  uint8 // the kiosk's screen
		light bool
	}{
		{"a light page", 240, true},
		{"a black screen", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var frames [][]thumbs.Frame
			env := &sessionEnv{
				thumbProfile: ThumbnailProfile,
				renditions:   []thumbs.Rendition{{Name: "small", Width: 64, Height: 36}},
				encoders:     &sync.Pool{New: func() any { return thumbs.NewEncoder() }},
				publish:      func(_ Target, f []thumbs.Frame) { frames = append(frames, f) },
				schedule:     DefaultSchedule,
			}
			s := newSession(env, Target{ID: "K1", Site: "west"})
			if err := s.desktop.SetFormat(192, 108, rfb.Format32); err != nil {
				t.Fatal(err)
			}
			// update decodes r (the kiosk's pixels) and hands it to the session.
			update := func(r image.Rectangle) {
				t.Helper()
				s.desktop.Draw(func(b *rfb.Buffer) []image.Rectangle {
					for y := r.Min.Y; y < r.Max.Y; y++ {
						for x := r.Min.X; x < r.Max.X; x++ {
							b.SetRGB(x, y, tt.grey, tt.grey, tt.grey)
						}
					}
					return nil
				})
				if err := s.applyUpdate(nil, &rfb.Update{Rects: []image.Rectangle{r}}); err != nil {
					t.Fatal(err)
				}
			}
			update(image.Rect(0, 0, 1, 1)) // the probe's answer
			update(image.Rect(0, 0, 192, 60))
			if len(frames) != 0 || s.Status().Thumbnails != 0 {
				t.Fatalf("published %d tiles before the whole screen came", len(frames))
			}
			update(image.Rect(0, 60, 192, 108))
			if len(frames) != 1 {
				t.Fatalf("published %d tiles once the whole screen came; want 1", len(frames))
			}
			img, err := jpeg.Decode(bytes.NewReader(frames[0][0].JPEG))
			if err != nil {
				t.Fatal(err)
			}
			// The bottom rows came last: they show the kiosk's screen too.
			r, g, b, _ := img.At(32, 30).RGBA()
			if light := r>>8 > 200 && g>>8 > 200 && b>>8 > 200; light != tt.light {
				t.Errorf("the first tile's bottom is %d,%d,%d; want the kiosk's grey %d", r>>8, g>>8, b>>8, tt.grey)
			}
		})
	}
}
