package thumbs

import (
	"image"
	"testing"

	"kioskwall/rfb"
)

// A picture is whole once the server has sent every pixel of the screen
// since its size was set, in any number of updates; a resize starts over.
func TestWholeOnceEveryPixelCame(t *testing.T) {
	full := image.Rect(0, 0, 64, 32)
	left, right := image.Rect(0, 0, 32, 32), image.Rect(32, 0, 64, 32)
	probe := image.Rect(0, 0, 1, 1)
	tests := []struct {
		name    string
		updates [][]image.Rectangle
		want    bool
	}{
		{"nothing yet", nil, false},
		{"a probe before the first frame", [][]image.Rectangle{{probe}}, false},
		{"the first frame", [][]image.Rectangle{{probe}, {full}}, true},
		{"the first frame in two updates", [][]image.Rectangle{{left}, {probe}, {right}}, true},
		{"the first frame in two rectangles", [][]image.Rectangle{{right, left}}, true},
		{"half the screen", [][]image.Rectangle{{left}, {left}}, false},
		{"rectangles beyond the screen count for their part in it", [][]image.Rectangle{{image.Rect(-8, -8, 40, 40)}, {image.Rect(30, 0, 99, 32)}}, true},
		{"an empty update", [][]image.Rectangle{{}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := New(Rendition{Name: "small", Width: 16, Height: 8})
			src := rfb.NewBuffer(64, 32, rfb.Format32)
			for _, u := range tt.updates {
				th.Apply(src, u)
			}
			if got := th.Whole(); got != tt.want {
				t.Errorf("Whole() = %v; want %v", got, tt.want)
			}
		})
	}

	th := New(Rendition{Name: "small", Width: 16, Height: 8})
	th.Apply(rfb.NewBuffer(64, 32, rfb.Format32), []image.Rectangle{full})
	th.Apply(rfb.NewBuffer(48, 32, rfb.Format32), []image.Rectangle{probe})
	if th.Whole() {
		t.Error("whole after a resize that brought one pixel of the new screen")
	}
	th.Apply(rfb.NewBuffer(48, 32, rfb.Format32), []image.Rectangle{image.Rect(0, 0, 48, 32)})
	if !th.Whole() {
		t.Error("not whole after the resized screen came")
	}
}
