package wall

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// encodingsFile keeps the policy's decisions in the data dir, so that a
// restart does not measure every kind again.
const encodingsFile = "encodings.json"

// encodingsVersion is the format of encodingsFile; a file of another
// version is ignored.
const encodingsVersion = 1

type savedEncodings struct {
	Version int          `json:"version"`
	Kinds   []KindReport `json:"kinds"`
}

// Save writes every decision to encodings.json in dir, atomically: a crash
// leaves the old file or the new one, never half of one.
func (p *EncodingPolicy) Save(dir string) error {
	s := savedEncodings{Version: encodingsVersion, Kinds: []KindReport{}}
	for _, r := range p.Report() {
		if r.Choice != "" {
			r.Error = ""
			s.Kinds = append(s.Kinds, r)
		}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("saving encoding decisions: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving encoding decisions: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, encodingsFile), append(b, '\n')); err != nil {
		return fmt.Errorf("saving encoding decisions: %w", err)
	}
	return nil
}

// Load reads the decisions Save wrote to dir. A missing file is no error. A
// broken file, or a broken entry in it, is reported in the error and
// ignored: its kinds are measured again, nothing else suffers. A decision
// made with other candidates or another threshold is dropped the same way,
// silently: the configuration changed, so the kind is measured again.
func (p *EncodingPolicy) Load(dir string) error {
	path := filepath.Join(dir, encodingsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading encoding decisions: %w; every kind will be measured again", err)
	}
	var s savedEncodings
	if err := json.Unmarshal(b, &s); err != nil || s.Version != encodingsVersion {
		if err == nil {
			err = fmt.Errorf("version %d, want %d", s.Version, encodingsVersion)
		}
		return fmt.Errorf("%s is not an encodings file this kioskwall reads (%v); it is ignored and every kind will be measured again", path, err)
	}
	names := make([]string, len(p.cfg.Candidates))
	for i, c := range p.cfg.Candidates {
		names[i] = c.Name
	}
	var errs []error
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range s.Kinds {
		if r.Choice == "" || r.Measured.IsZero() || len(r.Candidates) == 0 {
			errs = append(errs, fmt.Errorf("%s: entry %d (kind %q) lacks a choice, a time or costs; it is ignored", path, i+1, r.Kind))
			continue
		}
		var got []string
		for _, c := range r.Candidates {
			got = append(got, c.Name)
		}
		if !slices.Equal(got, names) || r.MinPSNR != p.cfg.MinPSNR {
			continue
		}
		if !slices.Contains(names, r.Choice) {
			errs = append(errs, fmt.Errorf("%s: entry %d (kind %q) chose %q, which it did not measure; it is ignored", path, i+1, r.Kind, r.Choice))
			continue
		}
		k := p.kind(r.Kind)
		if k.report.Choice != "" && !r.Measured.After(k.report.Measured) {
			continue
		}
		r.Error = ""
		k.report = r
	}
	return errors.Join(errs...)
}
