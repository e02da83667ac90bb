package wall

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"kioskwall/thumbs"
)

// Tile is the latest picture of one kiosk at one rendition. A Tile is never
// changed after it is stored: a new picture is a new Tile, so readers may
// keep and share it without locks.
type Tile struct {
	KioskID   string    `json:"kiosk"`
	Rendition string    `json:"rendition"`
	Seq       uint64    `json:"seq"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	Updated   time.Time `json:"updated"` // when the picture last changed
	// Stale is set for pictures loaded from the data dir at start-up that
	// the kiosk has not yet confirmed.
	Stale bool   `json:"stale"`
	JPEG  []byte `json:"-"`
}

// TileStore keeps the latest tile of every kiosk and rendition, tells
// listeners when one changes, and saves them to the data dir so that the wall
// shows the last pictures (marked stale) right after a restart.
type TileStore struct {
	mu        sync.RWMutex
	tiles     map[string]map[string]*Tile // kiosk -> rendition -> tile
	listeners []func(kioskID string)
	dirty     map[string]bool // kiosks changed since the last save
	now       func() time.Time
}

// NewTileStore returns an empty store.
func NewTileStore() *TileStore {
	return &TileStore{tiles: map[string]map[string]*Tile{}, dirty: map[string]bool{}, now: time.Now}
}

// Listen registers f to be called (without locks held) after a kiosk's tiles
// change. Register listeners before the fleet starts.
func (ts *TileStore) Listen(f func(kioskID string)) {
	ts.mu.Lock()
	ts.listeners = append(ts.listeners, f)
	ts.mu.Unlock()
}

// Put stores new frames of a kiosk.
func (ts *TileStore) Put(kioskID string, frames []thumbs.Frame) {
	now := ts.now()
	ts.mu.Lock()
	m := ts.tiles[kioskID]
	if m == nil {
		m = map[string]*Tile{}
		ts.tiles[kioskID] = m
	}
	for _, f := range frames {
		seq := f.Seq
		if old := m[f.Rendition]; old != nil && old.Seq >= seq {
			// Sequence numbers restart with a new session; keep them rising.
			seq = old.Seq + 1
		}
		m[f.Rendition] = &Tile{KioskID: kioskID, Rendition: f.Rendition, Seq: seq, Width: f.Width, Height: f.Height, Updated: now, JPEG: f.JPEG}
	}
	ts.dirty[kioskID] = true
	listeners := ts.listeners
	ts.mu.Unlock()
	for _, l := range listeners {
		l(kioskID)
	}
}

// Get returns the latest tile of a kiosk at a rendition; with rendition ""
// the largest one.
func (ts *TileStore) Get(kioskID, rendition string) (*Tile, bool) {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	m := ts.tiles[kioskID]
	if rendition != "" {
		t, ok := m[rendition]
		return t, ok
	}
	var best *Tile
	for _, t := range m {
		if best == nil || t.Width > best.Width {
			best = t
		}
	}
	return best, best != nil
}

// KioskIDs lists the kiosks that have tiles, in no particular order.
func (ts *TileStore) KioskIDs() []string {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	ids := make([]string, 0, len(ts.tiles))
	for id := range ts.tiles {
		ids = append(ids, id)
	}
	return ids
}

// Remove forgets a kiosk that left the inventory.
func (ts *TileStore) Remove(kioskID string) {
	ts.mu.Lock()
	delete(ts.tiles, kioskID)
	ts.dirty[kioskID] = true
	ts.mu.Unlock()
}

// safeID keeps file names inside the data dir whatever an inventory says.
var safeID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// tileMeta is what is saved beside each JPEG.
type tileMeta struct {
	Tile
}

// Save writes the tiles of kiosks changed since the last save into dir/tiles,
// one JPEG and one JSON file per tile, each replaced atomically.
func (ts *TileStore) Save(dir string) error {
	ts.mu.Lock()
	var changed []*Tile
	var removed []string
	for id := range ts.dirty {
		if m, ok := ts.tiles[id]; ok {
			for _, t := range m {
				changed = append(changed, t)
			}
		} else {
			removed = append(removed, id)
		}
	}
	clear(ts.dirty)
	ts.mu.Unlock()

	tdir := filepath.Join(dir, "tiles")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return fmt.Errorf("saving tiles: %w", err)
	}
	var errs []error
	for _, t := range changed {
		if !safeID.MatchString(t.KioskID) || !safeID.MatchString(t.Rendition) {
			continue
		}
		base := filepath.Join(tdir, t.KioskID+"."+t.Rendition)
		meta, _ := json.Marshal(tileMeta{*t})
		errs = append(errs, writeAtomic(base+".jpg", t.JPEG), writeAtomic(base+".json", meta))
	}
	for _, id := range removed {
		if !safeID.MatchString(id) {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(tdir, id+".*"))
		for _, m := range matches {
			os.Remove(m)
		}
	}
	return errors.Join(errs...)
}

// Load reads tiles saved by Save and marks them stale. Unreadable files are
// skipped and reported; the rest loads.
func (ts *TileStore) Load(dir string) error {
	metas, err := filepath.Glob(filepath.Join(dir, "tiles", "*.json"))
	if err != nil {
		return err
	}
	var errs []error
	for _, mpath := range metas {
		b, err := os.ReadFile(mpath)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var m tileMeta
		if err := json.Unmarshal(b, &m); err != nil || !safeID.MatchString(m.KioskID) || !safeID.MatchString(m.Rendition) {
			errs = append(errs, fmt.Errorf("%s: not a saved tile", mpath))
			continue
		}
		jpg, err := os.ReadFile(mpath[:len(mpath)-len(".json")] + ".jpg")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t := m.Tile
		t.JPEG, t.Stale = jpg, true
		ts.mu.Lock()
		if ts.tiles[t.KioskID] == nil {
			ts.tiles[t.KioskID] = map[string]*Tile{}
		}
		if _, fresh := ts.tiles[t.KioskID][t.Rendition]; !fresh {
			ts.tiles[t.KioskID][t.Rendition] = &t
		}
		ts.mu.Unlock()
	}
	return errors.Join(errs...)
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
