package config

import (
	"context"
	"slices"
	"time"
)

// Snapshot is the inventory as read at one moment, and how it differs from
// the one before.
type Snapshot struct {
	Kiosks   []Kiosk
	Problems []Problem
	// Added, Removed and Changed hold kiosk ids, sorted. A kiosk is changed
	// when anything about it but its Source differs: a re-pointed host, a
	// new password, a new name.
	Added, Removed, Changed []string
}

// Watch reads the inventory of s, calls fn with it (every kiosk added), and
// then checks the files every interval, calling fn again whenever the
// kiosks or the problems change. It returns when ctx is done; fn runs on the
// caller's goroutine, one call at a time.
//
// Files are checked by size, modification time and mode (and directories by
// their list of token files); a file is re-read once it has held still for
// one interval, so that a file being written is not read half-way. A file
// that disappears or breaks as a whole keeps its last good kiosks, with a
// problem saying so, until it is back; a file that leaves a token
// directory takes its kiosks with it.
func Watch(ctx context.Context, s Sources, interval time.Duration, fn func(Snapshot)) {
	if interval <= 0 {
		interval = DefaultReload
	}
	r := newReader(s)
	kiosks, problems := r.load()
	fn(diff(nil, kiosks, problems))
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !r.poll() {
			continue
		}
		ks, ps := r.load()
		snap := diff(kiosks, ks, ps)
		kiosks = ks
		if len(snap.Added)+len(snap.Removed)+len(snap.Changed) == 0 && slices.Equal(ps, problems) {
			continue
		}
		problems = ps
		fn(snap)
	}
}

// poll re-reads every known path that changed and then held still since
// the previous poll, and reports whether it re-read any.
func (r *reader) poll() bool {
	reread := false
	for path, e := range r.entries {
		st := statPath(path)
		if st != e.stamp && st == e.seen {
			e.refresh(path)
			reread = true
		}
		e.seen = st
	}
	return reread
}

func diff(before, after []Kiosk, problems []Problem) Snapshot {
	s := Snapshot{Kiosks: after, Problems: problems}
	old := make(map[string]Kiosk, len(before))
	for _, k := range before {
		old[k.ID] = k
	}
	for _, k := range after {
		o, ok := old[k.ID]
		switch {
		case !ok:
			s.Added = append(s.Added, k.ID)
		case !o.sameAs(k):
			s.Changed = append(s.Changed, k.ID)
		}
		delete(old, k.ID)
	}
	for id := range old {
		s.Removed = append(s.Removed, id)
	}
	slices.Sort(s.Added)
	slices.Sort(s.Removed)
	slices.Sort(s.Changed)
	return s
}
