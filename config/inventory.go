package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Sources are the files the inventory is read from.
type Sources struct {
	// Files are kiosk files, CSV or YAML (or JSON) by their extension.
	Files []string
	// Tokens are websockify token files, or directories whose every regular
	// file is one.
	Tokens []string
	// PasswordFile holds the password of every kiosk without its own.
	PasswordFile string
	// Defaults fill what an entry leaves out; zero fields mean the package
	// defaults (DefaultPort, DefaultKind).
	Defaults KioskDefaults
}

// Load reads the inventory once: the kiosks of every source, in the order
// of the sources and of their lines, and the problems found on the way. It
// never fails as a whole: a bad line, a missing file or an unreadable
// password file leaves out what it concerns and is reported as a Problem.
func (s Sources) Load() ([]Kiosk, []Problem) {
	return newReader(s).load()
}

// maxFileSize bounds what one inventory file may make the server allocate;
// a fleet of thousands of kiosks takes well under a megabyte.
const maxFileSize = 16 << 20

type kioskFormat func(fc *fileContext, data []byte) ([]Kiosk, []Problem, bool)

func kioskFileFormat(path string) (kioskFormat, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return parseCSV, nil
	case ".yaml", ".yml", ".json":
		return parseYAMLKiosks, nil
	}
	return nil, fmt.Errorf("%q: a kiosk file is named .csv, .yaml, .yml or .json (token files go under tokens)", path)
}

// stamp tells whether a file or directory changed since it was read.
type stamp struct {
	exists bool
	dir    bool
	mode   fs.FileMode // so that a chmod that makes a file readable is noticed
	mod    int64
	size   int64
	list   string // a directory's token files, NUL-separated
}

// entry is what a reader knows of one path.
type entry struct {
	stamp stamp  // of data and names
	seen  stamp  // at the latest poll, to wait for a file to hold still
	data  []byte // from the latest read; nil when it failed
	dir   bool   // the path was a directory when last read
	names []string
	err   error // why the latest read failed
	// good is the latest content that made sense (it parsed, or held a
	// password): while the file is missing or broken, it stands in.
	good []byte
	used bool // by the latest load; unused entries are forgotten
}

// reader reads the inventory and remembers every file it read, so that a
// file that goes missing or turns out broken keeps its last good content,
// and so that Watch re-reads only what changed.
type reader struct {
	src     Sources
	entries map[string]*entry
}

func newReader(s Sources) *reader {
	return &reader{src: s, entries: make(map[string]*entry)}
}

func (r *reader) load() ([]Kiosk, []Problem) {
	for _, e := range r.entries {
		e.used = false
	}
	var all []Kiosk
	var ps []Problem
	for _, path := range r.src.Files {
		ks, fps := r.kioskFile(path)
		all, ps = append(all, ks...), append(ps, fps...)
	}
	for _, path := range r.src.Tokens {
		ks, tps := r.tokenPath(path)
		all, ps = append(all, ks...), append(ps, tps...)
	}
	all, dps := dedupe(all)
	all, pps := r.passwords(all)
	for path, e := range r.entries {
		if !e.used {
			delete(r.entries, path)
		}
	}
	return all, append(append(ps, dps...), pps...)
}

// get returns what is known of path, reading it when it is new.
func (r *reader) get(path string) *entry {
	e, ok := r.entries[path]
	if !ok {
		e = &entry{}
		r.entries[path] = e
		e.refresh(path)
		e.seen = e.stamp
	}
	e.used = true
	return e
}

func (r *reader) kioskFile(path string) ([]Kiosk, []Problem) {
	parse, err := kioskFileFormat(path)
	if err != nil {
		return nil, []Problem{{path, 0, err.Error()}}
	}
	return r.parsed(path, newFileContext(path, r.src.Defaults), parse)
}

func (r *reader) tokenPath(path string) ([]Kiosk, []Problem) {
	e := r.get(path)
	if !e.dir {
		return r.tokenFile(path)
	}
	var ks []Kiosk
	var ps []Problem
	if e.err != nil {
		ps = append(ps, Problem{path, 0, fmt.Sprintf("cannot list the directory: %v; keeping the token files it held (%d) until it is back", cause(e.err), len(e.names))})
	}
	for _, name := range e.names {
		fks, fps := r.tokenFile(filepath.Join(path, name))
		ks, ps = append(ks, fks...), append(ps, fps...)
	}
	return ks, ps
}

func (r *reader) tokenFile(path string) ([]Kiosk, []Problem) {
	return r.parsed(path, newFileContext(path, r.src.Defaults), func(fc *fileContext, data []byte) ([]Kiosk, []Problem, bool) {
		ks, ps := parseTokens(fc, data)
		return ks, ps, true
	})
}

// parsed parses the file at path, standing in its last good content when
// it is missing, unreadable, or broken as a whole.
func (r *reader) parsed(path string, fc *fileContext, parse kioskFormat) ([]Kiosk, []Problem) {
	e := r.get(path)
	var why []Problem
	if e.err == nil {
		ks, ps, ok := parse(fc, e.data)
		if ok {
			e.good = e.data
			return ks, ps
		}
		why = ps
	} else {
		why = []Problem{{path, 0, "cannot read it: " + cause(e.err)}}
	}
	if e.good == nil {
		return nil, why
	}
	ks, _, _ := parse(fc, e.good)
	keep := fmt.Sprintf("keeping the kiosks of the file's last good version (%d) until it is fixed", len(ks))
	if len(why) == 1 {
		why[0].Msg += "; " + keep
		return ks, why
	}
	return ks, append(why, Problem{path, 0, keep})
}

