package thumbs

import (
	"image"
	"time"
)

// Ticker learning. An area becomes a ticker when it alone changed in
// tickerStreak updates in a row, over at least tickerSpan, and covers at
// most 1/tickerShare of the screen. A clock showing seconds qualifies within
// a few seconds; a patient typing into a field rarely does, because other
// parts of the screen change with the typing and typing pauses. An area not
// seen for tickerForget is forgotten (the kiosk changed its layout).
const (
	tickerStreak = 4
	tickerSpan   = 3 * time.Second
	tickerShare  = 100
	tickerForget = 10 * time.Minute
	tickerMax    = 4
)

// tickerWatch learns the areas of a screen that change on their own, like a
// clock, so that updates touching nothing else can be told apart from
// changes a person made. A wall that re-encoded a thousand tiles for every
// clock tick would spend most of its CPU showing seconds.
type tickerWatch struct {
	cand      image.Rectangle // the last update's only rectangle
	streak    int
	candSince time.Time // the streak's first update
	candSeen  time.Time // its last
	known     []tickerArea
}

type tickerArea struct {
	r    image.Rectangle
	seen time.Time
}

// observe learns from one update's changed rectangles and reports whether
// they all lie in known ticker areas.
func (w *tickerWatch) observe(changed []image.Rectangle, screen image.Rectangle, now time.Time) (minor bool) {
	w.known = keepRecent(w.known, now)
	var rects []image.Rectangle
	for _, r := range changed {
		if r = r.Intersect(screen); !r.Empty() {
			rects = append(rects, r)
		}
	}
	if len(rects) == 0 {
		return false
	}
	w.learn(rects, screen, now)
	minor = true
	for _, r := range rects {
		i := w.find(r)
		if i < 0 {
			minor = false
			continue
		}
		// Still ticking, even beside other changes.
		w.known[i].seen = now
	}
	return minor
}

func (w *tickerWatch) learn(rects []image.Rectangle, screen image.Rectangle, now time.Time) {
	r := rects[0]
	small := len(rects) == 1 && area(r)*tickerShare <= area(screen)
	switch {
	case !small:
		w.streak = 0
		return
	case r == w.cand && w.streak > 0 && now.Sub(w.candSeen) < tickerForget:
		w.streak++
	default:
		w.cand, w.streak, w.candSince = r, 1, now
	}
	w.candSeen = now
	if w.streak < tickerStreak || now.Sub(w.candSince) < tickerSpan || w.find(r) >= 0 {
		return
	}
	if len(w.known) == tickerMax {
		oldest := 0
		for i, a := range w.known {
			if a.seen.Before(w.known[oldest].seen) {
				oldest = i
			}
		}
		w.known = append(w.known[:oldest], w.known[oldest+1:]...)
	}
	w.known = append(w.known, tickerArea{r: r, seen: now})
}

// find returns the known area holding r, or -1.
func (w *tickerWatch) find(r image.Rectangle) int {
	for i, a := range w.known {
		if r.In(a.r) {
			return i
		}
	}
	return -1
}

func keepRecent(known []tickerArea, now time.Time) []tickerArea {
	out := known[:0]
	for _, a := range known {
		if now.Sub(a.seen) < tickerForget {
			out = append(out, a)
		}
	}
	return out
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }
