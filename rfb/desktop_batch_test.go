package rfb

import (
	"image"
	"testing"
	"time"
)

// While a kiosk's update decodes into a Desktop (BeginUpdate..EndUpdate),
// its connections send nothing; then one update brings every row.
func TestDesktopBatchesAnUpdate(t *testing.T) {
	const w, h = 64, 48
	d := newSceneDesktop(w, h, Format32, 4)
	c, sent, done := serveHooked(t, d, EncRaw)
	whole := image.Rect(0, 0, w, h)
	c.request(false, whole)
	c.readUpdate(4)
	nextSent(t, sent)

	c.request(true, whole)
	d.BeginUpdate()
	row := make([]byte, 4*w)
	for i := range row {
		row[i] = 0x5a
	}
	for y := 10; y < 20; y++ {
		d.WritePixels(image.Rect(0, y, w, y+1), row)
		time.Sleep(2 * time.Millisecond) // time enough for a connection to answer
	}
	select {
	case u := <-sent:
		t.Fatalf("an update went out in the middle of the kiosk's update: %v", u.Area)
	default:
	}
	d.EndUpdate()
	rects, _ := c.readUpdate(4)
	nextSent(t, sent)
	var got []image.Rectangle
	for _, r := range rects {
		got = append(got, r.r)
	}
	if !Covers(got, image.Rect(0, 10, w, 20)) {
		t.Errorf("the update after EndUpdate brought %v, want all ten rows", got)
	}
	endSession(t, c, sent, done)
}
