package sim

import (
	"encoding/csv"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"kioskwall/config"
)

// The inventory lists every kiosk as the fleet runs it, and keeps the
// password out of the CSV, in a 0600 file next to it.
func TestInventoryRoundTrip(t *testing.T) {
	const password = "s3cret-pw"
	f := startFleet(t, Config{Kiosks: 30, Seed: 9, Password: password, Size: image.Pt(320, 200)})
	dir := t.TempDir()
	path := filepath.Join(dir, "kiosks.csv")
	if err := f.WriteInventory(path); err != nil {
		t.Fatal(err)
	}
	// Written twice: the second write replaces the first.
	if err := f.WriteInventory(path); err != nil {
		t.Fatal(err)
	}
	raw := mustRead(t, path)
	if strings.Contains(raw, password) {
		t.Fatal("the inventory CSV contains the password")
	}
	rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"id", "name", "site", "host", "port", "password_file", "kind", "mac", "tags"}; !slices.Equal(rows[0], want) {
		t.Fatalf("header %q, want %q", rows[0], want)
	}
	if len(rows) != 31 {
		t.Fatalf("%d kiosk lines, want 30", len(rows)-1)
	}
	pwFile := rows[1][5]
	if !filepath.IsAbs(pwFile) || filepath.Dir(pwFile) != dir {
		t.Errorf("password_file %q is not an absolute path next to the inventory", pwFile)
	}
	st, err := os.Stat(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v, want 0600", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(pwFile); strings.TrimSpace(string(b)) != password {
		t.Errorf("password file holds %q", b)
	}
	for i, row := range rows[1:] {
		k := f.Kiosks()[i]
		host, port, _ := strings.Cut(k.Addr(), ":")
		want := map[string]string{"id": k.ID(), "name": k.Name(), "site": k.Site(), "host": host, "port": port,
			"password_file": pwFile, "kind": "tightvnc"}
		for col, name := range rows[0] {
			if w, ok := want[name]; ok && row[col] != w {
				t.Errorf("line %d: %s = %q, want %q", i+2, name, row[col], w)
			}
		}
		if p, err := strconv.Atoi(row[4]); err != nil || p == 0 {
			t.Errorf("line %d: port %q is not the port the kiosk listens on", i+2, row[4])
		}
		if mac := row[7]; len(mac) != 17 || strings.Count(mac, ":") != 5 {
			t.Errorf("line %d: MAC %q is not like 02:1a:2b:3c:4d:5e", i+2, mac)
		}
		if tags := strings.Split(row[8], ";"); !slices.Contains(tags, k.Behaviour().String()) {
			t.Errorf("line %d: tags %q do not name the behaviour %s", i+2, row[8], k.Behaviour())
		}
	}
}

// Without a password, kiosks use no authentication and no password file
// is written or referenced.
func TestInventoryWithoutPassword(t *testing.T) {
	f := startFleet(t, Config{Kiosks: 2, Size: image.Pt(320, 200)})
	dir := t.TempDir()
	if err := f.WriteInventory(filepath.Join(dir, "kiosks.csv")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the inventory directory holds %d files, want only the CSV", len(entries))
	}
	rows, err := csv.NewReader(strings.NewReader(mustRead(t, filepath.Join(dir, "kiosks.csv")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[1][5] != "" {
		t.Errorf("password_file is %q without a password", rows[1][5])
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// kioskwall serve reads the inventory with package config: every kiosk
// comes through, with its address, site, password and tags.
func TestInventoryLoadsInConfig(t *testing.T) {
	const password = "wall-pw"
	f := startFleet(t, Config{Kiosks: 25, Seed: 4, Password: password, Size: image.Pt(320, 200)})
	path := filepath.Join(t.TempDir(), "kiosks.csv")
	if err := f.WriteInventory(path); err != nil {
		t.Fatal(err)
	}
	ks, problems := config.Sources{Files: []string{path}}.Load()
	if len(problems) > 0 {
		t.Fatalf("config reports problems with the inventory: %v", problems)
	}
	if len(ks) != 25 {
		t.Fatalf("config loaded %d kiosks, want 25", len(ks))
	}
	for i, got := range ks {
		k := f.Kiosks()[i]
		if got.ID != k.ID() || got.Name != k.Name() || got.Site != k.Site() || got.Addr() != k.Addr() ||
			got.Password.Reveal() != password || !slices.Contains(got.Tags, k.Behaviour().String()) {
			t.Errorf("config read %s as %+v", k.ID(), got)
		}
	}
}
