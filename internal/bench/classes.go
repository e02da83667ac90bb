package bench

import (
	"cmp"
	"slices"
)

// ClassResult is where the bytes go: the kiosks of one behaviour that the
// viewers show (watched) or do not, what each sent on average over the
// measurement (the kiosks' own count), and what one costs in the baseline.
// A class's ratio to the baseline is what kioskwall saves on that kind of
// kiosk; the fleet's ratio is the classes' weighted by their kiosks, so the
// table says which class holds the fleet's figure where it is.
type ClassResult struct {
	Class               string  `json:"class"` // "watched interactive", "unwatched idle", ...
	Watched             bool    `json:"watched"`
	Behaviour           string  `json:"behaviour"`
	Kiosks              int     `json:"kiosks"`
	BytesPerSecPerKiosk float64 `json:"bytes_per_sec_per_kiosk"`
	Share               float64 `json:"share"` // of the bytes all kiosks sent
	// BaselinePerKiosk is the baseline's bytes per second for one kiosk of
	// this behaviour (watched or not: noVNC sessions fetch everything).
	BaselinePerKiosk float64 `json:"baseline_bytes_per_sec_per_kiosk"`
}

// byClass splits the bytes the kiosks sent between start and end (two
// readings of GET /kiosks, secs apart) into classes, largest share first.
func byClass(start, end []SimKiosk, visible []string, secs float64) []ClassResult {
	if secs <= 0 {
		return nil
	}
	watched := make(map[string]bool, len(visible))
	for _, id := range visible {
		watched[id] = true
	}
	before := make(map[string]int64, len(start))
	for _, k := range start {
		before[k.ID] = k.BytesSent
	}
	type key struct {
		watched   bool
		behaviour string
	}
	sent := map[key]int64{}
	count := map[key]int{}
	var all int64
	for _, k := range end {
		c := key{watched[k.ID], k.Behaviour}
		n := k.BytesSent - before[k.ID]
		sent[c] += n
		count[c]++
		all += n
	}
	out := make([]ClassResult, 0, len(count))
	for c, n := range count {
		name := "unwatched " + c.behaviour
		if c.watched {
			name = "watched " + c.behaviour
		}
		r := ClassResult{Class: name, Watched: c.watched, Behaviour: c.behaviour, Kiosks: n,
			BytesPerSecPerKiosk: float64(sent[c]) / float64(n) / secs}
		if all > 0 {
			r.Share = float64(sent[c]) / float64(all)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b ClassResult) int {
		return cmp.Or(cmp.Compare(b.Share, a.Share), cmp.Compare(a.Class, b.Class))
	})
	return out
}
