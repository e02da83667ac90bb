package sim

import (
	"image"
	"slices"
	"sync"
	"time"

	"kioskwall/rfb"
)

// The bandwidth benchmark measures freshness: from the moment a kiosk's
// content changed (a page, a click, a key; never the clock) to a wall viewer
// receiving a tile that shows it. A tile shows the change only if it was
// made from an update the kiosk composed after the change. An update
// composed just before it may still be on its way when the change happens
// (paced reads stretch a big update over seconds on a busy line), and its
// tile, arriving after the change, does not show it.
//
// rfb.Serve tells the kiosk of every update it sends (ServerConfig.OnUpdate):
// when the update took the desktop's changes and which area it brought up to
// date. The kiosk notes each content change with the area it drew and the
// time, read under the desktop's lock as the server reads its own, so that a
// change drawn before an update took the changes has the earlier time and
// one drawn after has the later. A change is composed by the first update to
// any viewer that took the changes after it and covers its area: a 1x1
// liveness probe carries no change drawn elsewhere.

// Change is one change of a kiosk's content and when it left the kiosk.
type Change struct {
	Kiosk string
	// At is when the kiosk drew it.
	At time.Time
	// Composed is when the kiosk first composed an update for a viewer that
	// holds it; zero while pending.
	Composed time.Time
}

// Limits on what the fleet keeps for readers of changes. At a thousand
// kiosks of the benchmark's mix, maxChanges holds several minutes.
const (
	maxChanges = 1 << 16 // composed changes kept for Changes
	maxPending = 1 << 10 // changes one kiosk keeps while no update carries them
)

// changeFeed holds the fleet's composed changes in the order they were
// composed, numbered from 0, for readers that poll.
type changeFeed struct {
	mu    sync.Mutex
	first int64 // number of held[0]
	held  []Change
}

func (f *changeFeed) add(c Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.held) == maxChanges {
		// Drop the older half at once, so adding stays cheap.
		n := copy(f.held, f.held[maxChanges/2:])
		f.held = f.held[:n]
		f.first += maxChanges / 2
	}
	f.held = append(f.held, c)
}

// since returns the changes numbered from on, the number to ask from next
// time, and how many changes from on were dropped before they were read.
func (f *changeFeed) since(from int64) (out []Change, next, lost int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if from < f.first {
		lost, from = f.first-from, f.first
	}
	end := f.first + int64(len(f.held))
	if from < end {
		out = append(out, f.held[from-f.first:]...)
	}
	return out, max(from, end), lost
}

// Changes returns the changes composed into an update since number from
// (start with 0), the number to pass next time, and how many were lost
// because the fleet keeps only the latest 65536.
func (f *Fleet) Changes(from int64) (changes []Change, next, lost int64) {
	return f.changes.since(from)
}

// PendingChanges lists the changes no update has carried yet, by kiosk
// index, each kiosk's oldest first.
func (f *Fleet) PendingChanges() []Change {
	var out []Change
	for _, k := range f.kiosks {
		out = k.watch.appendPending(out)
	}
	return out
}

// updateWatch is one kiosk's record of the content changes no update has
// carried yet.
type updateWatch struct {
	mu      sync.Mutex // guards everything below
	kiosk   string
	feed    *changeFeed // nil until the fleet starts
	pending []drawnChange
	clock   image.Rectangle
}

// drawnChange is a content change no update has carried yet.
type drawnChange struct {
	at   time.Time
	area image.Rectangle
}

// start makes the watch record changes from now on: the screen a kiosk
// draws before its fleet starts is its first, not a change.
//
// A change counts as sent by an update that covers it, but for the clock:
// a wall that shows a change of content with a clock a few seconds behind
// shows the change (kioskwall leaves ticking areas out of most requests).
func (w *updateWatch) start(kiosk string, feed *changeFeed, clock image.Rectangle) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.kiosk, w.feed, w.clock = kiosk, feed, clock
}

// drew records a change of content (not a clock tick) drawn into area. It
// must be called from inside Desktop.Draw: the desktop's lock orders its
// time with the times of the server's updates.
func (w *updateWatch) drew(area image.Rectangle) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.feed == nil {
		return
	}
	if len(w.pending) == maxPending {
		w.pending = w.pending[1:]
	}
	w.pending = append(w.pending, drawnChange{at: time.Now(), area: area})
}

// sent is the server's rfb.ServerConfig.OnUpdate: u carries every pending
// change drawn before it took the desktop's changes, inside its area.
func (w *updateWatch) sent(u rfb.SentUpdate) {
	w.mu.Lock()
	defer w.mu.Unlock()
	kept := w.pending[:0]
	for _, c := range w.pending {
		if c.at.Before(u.Composed) && w.covered(u.Area, c.area) {
			w.feed.add(Change{Kiosk: w.kiosk, At: c.at, Composed: u.Composed})
			continue
		}
		kept = append(kept, c)
	}
	w.pending = kept
}

func (w *updateWatch) appendPending(out []Change) []Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.pending {
		out = append(out, Change{Kiosk: w.kiosk, At: c.at})
	}
	return out
}

// covered reports whether an update of region brought a change of area up
// to date, the clock aside (see start).
func (w *updateWatch) covered(region []image.Rectangle, area image.Rectangle) bool {
	return rfb.Covers(slices.Concat(region, []image.Rectangle{w.clock}), area)
}
