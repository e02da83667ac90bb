package bench

import "time"

// counts is one reading of cumulative byte counters: the total and one per
// site.
type counts struct {
	at    time.Time
	total int64
	sites map[string]int64
}

// series is readings in time order, about a second apart.
type series []counts

// value picks the total (site "") or one site's count.
func (c counts) value(site string) int64 {
	if site == "" {
		return c.total
	}
	return c.sites[site]
}

// rate is the bytes per second between the first reading at or after from
// and the last at or before to; 0 when they are not two readings apart.
func (s series) rate(site string, from, to time.Time) float64 {
	i, j := -1, -1
	for k, c := range s {
		if i < 0 && !c.at.Before(from) {
			i = k
		}
		if !c.at.After(to) {
			j = k
		}
	}
	if i < 0 || j <= i {
		return 0
	}
	return float64(s[j].value(site)-s[i].value(site)) / s[j].at.Sub(s[i].at).Seconds()
}

// worstWindow is the highest rate, in bits per second, over any span of at
// least window between two readings (the shortest such span from each
// reading), and when that span started.
func (s series) worstWindow(site string, window time.Duration) (bps float64, at time.Time) {
	j := 0
	for i := range s {
		for j < len(s) && s[j].at.Sub(s[i].at) < window {
			j++
		}
		if j == len(s) {
			break
		}
		r := float64(s[j].value(site)-s[i].value(site)) * 8 / s[j].at.Sub(s[i].at).Seconds()
		if r > bps {
			bps, at = r, s[i].at
		}
	}
	return bps, at
}
