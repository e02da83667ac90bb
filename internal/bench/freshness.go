package bench

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Freshness is measured per pair of a content change and a viewer showing
// that kiosk when it happened: from the change on the kiosk to the viewer
// receiving a tile made from an update the kiosk composed after the change
// (sim.Change says how the kiosk knows). A tile made earlier, even one that
// arrives after the change, does not show it and does not count. The
// server's tile header says when it made the picture; a picture made before
// the update that holds the change was composed cannot hold it.

// change is a content change as the kiosks report it.
type change struct {
	kiosk    string
	at       time.Time
	composed time.Time // zero: no update had carried it by the end
}

// view is what one viewer showed and received.
type view struct {
	epochs   []epoch
	arrivals map[string][]arrival
}

// freshness is the outcome over the changes of a period.
type freshness struct {
	changes int             // changes on kiosks some viewer showed
	ages    []time.Duration // one per (change, viewer) pair, sorted
	// unseen pairs had no tile showing the change by the end; their age
	// (counted in ages) is the time until the end, a lower bound.
	unseen int
	// dropped pairs ended because the viewer stopped showing the kiosk
	// before a tile came (the benchmark changing viewers); not in ages.
	dropped int
	// windows of the period (by change time) that had pairs, and how many
	// of them had a p95 within the target.
	windows, windowsOK int
}

// measureFreshness pairs the changes made in [from, until) with the views;
// end is when observation stopped. Windows of the given length are judged
// against target.
func measureFreshness(changes []change, views []view, from, until, end time.Time, window, target time.Duration) freshness {
	var f freshness
	byWindow := map[int][]time.Duration{}
	for _, c := range changes {
		if c.at.Before(from) || !c.at.Before(until) {
			continue
		}
		shown := false
		for _, v := range views {
			e, ok := showing(v.epochs, c)
			if !ok {
				continue
			}
			shown = true
			stop := end
			if !e.to.IsZero() && e.to.Before(end) {
				stop = e.to
			}
			age, seen := firstShowing(v.arrivals[c.kiosk], c, stop)
			switch {
			case seen:
			case stop.Before(end):
				f.dropped++
				continue
			default:
				f.unseen++
				age = end.Sub(c.at)
			}
			f.ages = append(f.ages, age)
			w := int(c.at.Sub(from) / window)
			byWindow[w] = append(byWindow[w], age)
		}
		if shown {
			f.changes++
		}
	}
	slices.Sort(f.ages)
	for _, ages := range byWindow {
		slices.Sort(ages)
		f.windows++
		if percentile(ages, 0.95) <= target {
			f.windowsOK++
		}
	}
	return f
}

// showing finds the epoch in which the view showed c's kiosk when c happened.
func showing(epochs []epoch, c change) (epoch, bool) {
	for _, e := range epochs {
		if !c.at.Before(e.from) && (e.to.IsZero() || c.at.Before(e.to)) && e.tiles[c.kiosk] {
			return e, true
		}
	}
	return epoch{}, false
}

// firstShowing returns the age of the first arrival before stop of a tile
// made after c was composed.
func firstShowing(arrivals []arrival, c change, stop time.Time) (time.Duration, bool) {
	if c.composed.IsZero() {
		return 0, false
	}
	made := c.composed.UnixMilli()
	i := sort.Search(len(arrivals), func(i int) bool { return !arrivals[i].at.Before(c.at) })
	for ; i < len(arrivals) && arrivals[i].at.Before(stop); i++ {
		if arrivals[i].updatedMS >= made {
			return arrivals[i].at.Sub(c.at), true
		}
	}
	return 0, false
}

// percentile is the nearest-rank percentile p (0..1] of sorted ages; 0 for
// none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
