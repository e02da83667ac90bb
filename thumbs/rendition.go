package thumbs

// Rendition is one thumbnail size. Width is the bound that matters: the
// height follows the screen's aspect ratio, so a 5:4 kiosk is not squeezed.
type Rendition struct {
	Name    string // "small", "large"
	Width   int
	Height  int // the bound for tall screens; 0 means Width*9/16
	Quality int // JPEG quality 1-100
}

// DefaultRenditions are a dense-wall tile and a larger one for big tiles and
// hover previews.
var DefaultRenditions = []Rendition{
	{Name: "small", Width: 320, Height: 180, Quality: 60},
	{Name: "large", Width: 640, Height: 360, Quality: 70},
}

// fit returns the size of a thumbnail of a srcW x srcH screen inside r,
// keeping the aspect ratio and never scaling up.
func (r Rendition) fit(srcW, srcH int) (w, h int) {
	maxH := r.Height
	if maxH == 0 {
		maxH = r.Width * 9 / 16
	}
	if srcW <= 0 || srcH <= 0 {
		return 0, 0
	}
	w, h = r.Width, (r.Width*srcH+srcW/2)/srcW
	if h > maxH {
		w, h = (maxH*srcW+srcH/2)/srcH, maxH
	}
	if w > srcW || h > srcH {
		w, h = srcW, srcH
	}
	return max(w, 1), max(h, 1)
}
