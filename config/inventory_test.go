package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"kioskwall/rfb"
)

// writeFiles creates or replaces files under dir, making folders as needed.
// Each file is written beside dir and renamed into place, as careful
// generators do, so that a watcher polling at a test's short interval never
// sees it half-written (TestPollWaitsForFilesToHoldStill covers that case).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		tmp, err := os.CreateTemp(filepath.Dir(dir), "staged")
		if err == nil {
			_, err = tmp.WriteString(content)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
		}
		if err == nil {
			err = os.Rename(tmp.Name(), p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// matchProblems checks that every problem wanted is there, each as
// "file:line: …msg…" (line 0: "file: …msg…"), and that there are no others.
func matchProblems(t *testing.T, got []Problem, want []Problem) {
	t.Helper()
	used := make([]bool, len(got))
next:
	for _, w := range want {
		for i, g := range got {
			if !used[i] && g.File == w.File && g.Line == w.Line && strings.Contains(g.Msg, w.Msg) {
				used[i] = true
				continue next
			}
		}
		t.Errorf("no problem %s", w.Error())
	}
	for i, g := range got {
		if !used[i] {
			t.Errorf("unexpected problem %s", g.Error())
		}
	}
}

func TestSourcesLoad(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	writeFiles(t, dir, map[string]string{
		"kiosks.csv": "id,host,password_file,site\n" +
			"k1,10.0.0.1,,\n" +
			"k2,10.0.0.2,,\n" +
			"k3,10.0.0.3,pw/k3-missing,\n" +
			"k11,10.0.0.11,pw/k11,\n",
		"pw/k11":              "eleven\r\nsecond line is ignored\n",
		"more.yaml":           "- id: k4\n  host: 10.0.0.4\n  password: own\n- id: k1\n  host: 10.9.9.9\n",
		"tokens/west.cfg":     "k5: 10.0.0.5:5900\nk6: 10.0.0.6:5901\nk2: 10.9.9.2:5900\n",
		"tokens/east":         "k7: 10.0.0.7:5900\n",
		"tokens/.hidden":      "k8: 10.0.0.8:5900\n",
		"tokens/west.cfg~":    "k9: 10.0.0.9:5900\n",
		"tokens/#west.cfg#":   "k9: 10.0.0.9:5900\n",
		"tokens/west.cfg.bak": "k9: 10.0.0.9:5900\n",
		"tokens/sub/deep.cfg": "k10: 10.0.0.10:5900\n",
		"elsewhere/south.cfg": "k12: 10.0.0.12:5900\n",
		"north.txt":           "k13: [::1]:5913\n",
	})
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "south.cfg"), filepath.Join(tokens, "linked.cfg")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "default.pass"), rfb.EncodeVNCPasswordFile("fleetpw"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := Sources{
		Files:        []string{filepath.Join(dir, "kiosks.csv"), filepath.Join(dir, "more.yaml"), filepath.Join(dir, "gone.csv"), filepath.Join(dir, "kiosks.txt")},
		Tokens:       []string{tokens, filepath.Join(dir, "north.txt")},
		PasswordFile: filepath.Join(dir, "default.pass"),
	}
	ks, ps := src.Load()

	type brief struct{ id, site, host, password string }
	var got []brief
	for _, k := range ks {
		got = append(got, brief{k.ID, k.Site, k.Host, k.Password.Reveal()})
	}
	want := []brief{
		{"k1", "kiosks", "10.0.0.1", "fleetpw"},
		{"k2", "kiosks", "10.0.0.2", "fleetpw"},
		{"k11", "kiosks", "10.0.0.11", "eleven"},
		{"k4", "more", "10.0.0.4", "own"},
		{"k7", "east", "10.0.0.7", "fleetpw"},
		{"k12", "linked", "10.0.0.12", "fleetpw"},
		{"k5", "west", "10.0.0.5", "fleetpw"},
		{"k6", "west", "10.0.0.6", "fleetpw"},
		{"k13", "north", "::1", "fleetpw"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("kiosks:\n got %v\nwant %v", got, want)
	}
	csv, yml := filepath.Join(dir, "kiosks.csv"), filepath.Join(dir, "more.yaml")
	matchProblems(t, ps, []Problem{
		{yml, 4, "kiosk k1 is also listed at " + csv + ":2, which wins"},
		{filepath.Join(tokens, "west.cfg"), 3, "kiosk k2 is also listed at " + csv + ":3, which wins"},
		{filepath.Join(dir, "gone.csv"), 0, "cannot read it: no such file or directory"},
		{filepath.Join(dir, "kiosks.txt"), 0, "a kiosk file is named .csv, .yaml, .yml or .json"},
		{filepath.Join(dir, "pw", "k3-missing"), 0, "no such file or directory; left out the kiosks that use it (1): k3 (" + csv + ":4)"},
	})
	for _, k := range ks {
		if k.ID == "k1" && k.PasswordFile != src.PasswordFile {
			t.Errorf("k1 has password file %q, want the default %q", k.PasswordFile, src.PasswordFile)
		}
		if k.ID == "k4" && k.PasswordFile != "" {
			t.Errorf("k4 has its own password but password file %q", k.PasswordFile)
		}
	}
}

func TestSourcesLoadDefaultPasswordUnreadable(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"t/a.cfg":  "k1: h1:5900\nk2: h2:5900\nk3: h3:5900\nk4: h4:5900\nk5: h5:5900\nk6: h6:5900\n",
		"own.csv":  "id,host,password\nk7,h7,seven\n",
		"empty.pw": "\n",
	})
	src := Sources{Files: []string{filepath.Join(dir, "own.csv")}, Tokens: []string{filepath.Join(dir, "t")}, PasswordFile: filepath.Join(dir, "empty.pw")}
	ks, ps := src.Load()
	if !reflect.DeepEqual(ids(ks), []string{"k7"}) {
		t.Errorf("kiosks %v; want only k7, the one with its own password", ids(ks))
	}
	matchProblems(t, ps, []Problem{{src.PasswordFile, 0, "the first line is empty; write the password on it (or use vncpasswd); left out the kiosks that use it (6): k1 ("}})
	if len(ps) == 1 && !strings.HasSuffix(ps[0].Msg, ", …") {
		t.Errorf("a long list of kiosks left out is not cut short: %s", ps[0].Msg)
	}
}

