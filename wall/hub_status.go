package wall

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"
)

// statusRing is how many status deltas the hub keeps. A page that fell
// further behind (it was stalled, or the fleet changed a lot at once) gets
// one full list instead; nothing queues per page.
const statusRing = 64

// lastUpdateStep is how stale last_update in status messages may be. Tile
// frames carry the exact time of every picture a page shows; status
// messages only need it for the kiosks a page does not show, and pushing
// every picture change of a thousand kiosks to every page would cost more
// than the tiles.
const lastUpdateStep = 30 * time.Second

// statusBook holds the fleet's status as pages last saw it and the recent
// changes, each encoded once for every page.
type statusBook struct {
	mu       sync.Mutex
	current  []kioskStatus // ordered by site, id
	index    map[string]int
	version  uint64 // 0 until the first snapshot
	deltas   [statusRing][]byte
	full     []byte // encoded full list of fullAt, built when a page needs it
	fullAt   uint64
	encodeAt func() time.Time
	log      *slog.Logger
}

func newStatusBook(now func() time.Time, log *slog.Logger) *statusBook {
	return &statusBook{index: map[string]int{}, encodeAt: now, log: log}
}

// update takes a new snapshot of the fleet and reports whether pages have
// something new to hear. The first snapshot always counts, so that a page
// of an empty fleet still gets its (empty) full list.
func (b *statusBook) update(snap []kioskStatus) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	changed := []kioskStatus{} // "kiosks": [] in JSON, never null
	seen := make(map[string]bool, len(snap))
	for i, s := range snap {
		seen[s.ID] = true
		j, known := b.index[s.ID]
		if !known {
			changed = append(changed, s)
			continue
		}
		old := b.current[j]
		if pushWorthy(old, s) {
			changed = append(changed, s)
			continue
		}
		// Keep what pages were told, so that the step is measured from it.
		snap[i] = old
	}
	var removed []string
	for _, s := range b.current {
		if !seen[s.ID] {
			removed = append(removed, s.ID)
		}
	}
	if b.version > 0 && len(changed) == 0 && len(removed) == 0 {
		return false
	}
	b.current = snap
	clear(b.index)
	for i, s := range snap {
		b.index[s.ID] = i
	}
	b.version++
	b.deltas[b.version%statusRing] = b.encode(statusMsg{Type: "status", Kiosks: changed, Removed: removed})
	b.full = nil
	return true
}

// pushWorthy reports whether a kiosk's status changed enough to tell pages.
//
// Confirmed moves with every answer of every kiosk, so alone it is news
// only for an overdue kiosk, whose page shows how old its picture is: a
// page learns it exactly when the kiosk turns overdue, and again if the
// kiosk answers but stays overdue. Otherwise it travels with the next
// change worth a message.
func pushWorthy(old, s kioskStatus) bool {
	lu, olu := s.LastUpdate, old.LastUpdate
	c, oc := s.Confirmed, old.Confirmed
	s.LastUpdate, old.LastUpdate = jsonTime{}, jsonTime{}
	s.Confirmed, old.Confirmed = jsonTime{}, jsonTime{}
	if s != old {
		return true
	}
	if s.Overdue && !c.Equal(oc.Time) {
		return true
	}
	if lu.IsZero() != olu.IsZero() {
		return true
	}
	return lu.Sub(olu.Time) >= lastUpdateStep || lu.Before(olu.Time)
}

// since returns the messages that bring a page from version v up to date,
// and the version it is then at. Version 0 (a new page) or a version older
// than the ring gets the full list.
func (b *statusBook) since(v uint64) ([][]byte, uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.version == v:
		return nil, v
	case v == 0 || v > b.version || b.version-v > statusRing:
		if b.full == nil || b.fullAt != b.version {
			kiosks := b.current
			if kiosks == nil {
				kiosks = []kioskStatus{} // "kiosks": [], not null
			}
			b.full, b.fullAt = b.encode(statusMsg{Type: "status", Full: true, Kiosks: kiosks}), b.version
		}
		if b.full == nil {
			return nil, b.version
		}
		return [][]byte{b.full}, b.version
	}
	out := make([][]byte, 0, b.version-v)
	for w := v + 1; w <= b.version; w++ {
		if d := b.deltas[w%statusRing]; d != nil {
			out = append(out, d)
		}
	}
	return out, b.version
}

func (b *statusBook) encode(m statusMsg) []byte {
	m.Now = b.encodeAt()
	data, err := json.Marshal(m)
	if err != nil {
		// Only a time outside years 0-9999 could do this; pages then miss
		// one change rather than the hub stopping.
		b.log.Error("wall stream: cannot encode a status message", "err", err)
		return nil
	}
	return data
}
