package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDefaultIsValid(t *testing.T) {
	if ps := Default().validate("default", keyLines{}); len(ps) > 0 {
		t.Errorf("the defaults do not pass validation: %v", ps)
	}
}

// TestLoadExample loads the example config from the repository, so that the
// example cannot go stale.
func TestLoadExample(t *testing.T) {
	path := filepath.Join("..", "kioskwall.example.yaml")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	want := &Config{
		Listen:     "127.0.0.1:6080",
		DataDir:    "/var/lib/kioskwall",
		Thumbnails: Thumbnails{Small: Size{320, 180}, Large: Size{640, 360}, Quality: 60},
		Inventory: Inventory{
			Files:        []string{filepath.Join(dir, "kiosks.csv")},
			Tokens:       []string{"/etc/websockify/tokens"},
			PasswordFile: "/etc/kioskwall/vnc-password",
			Reload:       5 * time.Second,
		},
		Budgets:       Budgets{Total: 20 * Mbit, Sites: map[string]Bandwidth{"west": 2 * Mbit, "east": 1500 * Kbit}},
		KioskDefaults: KioskDefaults{Port: 5900, Kind: "tightvnc"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("example config:\n got %+v\nwant %+v", c, want)
	}
	// Every key the Config type has must appear in the example.
	example, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range allKeys(reflect.TypeFor[Config]()) {
		if !strings.Contains(string(example), key+":") {
			t.Errorf("the example does not show key %q", key)
		}
	}
}

// allKeys lists the YAML keys of struct type t and of the structs in it.
func allKeys(t reflect.Type) []string {
	var keys []string
	for name, f := range yamlFields(t) {
		keys = append(keys, name)
		if f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
			keys = append(keys, allKeys(f.Type)...)
		}
	}
	return keys
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *Config, dir string)
	}{{
		name: "empty file: every default",
		yaml: "",
		check: func(t *testing.T, c *Config, dir string) {
			if !reflect.DeepEqual(c, Default()) {
				t.Errorf("got %+v, want the defaults %+v", c, Default())
			}
		},
	}, {
		name: "only a comment",
		yaml: "# nothing yet\n",
		check: func(t *testing.T, c *Config, dir string) {
			if !reflect.DeepEqual(c, Default()) {
				t.Errorf("got %+v, want the defaults", c)
			}
		},
	}, {
		name: "partial sections keep the other defaults",
		yaml: "thumbnails: {quality: 80}\nbudgets: {sites: {west: 512kbit}}\ninventory:\n  reload: 1m\n",
		check: func(t *testing.T, c *Config, dir string) {
			want := Default()
			want.Thumbnails.Quality = 80
			want.Budgets.Sites = map[string]Bandwidth{"west": 512 * Kbit}
			want.Inventory.Reload = time.Minute
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got %+v, want %+v", c, want)
			}
		},
	}, {
		name: "relative paths are relative to the config file",
		yaml: "data_dir: data\ninventory:\n  files: [k.csv, /abs/k.yaml]\n  tokens: [tok/]\n  password_file: ../pw\n",
		check: func(t *testing.T, c *Config, dir string) {
			want := Inventory{
				Files:        []string{filepath.Join(dir, "k.csv"), "/abs/k.yaml"},
				Tokens:       []string{filepath.Join(dir, "tok")},
				PasswordFile: filepath.Join(filepath.Dir(dir), "pw"),
				Reload:       DefaultReload,
			}
			if !reflect.DeepEqual(c.Inventory, want) {
				t.Errorf("inventory %+v, want %+v", c.Inventory, want)
			}
			if c.DataDir != filepath.Join(dir, "data") {
				t.Errorf("data_dir %q, want %q", c.DataDir, filepath.Join(dir, "data"))
			}
			src := c.Sources()
			if !reflect.DeepEqual(src.Files, want.Files) || !reflect.DeepEqual(src.Tokens, want.Tokens) || src.PasswordFile != want.PasswordFile || src.Defaults != c.KioskDefaults {
				t.Errorf("Sources() = %+v does not match the config", src)
			}
		},
	}, {
		name: "the default data_dir stays relative to the working directory",
		yaml: "listen: 127.0.0.1:7000\n",
		check: func(t *testing.T, c *Config, dir string) {
			if c.DataDir != DefaultDataDir || c.Listen != "127.0.0.1:7000" {
				t.Errorf("data_dir %q listen %q", c.DataDir, c.Listen)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "kioskwall.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c, dir)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // each "line: text", one per error, in order
	}{
		{"unknown top-level key", "listen: 127.0.0.1:1\nlisten_addr: x\n", []string{`2: unknown key "listen_addr"; known keys: budgets, data_dir, inventory, kiosk_defaults, listen, thumbnails`}},
		{"unknown nested key", "thumbnails:\n  small: 1x1\n  medium: 2x2\n", []string{`3: unknown key "medium" in thumbnails; known keys: large, quality, small`}},
		{"dash for underscore", "data-dir: x\n", []string{`1: unknown key "data-dir"; did you mean "data_dir"?`}},
		{"every unknown key", "a: 1\ninventory:\n  b: 2\nkiosk_defaults: {c: 3}\n", []string{`1: unknown key "a"`, `3: unknown key "b" in inventory`, `4: unknown key "c" in kiosk_defaults`}},
		{"syntax", "listen: [\n", []string{"1: did not find expected node content"}},
		{"not a mapping", "- a\n- b\n", []string{"1: want keys such as listen:"}},
		{"type", "thumbnails:\n  quality: high\n", []string{"2: thumbnails.quality: cannot unmarshal !!str `high` into int"}},
		{"bad size", "thumbnails: {small: 320}\n", []string{`1: thumbnails.small: size "320": want width x height`}},
		{"bad bandwidth", "budgets:\n  total: 2MB\n  sites:\n    west: 3 furlongs\n", []string{`2: budgets.total: bandwidth "2MB": "MB" is a byte unit`, `4: budgets.sites.west: bandwidth "3 furlongs": unknown unit`}},
		{"duration without unit", "inventory: {reload: 5}\n", []string{"1: inventory.reload: cannot unmarshal !!int `5` into time.Duration; write a duration with its unit, such as 5s"}},
		{"unknown key and bad value together", "thumbnails:\n  quality: x\n  medium: 1x1\n", []string{`3: unknown key "medium"`, "2: thumbnails.quality: cannot unmarshal"}},
		{"flow mapping with many keys on a line", "budgets: {total: 2Mbps, sites: {west: 1Mbit}}\n", []string{`1: bandwidth "2Mbps": "Mbps" is ambiguous`}},
		{"quality range", "thumbnails:\n  quality: 0\n", []string{"2: thumbnails.quality: 0 is out of range; JPEG quality goes from 1 to 100"}},
		{"thumbnail too large", "thumbnails:\n  large: 5000x3000\n", []string{"2: thumbnails.large: 5000x3000 is larger than a thumbnail can be; use at most 4096x4096"}},
		{"small larger than large", "thumbnails:\n  small: 800x600\n", []string{"2: thumbnails.small: 800x600 is larger than large (640x360); swap them"}},
		{"listen", "listen: localhost\n", []string{`1: listen: "localhost" is not host:port`}},
		{"listen port", "listen: \"127.0.0.1:http\"\n", []string{`1: listen: port "http" must be a number`}},
		{"data_dir", "data_dir: \"\"\n", []string{"1: data_dir: empty"}},
		{"kiosk file extension", "inventory:\n  files:\n    - kiosks.txt\n", []string{`3: inventory.files.1: "kiosks.txt": a kiosk file is named .csv`}},
		{"empty token path", "inventory:\n  tokens: [\"\"]\n", []string{"2: inventory.tokens.1: empty"}},
		{"reload too short", "inventory:\n  reload: 1ms\n", []string{"2: inventory.reload: 1ms is too short"}},
		{"site cap zero", "budgets:\n  sites:\n    west: 0\n", []string{"3: budgets.sites.west: a cap of 0 would stop the site"}},
		{"kiosk defaults", "kiosk_defaults:\n  port: 0\n  kind: Tight VNC\n", []string{"2: kiosk_defaults.port: 0 is out of range", `3: kiosk_defaults.kind: "Tight VNC" may hold only`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kw.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err == nil {
				t.Fatalf("loaded %+v, want an error", c)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Fatalf("error %q, want %d lines", err, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], path+":"+w) {
					t.Errorf("error line %q, want %s:%s…", got[i], path, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") || !strings.Contains(err.Error(), "kioskwall.example.yaml") {
		t.Errorf("error %v should name the file and say how to start one", err)
	}
}