// dedupe keeps the first kiosk of each id.
func dedupe(ks []Kiosk) ([]Kiosk, []Problem) {
	first := make(map[string]string, len(ks)) // id → source
	out := ks[:0]
	var ps []Problem
	for _, k := range ks {
		if src, dup := first[k.ID]; dup {
			ps = append(ps, sourceProblem(k.Source, fmt.Sprintf("kiosk %s is also listed at %s, which wins; entry skipped", k.ID, src)))
			continue
		}
		first[k.ID] = k.Source
		out = append(out, k)
	}
	return out, ps
}

// passwords gives every kiosk its password: its own, from its own password
// file, or from the default one. A kiosk whose password file cannot be read
// is left out, since dialling it without its password would only count as a
// failed login, which VNC servers punish by blocking the address.
func (r *reader) passwords(ks []Kiosk) ([]Kiosk, []Problem) {
	type trouble struct {
		msg  string
		left []string // kiosks left out, as "id (source)"
	}
	var order []string
	troubles := make(map[string]*trouble)
	out := ks[:0]
	for _, k := range ks {
		if k.Password == "" && k.PasswordFile == "" {
			k.PasswordFile = r.src.PasswordFile
		}
		if k.PasswordFile == "" {
			out = append(out, k)
			continue
		}
		pw, msg, ok := r.password(k.PasswordFile)
		if msg != "" {
			t := troubles[k.PasswordFile]
			if t == nil {
				t = &trouble{msg: msg}
				troubles[k.PasswordFile] = t
				order = append(order, k.PasswordFile)
			}
			if !ok {
				t.left = append(t.left, fmt.Sprintf("%s (%s)", k.ID, k.Source))
			}
		}
		if ok {
			k.Password = pw
			out = append(out, k)
		}
	}
	var ps []Problem
	for _, path := range order {
		t := troubles[path]
		msg := t.msg
		if n := len(t.left); n > 0 {
			shown := t.left[:min(n, 5)]
			msg += fmt.Sprintf("; left out the kiosks that use it (%d): %s", n, strings.Join(shown, ", "))
			if n > len(shown) {
				msg += ", …"
			}
		}
		ps = append(ps, Problem{path, 0, msg})
	}
	return out, ps
}

// password reads a password file. msg, when not empty, is a problem to
// report; ok says whether pw is usable, possibly the password the file held
// before it went missing or broken.
func (r *reader) password(path string) (pw Secret, msg string, ok bool) {
	e := r.get(path)
	if e.err != nil {
		msg = "cannot read it: " + cause(e.err)
	} else if p, err := parsePassword(e.data); err != nil {
		msg = err.Error()
	} else {
		e.good = e.data
		return p, "", true
	}
	if e.good == nil {
		return "", msg, false
	}
	pw, _ = parsePassword(e.good)
	return pw, msg + "; using the password it held before until it is fixed", true
}

// sourceProblem reports msg at a kiosk's source, "file:line".
func sourceProblem(source, msg string) Problem {
	file, l, _ := cutLast(source, ":")
	line, _ := strconv.Atoi(l)
	return Problem{file, line, msg}
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// cause gives the reason of a file system error without the path, which the
// Problem already names.
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err.Error()
}

// refresh reads path again, keeping what it held before if that fails.
func (e *entry) refresh(path string) {
	f, err := os.Open(path)
	if err != nil {
		e.stamp, e.data, e.err = statPath(path), nil, err
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		e.stamp, e.data, e.err = statPath(path), nil, err
		return
	}
	st := stampOf(fi)
	if fi.IsDir() {
		names, err := tokenFiles(path)
		st.list = strings.Join(names, "\x00")
		e.stamp, e.data, e.err, e.dir = st, nil, err, true
		if err == nil {
			e.names = names
		}
		return
	}
	e.stamp, e.dir, e.names = st, false, nil
	if !fi.Mode().IsRegular() {
		e.data, e.err = nil, errors.New("not a regular file")
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err == nil && len(data) > maxFileSize {
		err = fmt.Errorf("larger than %d MiB; split it", maxFileSize>>20)
	}
	if err != nil {
		e.data, e.err = nil, err
		return
	}
	e.data, e.err = data, nil
}

// statPath returns the current stamp of path, without reading it.
func statPath(path string) stamp {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}
	}
	st := stampOf(fi)
	if fi.IsDir() {
		names, _ := tokenFiles(path)
		st.list = strings.Join(names, "\x00")
	}
	return st
}

func stampOf(fi fs.FileInfo) stamp {
	return stamp{exists: true, dir: fi.IsDir(), mode: fi.Mode(), mod: fi.ModTime().UnixNano(), size: fi.Size()}
}

// tokenFiles lists the token files of a directory: its regular files (or
// links to them), sorted, without hidden files or editor and package
// manager leftovers.
func tokenFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des {
		if leftover(de.Name()) {
			continue
		}
		if de.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(filepath.Join(dir, de.Name()))
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
		} else if !de.Type().IsRegular() {
			continue
		}
		names = append(names, de.Name())
	}
	return names, nil
}

// leftover reports whether a file name is hidden, or one that editors and
// package managers leave beside the file they edit.
func leftover(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#") {
		return true
	}
	switch filepath.Ext(name) {
	case ".bak", ".swp", ".swo", ".tmp", ".orig", ".rej", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".rpmsave", ".rpmnew":
		return true
	}
	return false
}
