package wall

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
	"testing"
	"time"

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
			s := newSession(tileTestEnv(&frames), Target{ID: "K1", Site: "west"})
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
				if err := s.applyUpdate(&rfb.Update{Rects: []image.Rectangle{r}}); err != nil {
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

// After a resize the framebuffer is blank until the server has sent the new
// screen, in the same update or a later one: no tile of it is published
// before.
func TestTileAfterResizeWaitsForTheNewScreen(t *testing.T) {
	var frames [][]thumbs.Frame
	env := tileTestEnv(&frames)
	env.schedule.PublishEvery = time.Nanosecond // every change is published at once
	s := newSession(env, Target{ID: "K1", Site: "west"})
	s.setWatch(1) // a page shows the small tile
	paint := func(r image.Rectangle) {
		s.desktop.Draw(func(b *rfb.Buffer) []image.Rectangle {
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					b.SetRGB(x, y, 240, 240, 240)
				}
			}
			return nil
		})
	}
	apply := func(u *rfb.Update) {
		t.Helper()
		if err := s.applyUpdate(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.desktop.SetFormat(192, 108, rfb.Format32); err != nil {
		t.Fatal(err)
	}
	paint(image.Rect(0, 0, 192, 108))
	apply(&rfb.Update{Rects: []image.Rectangle{image.Rect(0, 0, 192, 108)}})
	if len(frames) != 1 {
		t.Fatalf("%d tiles of the first screen; want 1", len(frames))
	}

	// The kiosk's screen grows; its pixels come in the next update.
	if err := s.desktop.SetFormat(256, 144, rfb.Format32); err != nil {
		t.Fatal(err)
	}
	apply(&rfb.Update{Resized: true})
	if len(frames) != 1 {
		t.Fatalf("a tile was published after the resize alone, before the new screen came")
	}
	paint(image.Rect(0, 0, 256, 144))
	apply(&rfb.Update{Rects: []image.Rectangle{image.Rect(0, 0, 256, 144)}})
	if len(frames) != 2 {
		t.Fatalf("%d tiles after the new screen came; want 2", len(frames))
	}
	img, err := jpeg.Decode(bytes.NewReader(frames[1][0].JPEG))
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := img.At(32, 18).RGBA(); r>>8 < 200 {
		t.Errorf("the tile after the resize shows %d in its middle; want the light page", r>>8)
	}
}

// tileTestEnv is what a session needs to make 64x36 tiles, which it hands
// to frames instead of a tile store.
func tileTestEnv(frames *[][]thumbs.Frame) *sessionEnv {
	return &sessionEnv{
		thumbProfile: ThumbnailProfile,
		renditions:   []thumbs.Rendition{{Name: "small", Width: 64, Height: 36}},
		encoders:     &sync.Pool{New: func() any { return thumbs.NewEncoder() }},
		publish:      func(_ Target, f []thumbs.Frame) { *frames = append(*frames, f) },
		schedule:     DefaultSchedule,
	}
}
