package wall

import (
	"context"
	"strconv"
	"strings"
	"time"

	"kioskwall/config"
)

// TargetOf is what a session needs of an inventory entry. The password
// leaves its config.Secret here, for the RFB handshake only.
func TargetOf(k config.Kiosk) Target {
	return Target{ID: k.ID, Name: k.Name, Site: k.Site, Addr: k.Addr(), Password: k.Password.Reveal(), Kind: k.Kind}
}

// TargetsOf maps a whole inventory.
func TargetsOf(ks []config.Kiosk) []Target {
	out := make([]Target, len(ks))
	for i, k := range ks {
		out[i] = TargetOf(k)
	}
	return out
}

// WatchInventory reads the inventory of src, applies it, and applies it
// again whenever its files change, until ctx ends.
func (s *Server) WatchInventory(ctx context.Context, src config.Sources, every time.Duration) {
	config.Watch(ctx, src, every, s.ApplyInventory)
}

// ApplyInventory makes the fleet match an inventory snapshot, logs what
// changed and the problems that are new, and keeps the problems for
// /healthz, /api/stats and /metrics.
func (s *Server) ApplyInventory(snap config.Snapshot) {
	s.fleet.Sync(TargetsOf(snap.Kiosks))

	s.invMu.Lock()
	first := !s.inventory
	s.inventory = true
	known := make(map[config.Problem]bool, len(s.problems))
	for _, p := range s.problems {
		known[p] = true
	}
	s.problems = snap.Problems
	s.invMu.Unlock()

	for _, p := range snap.Problems {
		if !known[p] {
			s.log.Warn("inventory problem", "file", p.File, "line", p.Line, "problem", p.Msg)
		}
	}
	if first {
		s.log.Info("inventory loaded", "kiosks", len(snap.Kiosks), "problems", len(snap.Problems))
		s.forgetTilesOutside(snap)
		return
	}
	s.log.Info("inventory changed", "kiosks", len(snap.Kiosks),
		"added", idList(snap.Added), "removed", idList(snap.Removed), "changed", idList(snap.Changed),
		"problems", len(snap.Problems))
}

// forgetTilesOutside drops saved tiles of kiosks that left the inventory
// while the server was down. It trusts only an inventory read without
// problems: a file missing at start-up would otherwise wipe the pictures
// of the kiosks it lists.
func (s *Server) forgetTilesOutside(snap config.Snapshot) {
	if len(snap.Problems) > 0 || len(snap.Kiosks) == 0 {
		return
	}
	keep := make(map[string]bool, len(snap.Kiosks))
	for _, k := range snap.Kiosks {
		keep[k.ID] = true
	}
	for _, id := range s.tiles.KioskIDs() {
		if !keep[id] {
			s.tiles.Remove(id)
		}
	}
}

// idList shows up to 20 ids in a log line; a reload of a whole new
// inventory need not log thousands.
func idList(ids []string) string {
	const most = 20
	if len(ids) <= most {
		return strings.Join(ids, ",")
	}
	return strings.Join(ids[:most], ",") + ",…(" + strconv.Itoa(len(ids)-most) + " more)"
}

// problemInfo is an inventory problem as the API shows it.
type problemInfo struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// problemInfos lists the problems of the latest inventory read, [] if none.
func (s *Server) problemInfos() []problemInfo {
	s.invMu.Lock()
	defer s.invMu.Unlock()
	out := make([]problemInfo, len(s.problems))
	for i, p := range s.problems {
		out[i] = problemInfo{File: p.File, Line: p.Line, Message: p.Msg}
	}
	return out
}

func (s *Server) problemCount() int {
	s.invMu.Lock()
	defer s.invMu.Unlock()
	return len(s.problems)
}
