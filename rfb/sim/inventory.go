package sim

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// InventoryHeader is the first line of the inventory CSV.
var InventoryHeader = []string{"id", "name", "site", "host", "port", "password_file", "kind", "mac", "tags"}

// WriteInventory writes the fleet as the inventory kioskwall serve reads: a
// CSV file at path with InventoryHeader and one line per kiosk. The password
// never goes into the CSV: it is written, mode 0600, to a file next to it
// (path with its extension replaced by ".password"), and password_file holds
// that file's absolute path; it is empty when kiosks have no password.
// Kind is "tightvnc", what the simulated kiosks stand in for; tags are
// separated by ";": "sim", the behaviour, and the floor.
func (f *Fleet) WriteInventory(path string) error {
	pwFile := ""
	if f.cfg.Password != "" {
		abs, err := filepath.Abs(strings.TrimSuffix(path, filepath.Ext(path)) + ".password")
		if err != nil {
			return fmt.Errorf("sim: inventory: %w", err)
		}
		if err := writeFileAtomic(abs, []byte(f.cfg.Password+"\n"), 0o600); err != nil {
			return err
		}
		pwFile = abs
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(InventoryHeader)
	for _, k := range f.kiosks {
		w.Write([]string{
			k.id, k.name, k.site, k.host, strconv.Itoa(k.port), pwFile, "tightvnc", k.mac,
			fmt.Sprintf("sim;%s;floor-%d", k.behaviour, k.floor),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("sim: inventory: %w", err)
	}
	return writeFileAtomic(path, []byte(b.String()), 0o644)
}

// writeFileAtomic replaces path with data, so a reader never sees half a
// file, and sets mode even when the file existed before with another.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("sim: writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("sim: writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("sim: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sim: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("sim: writing %s: %w", path, err)
	}
	return nil
}