func TestSourcesLoadDefaults(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s.cfg": "k1: h1\n", "f.csv": "id,host,kind,port\nk2,h2,,\nk3,h3,realvnc,5\n"})
	ks, ps := Sources{Files: []string{filepath.Join(dir, "f.csv")}, Tokens: []string{filepath.Join(dir, "s.cfg")}, Defaults: KioskDefaults{Port: 5901, Kind: "tigervnc"}}.Load()
	if len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
	var got []string
	for _, k := range ks {
		got = append(got, k.ID+" "+k.Addr()+" "+k.Kind)
	}
	want := []string{"k2 h2:5901 tigervnc", "k3 h3:5 realvnc", "k1 h1:5901 tigervnc"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestKioskSameAs changes every field of a kiosk in turn: each but Source
// must make the kiosk differ, so that Watch reports it as changed.
func TestKioskSameAs(t *testing.T) {
	base := Kiosk{ID: "k", Name: "n", Site: "s", Host: "h", Port: 1, Password: "p", PasswordFile: "f", Kind: "k", MAC: "m", Tags: []string{"t"}, Source: "x:1"}
	v := reflect.ValueOf(&base).Elem()
	for i := range v.NumField() {
		changed := base
		changed.Tags = append([]string(nil), base.Tags...)
		f := reflect.ValueOf(&changed).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "2")
		case reflect.Int:
			f.SetInt(f.Int() + 1)
		case reflect.Slice:
			f.Set(reflect.Append(f, reflect.ValueOf("t2")))
		default:
			t.Fatalf("field %s of kind %v: teach this test to change it", v.Type().Field(i).Name, f.Kind())
		}
		name := v.Type().Field(i).Name
		if same := base.sameAs(changed); same != (name == "Source") {
			t.Errorf("changing %s: sameAs = %v", name, same)
		}
	}
}
