package config

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// watcher runs Watch for a test and hands over its snapshots.
type watcher struct {
	t     *testing.T
	snaps chan Snapshot
}

func startWatch(t *testing.T, s Sources) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{t: t, snaps: make(chan Snapshot, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Watch(ctx, s, 5*time.Millisecond, func(s Snapshot) { w.snaps <- s })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Watch did not return after its context was cancelled")
		}
	})
	return w
}

func (w *watcher) next(what string) Snapshot {
	w.t.Helper()
	select {
	case s := <-w.snaps:
		return s
	case <-time.After(5 * time.Second):
		w.t.Fatalf("no snapshot after %s", what)
		return Snapshot{}
	}
}

// quiet checks that no snapshot comes for a while: enough polls for a
// change to have been noticed and applied.
func (w *watcher) quiet(what string) {
	w.t.Helper()
	select {
	case s := <-w.snaps:
		w.t.Errorf("after %s: unexpected snapshot added %v removed %v changed %v problems %v", what, s.Added, s.Removed, s.Changed, s.Problems)
	case <-time.After(100 * time.Millisecond):
	}
}

type change struct{ added, removed, changed []string }

func checkChange(t *testing.T, what string, s Snapshot, want change) {
	t.Helper()
	if !reflect.DeepEqual(s.Added, want.added) || !reflect.DeepEqual(s.Removed, want.removed) || !reflect.DeepEqual(s.Changed, want.changed) {
		t.Errorf("after %s: added %v removed %v changed %v; want added %v removed %v changed %v",
			what, s.Added, s.Removed, s.Changed, want.added, want.removed, want.changed)
	}
}

func hostOf(s Snapshot, id string) string {
	for _, k := range s.Kiosks {
		if k.ID == id {
			return k.Host
		}
	}
	return ""
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	kiosks := filepath.Join(dir, "kiosks.csv")
	pw := filepath.Join(dir, "pw")
	writeFiles(t, dir, map[string]string{
		"tokens/west.cfg": "w1: 10.0.0.1:5900\nw2: 10.0.0.2:5900\n",
		"kiosks.csv":      "id,host\nc1,10.1.0.1\nc2,10.1.0.2\n",
		"pw":              "first\n",
	})
	w := startWatch(t, Sources{Files: []string{kiosks}, Tokens: []string{tokens}, PasswordFile: pw})

	s := w.next("start")
	checkChange(t, "start", s, change{added: []string{"c1", "c2", "w1", "w2"}})
	if len(s.Problems) != 0 {
		t.Errorf("problems at start: %v", s.Problems)
	}

	steps := []struct {
		what     string
		do       func()
		want     change
		problems []Problem
		check    func(Snapshot)
	}{{
		what: "adding, removing and re-pointing kiosks",
		do: func() {
			writeFiles(t, dir, map[string]string{"tokens/west.cfg": "w1: 10.0.0.99:5900\nw3: 10.0.0.3:5900\n"})
		},
		want: change{added: []string{"w3"}, removed: []string{"w2"}, changed: []string{"w1"}},
		check: func(s Snapshot) {
			if h := hostOf(s, "w1"); h != "10.0.0.99" {
				t.Errorf("w1 points at %q, want 10.0.0.99", h)
			}
		},
	}, {
		what: "a token file added to the directory",
		do:   func() { writeFiles(t, dir, map[string]string{"tokens/east.cfg": "e1: 10.2.0.1:5900\n"}) },
		want: change{added: []string{"e1"}},
	}, {
		what: "a new password",
		do:   func() { writeFiles(t, dir, map[string]string{"pw": "second\n"}) },
		want: change{changed: []string{"c1", "c2", "e1", "w1", "w3"}},
	}, {
		what: "a bad line",
		do: func() {
			writeFiles(t, dir, map[string]string{"kiosks.csv": "id,host\nc1,10.1.0.1\nc2,10.1.0.2\nc3,\n"})
		},
		problems: []Problem{{kiosks, 4, "kiosk c3: host is missing"}},
	}, {
		what: "the kiosk file going missing",
		do: func() {
			if err := os.Remove(kiosks); err != nil {
				t.Fatal(err)
			}
		},
		problems: []Problem{{kiosks, 0, "cannot read it: no such file or directory; keeping the kiosks of the file's last good version (2)"}},
	}, {
		what: "the kiosk file coming back, with a kiosk more",
		do: func() {
			writeFiles(t, dir, map[string]string{"kiosks.csv": "id,host\nc1,10.1.0.1\nc2,10.1.0.2\nc4,10.1.0.4\n"})
		},
		want:     change{added: []string{"c4"}},
		problems: nil,
	}, {
		what:     "the kiosk file losing its header",
		do:       func() { writeFiles(t, dir, map[string]string{"kiosks.csv": ""}) },
		problems: []Problem{{kiosks, 0, "the file is empty; a kiosk file starts with a header line such as id,name,site,host,port (a header alone lists no kiosks); keeping the kiosks of the file's last good version (3)"}},
	}, {
		what: "lines moving and one kiosk changing",
		do: func() {
			writeFiles(t, dir, map[string]string{"kiosks.csv": "id,host\n# moved down\nc4,10.1.0.4\nc2,10.1.0.2\nc1,10.1.0.111\n"})
		},
		want: change{changed: []string{"c1"}},
	}, {
		what: "the password file going missing",
		do: func() {
			if err := os.Remove(pw); err != nil {
				t.Fatal(err)
			}
		},
		problems: []Problem{{pw, 0, "cannot read it: no such file or directory; using the password it held before"}},
	}, {
		what: "a token file leaving the directory",
		do: func() {
			writeFiles(t, dir, map[string]string{"pw": "second\n"})
			if err := os.Remove(filepath.Join(tokens, "west.cfg")); err != nil {
				t.Fatal(err)
			}
		},
		want: change{removed: []string{"w1", "w3"}},
	}}
	for _, st := range steps {
		st.do()
		s := w.next(st.what)
		checkChange(t, st.what, s, st.want)
		matchProblems(t, s.Problems, st.problems)
		if st.check != nil {
			st.check(s)
		}
	}
	writeFiles(t, dir, map[string]string{"kiosks.csv": "id,host\n\n# just a comment\nc4,10.1.0.4\nc2,10.1.0.2\nc1,10.1.0.111\n"})
	w.quiet("an edit that changes no kiosk")
}

func TestWatchStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	calls := 0
	go func() {
		defer close(done)
		Watch(ctx, Sources{}, time.Hour, func(Snapshot) { calls++ })
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch kept running after its context was done")
	}
	if calls != 1 {
		t.Errorf("fn called %d times, want once with the initial inventory", calls)
	}
}

// TestPollWaitsForFilesToHoldStill checks that a file is re-read only once
// it has not changed for a whole interval, so that a file being written is
// not read half-way.
func TestPollWaitsForFilesToHoldStill(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.cfg")
	writeFiles(t, dir, map[string]string{"t.cfg": "a: h:1\n"})
	r := newReader(Sources{Tokens: []string{path}})
	if ks, _ := r.load(); len(ks) != 1 {
		t.Fatalf("loaded %v", ids(ks))
	}
	if r.poll() {
		t.Error("poll re-read a file that did not change")
	}
	writeFiles(t, dir, map[string]string{"t.cfg": "a: h:1\nb: h:2\n"})
	if r.poll() {
		t.Error("poll re-read a file the moment it changed")
	}
	writeFiles(t, dir, map[string]string{"t.cfg": "a: h:1\nb: h:2\nc: h:3\n"})
	if r.poll() {
		t.Error("poll re-read a file that was still changing")
	}
	if !r.poll() {
		t.Error("poll did not re-read a file that changed and then held still")
	}
	ks, _ := r.load()
	if got := strings.Join(ids(ks), ","); got != "a,b,c" {
		t.Errorf("after re-reading: %s, want a,b,c", got)
	}
}

// TestReaderKeepsMissingDirectory checks that a token directory that goes
// away (as when it is replaced by a fresh copy) keeps its kiosks until it is
// back, while a file leaving the directory takes its kiosks along.
func TestReaderKeepsMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	writeFiles(t, dir, map[string]string{"tokens/a.cfg": "a1: h:1\n", "tokens/b.cfg": "b1: h:1\n"})
	r := newReader(Sources{Tokens: []string{tokens}})
	settle := func() {
		r.poll()
		r.poll()
	}
	if ks, ps := r.load(); strings.Join(ids(ks), ",") != "a1,b1" || len(ps) != 0 {
		t.Fatalf("loaded %v, %v", ids(ks), ps)
	}
	if err := os.Rename(tokens, tokens+".away"); err != nil {
		t.Fatal(err)
	}
	settle()
	ks, ps := r.load()
	if got := strings.Join(ids(ks), ","); got != "a1,b1" {
		t.Errorf("with the directory gone: kiosks %s, want a1,b1 kept", got)
	}
	matchProblems(t, ps, []Problem{
		{tokens, 0, "cannot list the directory: no such file or directory; keeping the token files it held (2)"},
		{filepath.Join(tokens, "a.cfg"), 0, "cannot read it: no such file or directory; keeping the kiosks of the file's last good version (1)"},
		{filepath.Join(tokens, "b.cfg"), 0, "cannot read it: no such file or directory; keeping the kiosks of the file's last good version (1)"},
	})
	if err := os.Rename(tokens+".away", tokens); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(tokens, "b.cfg")); err != nil {
		t.Fatal(err)
	}
	settle()
	ks, ps = r.load()
	if got := strings.Join(ids(ks), ","); got != "a1" || len(ps) != 0 {
		t.Errorf("with the directory back without b.cfg: kiosks %s, problems %v; want a1 and none", got, ps)
	}
}
