package sim

import (
	"image"
	"log/slog"
	"net"
	"sync"
	"time"
)

// The bandwidth benchmark measures freshness: from the moment a kiosk's
// content changed (a page, a click, a key; never the clock) to a wall viewer
// receiving a tile that shows it. A tile shows the change only if it was
// made from an update the kiosk composed after the change. An update
// composed just before it may still be on its way when the change happens
// (paced reads stretch a big update over seconds on a busy line), and its
// tile, arriving after the change, does not show it.
//
// Only the kiosk's RFB server knows when it composes an update, and rfb.Serve
// does not say. The kiosk infers it from what it sees: its own drawing and
// the update requests coming in (clientStream). rfb.Serve composes an update
// as soon as a request is outstanding and the desktop has changed since the
// last one: at the request when a change waits, at the change when a request
// waits. A non-incremental request is answered at once, but carries only the
// area it asked for (a 1x1 liveness probe shows no change) unless it merges
// with an incremental request already waiting. The inference is exact to the
// scheduling of two goroutines, as long as a viewer asks for whole screens.

// Change is one change of a kiosk's content and when it left the kiosk.
type Change struct {
	Kiosk string
	// At is when the kiosk drew it.
	At time.Time
	// Composed is when the kiosk first composed an update for a viewer that
	// holds it (At itself when a request was waiting); zero while pending.
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

// updateWatch is one kiosk's part of the inference: the connections it
// serves and the content changes no update has carried yet.
type updateWatch struct {
	kiosk string
	size  image.Point
	feed  *changeFeed

	mu      sync.Mutex // guards everything below and every stream's flags
	streams map[*clientStream]struct{}
	pending []time.Time
}

// start makes the watch record changes from now on: the screen a kiosk
// draws before its fleet starts is its first, not a change.
func (w *updateWatch) start(kiosk string, size image.Point, feed *changeFeed) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.kiosk, w.size, w.feed = kiosk, size, feed
}

// drew records that the kiosk changed its desktop at at; content says the
// change is one that counts (not a clock tick). Every change, clock ticks
// included, lets a waiting request be answered.
func (w *updateWatch) drew(at time.Time, content bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.feed == nil {
		return
	}
	if content {
		if len(w.pending) == maxPending {
			w.pending = w.pending[1:]
		}
		w.pending = append(w.pending, at)
	}
	for s := range w.streams {
		if s.waiting {
			s.waiting, s.dirty = false, false
			w.composedLocked(at)
		} else {
			s.dirty = true
		}
	}
}

// requested records an update request that s's client sent at at.
func (w *updateWatch) requested(s *clientStream, at time.Time, r updateRequest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	whole := r.area.Intersect(image.Rectangle{Max: w.size}) == image.Rectangle{Max: w.size}
	switch {
	case !r.incremental && (whole || s.waiting):
		s.waiting, s.dirty = false, false
		w.composedLocked(at)
	case !r.incremental:
		// Answered at once with the area asked for; the changes elsewhere
		// still wait for a request that covers them.
	case s.dirty:
		s.dirty = false
		w.composedLocked(at)
	default:
		s.waiting = true
	}
}

// composedLocked publishes every pending change as composed at at.
func (w *updateWatch) composedLocked(at time.Time) {
	for _, t := range w.pending {
		w.feed.add(Change{Kiosk: w.kiosk, At: t, Composed: at})
	}
	w.pending = w.pending[:0]
}

func (w *updateWatch) attach(s *clientStream) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.streams == nil {
		w.streams = map[*clientStream]struct{}{}
	}
	// A new connection is owed the whole screen by its first update.
	s.dirty = true
	w.streams[s] = struct{}{}
}

func (w *updateWatch) detach(s *clientStream) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.streams, s)
}

func (w *updateWatch) appendPending(out []Change) []Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.pending {
		out = append(out, Change{Kiosk: w.kiosk, At: t})
	}
	return out
}

// clientStream is a kiosk's connection as the update inference sees it: it
// passes every byte on unchanged and parses a copy of what the client sends.
type clientStream struct {
	net.Conn
	w   *updateWatch
	log *slog.Logger

	parser  clientParser // owned by the one goroutine reading the connection
	broken  bool
	dirty   bool // guarded by w.mu: the desktop changed since the last update
	waiting bool // guarded by w.mu: a request waits for a change

	closeOnce sync.Once
}

func newClientStream(c net.Conn, w *updateWatch, password bool, log *slog.Logger) *clientStream {
	s := &clientStream{Conn: c, w: w, log: log, parser: clientParser{password: password}}
	w.attach(s)
	return s
}

func (s *clientStream) Read(p []byte) (int, error) {
	n, err := s.Conn.Read(p)
	if n > 0 && !s.broken {
		at := time.Now()
		if perr := s.parser.feed(p[:n], func(r updateRequest) { s.w.requested(s, at, r) }); perr != nil {
			s.broken = true
			s.w.detach(s)
			s.log.Warn("sim: cannot follow the client's messages; its updates are no longer inferred", "kiosk", s.w.kiosk, "err", perr)
		}
	}
	return n, err
}

func (s *clientStream) Close() error {
	s.closeOnce.Do(func() { s.w.detach(s) })
	return s.Conn.Close()
}
