package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"slices"
	"time"

	"kioskwall/config"
	"kioskwall/wall"
)

// configReloader keeps a running server in step with its config file. It
// watches the inventory the file names, and re-reads the file when it
// changed (checked every inventory.reload, like the inventory, and at once
// on SIGHUP). Bandwidth caps and the inventory settings take effect at
// once; the listen address, the data dir and the thumbnail sizes are fixed
// while the server runs, so a change of them is logged as waiting for a
// restart. A file that does not load is reported and changes nothing.
type configReloader struct {
	path    string // "" without a config file: nothing to re-read
	flags   serveFlags
	srv     *wall.Server
	budgets *wall.Budgets
	log     *slog.Logger
	hup     <-chan os.Signal // nil without a config file

	running *config.Config // the settings in force
}

// run feeds the server until ctx ends.
func (r *configReloader) run(ctx context.Context) {
	stopInventory := r.watchInventory(ctx)
	defer func() { stopInventory() }()
	if r.path == "" {
		<-ctx.Done()
		return
	}
	every := r.running.Inventory.Reload
	t := time.NewTicker(every)
	defer t.Stop()
	// Starting from no stamp re-reads the file once it holds still, which
	// catches a change made while the server started.
	var applied, seen fileStamp
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.hup:
			r.log.Info("SIGHUP: re-reading the config file", "config", r.path)
			applied = statFile(r.path)
			seen = applied
		case <-t.C:
			// Like the inventory, a file is read once it has held still
			// for one interval, so that it is not read half-written.
			st := statFile(r.path)
			due := st != applied && st == seen
			seen = st
			if !due {
				continue
			}
			applied = st
		}
		if r.reload(ctx, &stopInventory) && r.running.Inventory.Reload != every {
			every = r.running.Inventory.Reload
			t.Reset(every)
		}
	}
}

// watchInventory starts watching the inventory of the running settings and
// returns what stops it.
func (r *configReloader) watchInventory(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	src, every := r.running.Sources(), r.running.Inventory.Reload
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.srv.WatchInventory(ctx, src, every)
	}()
	return func() {
		cancel()
		<-done
	}
}

// reload reads the config file again and applies what changed; it reports
// whether the file loaded.
func (r *configReloader) reload(ctx context.Context, stopInventory *func()) bool {
	next, err := r.flags.load(r.path)
	if err != nil {
		problems := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			problems = j.Unwrap()
		}
		for _, p := range problems {
			r.log.Error("config file problem", "problem", p.Error())
		}
		r.log.Error("the config file was not applied; the server keeps the settings it runs with until the file is fixed",
			"config", r.path, "problems", len(problems))
		return false
	}
	old := r.running
	for _, c := range restartChanges(old, next) {
		r.log.Warn("a setting changed in the config file takes effect only when kioskwall restarts",
			"config", r.path, "setting", c.key, "running", c.running, "file", c.file)
	}
	// What cannot change stays as it runs, so that the next reload compares
	// the file with what is in force.
	next.Listen, next.DataDir, next.Thumbnails = old.Listen, old.DataDir, old.Thumbnails
	r.running = next

	if logCapChanges(r.log, old.Budgets, next.Budgets) {
		r.budgets.SetCaps(next.Budgets)
	}
	if !reflect.DeepEqual(old.Sources(), next.Sources()) || old.Inventory.Reload != next.Inventory.Reload {
		src := next.Sources()
		r.log.Info("inventory settings changed; reading the inventory again", "config", r.path,
			"files", len(src.Files), "tokens", len(src.Tokens), "reload", next.Inventory.Reload)
		(*stopInventory)()
		*stopInventory = r.watchInventory(ctx)
	}
	return true
}

// settingChange is a setting whose value in the file differs from the one
// in force.
type settingChange struct{ key, running, file string }

// restartChanges lists the settings that differ and cannot change while the
// server runs: it listens, keeps its data and makes its renditions as it
// started.
func restartChanges(running, file *config.Config) []settingChange {
	var out []settingChange
	add := func(key string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			out = append(out, settingChange{key, fmt.Sprint(a), fmt.Sprint(b)})
		}
	}
	add("listen", running.Listen, file.Listen)
	add("data_dir", running.DataDir, file.DataDir)
	add("thumbnails.small", running.Thumbnails.Small, file.Thumbnails.Small)
	add("thumbnails.large", running.Thumbnails.Large, file.Thumbnails.Large)
	add("thumbnails.quality", running.Thumbnails.Quality, file.Thumbnails.Quality)
	return out
}

// logCapChanges logs every cap that differs between old and next, the
// total first, then the sites by name, and reports whether any did.
func logCapChanges(log *slog.Logger, old, next config.Budgets) bool {
	changed := false
	if old.Total != next.Total {
		changed = true
		log.Info("total bandwidth cap changed", "from", capText(old.Total), "to", capText(next.Total))
	}
	sites := map[string]bool{}
	for name := range old.Sites {
		sites[name] = true
	}
	for name := range next.Sites {
		sites[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(sites)) {
		if from, to := old.Sites[name], next.Sites[name]; from != to {
			changed = true
			log.Info("bandwidth cap changed", "site", name, "from", capText(from), "to", capText(to))
		}
	}
	return changed
}

func capText(b config.Bandwidth) string {
	if b <= 0 {
		return "no cap"
	}
	return b.String() + "/s"
}

// fileStamp is what tells that a file changed without reading it.
type fileStamp struct {
	size    int64
	modTime int64
	mode    os.FileMode
	err     string // why it cannot be looked at, such as its absence
}

func statFile(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fileStamp{err: err.Error()}
	}
	return fileStamp{size: fi.Size(), modTime: fi.ModTime().UnixNano(), mode: fi.Mode()}
}
