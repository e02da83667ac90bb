// Package config reads kioskwall's configuration file and its kiosk
// inventory: kiosk files (CSV or YAML) and websockify token files, re-read
// while the server runs so that kiosks come and go without a restart.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration file. Every field has a default
// (see Default); a file states only what differs.
type Config struct {
	// Listen is the address the web server listens on.
	Listen string `yaml:"listen"`
	// DataDir holds what must survive a restart, such as the last thumbnails.
	DataDir       string        `yaml:"data_dir"`
	Thumbnails    Thumbnails    `yaml:"thumbnails"`
	Inventory     Inventory     `yaml:"inventory"`
	Budgets       Budgets       `yaml:"budgets"`
	KioskDefaults KioskDefaults `yaml:"kiosk_defaults"`
}

// Thumbnails sets the renditions made of every kiosk screen.
type Thumbnails struct {
	Small   Size `yaml:"small"`   // for a dense wall
	Large   Size `yaml:"large"`   // for a wall of few, larger tiles
	Quality int  `yaml:"quality"` // JPEG quality, 1 to 100
}

// Inventory says where the kiosks are listed.
type Inventory struct {
	// Files are kiosk files, CSV or YAML by their extension.
	Files []string `yaml:"files"`
	// Tokens are websockify token files, or directories of them.
	Tokens []string `yaml:"tokens"`
	// PasswordFile holds the VNC password of every kiosk that has none of
	// its own.
	PasswordFile string `yaml:"password_file"`
	// Reload is how often the files are checked for changes.
	Reload time.Duration `yaml:"reload"`
}

// Budgets caps the RFB bytes read from the kiosks, in bits per second.
// Zero, or a site that is not listed, means no cap.
type Budgets struct {
	Total Bandwidth            `yaml:"total"`
	Sites map[string]Bandwidth `yaml:"sites"`
}

// KioskDefaults fills what a kiosk's entry leaves out.
type KioskDefaults struct {
	Port int    `yaml:"port"`
	Kind string `yaml:"kind"`
}

// Defaults of the configuration.
const (
	DefaultListen  = "127.0.0.1:6080" // the port noVNC/websockify users already open
	DefaultDataDir = "kioskwall-data"
	DefaultReload  = 5 * time.Second
	DefaultPort    = 5900
	DefaultKind    = "tightvnc"
)

// minReload keeps a mistyped reload interval from turning polling into a busy loop.
const minReload = 100 * time.Millisecond

// maxThumbnailSide bounds a rendition's sides: thumbs encodes pictures of
// at most 4096 pixels a side (rowjpeg.MaxSide), and a tile never needs more.
const maxThumbnailSide = 4096

// Default returns the configuration used when there is no file, and the
// starting point of every file.
func Default() *Config {
	return &Config{
		Listen:  DefaultListen,
		DataDir: DefaultDataDir,
		Thumbnails: Thumbnails{
			Small:   Size{320, 180},
			Large:   Size{640, 360},
			Quality: 60,
		},
		Inventory:     Inventory{Reload: DefaultReload},
		KioskDefaults: KioskDefaults{Port: DefaultPort, Kind: DefaultKind},
	}
}

// Load reads the configuration file at path. Paths in it are relative to
// the file's folder. The error lists every problem found, one per line, each
// as file:line: what is wrong.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the config file: %w (copy kioskwall.example.yaml to start one)", err)
	}
	c, problems := parseConfig(path, data)
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = p
		}
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func parseConfig(path string, data []byte) (*Config, []Problem) {
	c := Default()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlErrors(path, err)
	}
	if len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
		return c, nil // an empty file: every default
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, []Problem{{path, doc.Line, "want keys such as listen: and inventory: (see kioskwall.example.yaml)"}}
	}
	lines := keyLines{}
	// Unknown keys do not stop decoding (yaml.v3 skips them), so that one
	// run reports them together with the bad values.
	ps := checkKeys(path, doc, reflect.TypeFor[Config](), "", lines)
	if err := doc.Decode(c); err != nil {
		for _, p := range yamlErrors(path, err) {
			p.Msg = keyAt(lines, p.Line) + p.Msg
			if strings.HasSuffix(p.Msg, "into time.Duration") {
				p.Msg += "; write a duration with its unit, such as 5s or 1m"
			}
			ps = append(ps, p)
		}
		return nil, ps
	}
	if ps = append(ps, c.validate(path, lines)...); len(ps) > 0 {
		return nil, ps
	}
	c.resolvePaths(filepath.Dir(path), lines)
	return c, nil
}

// keyAt names the key written on line, as a prefix for a message about its
// value, or "" when there is none or more than one (a flow mapping written
// on one line), since yaml.v3 reports only the line.
func keyAt(lines keyLines, line int) string {
	var found []string
	for k, l := range lines {
		if l == line {
			found = append(found, k)
		}
	}
	// A key holding a flow mapping shares the line of its first key:
	// "thumbnails: {quality: x}" names thumbnails.quality, the longer path.
	slices.SortFunc(found, func(a, b string) int { return len(b) - len(a) })
	if len(found) == 0 || len(found) > 1 && !strings.HasPrefix(found[0], found[1]+".") || len(found) > 2 {
		return ""
	}
	return found[0] + ": "
}

func (c *Config) validate(path string, lines keyLines) []Problem {
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{File: path, Line: lines[key], Msg: key + ": " + fmt.Sprintf(format, args...)})
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port; write for example %s", c.Listen, DefaultListen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		bad("listen", "port %q must be a number from 1 to 65535", port)
	}
	if c.DataDir == "" {
		bad("data_dir", "empty; name a folder kioskwall may write to, such as /var/lib/kioskwall")
	}
	t := c.Thumbnails
	if t.Quality < 1 || t.Quality > 100 {
		bad("thumbnails.quality", "%d is out of range; JPEG quality goes from 1 to 100 (60 is a good start)", t.Quality)
	}
	for _, r := range []struct {
		key  string
		size Size
	}{{"thumbnails.small", t.Small}, {"thumbnails.large", t.Large}} {
		if r.size.W > maxThumbnailSide || r.size.H > maxThumbnailSide {
			bad(r.key, "%v is larger than a thumbnail can be; use at most %dx%d", r.size, maxThumbnailSide, maxThumbnailSide)
		}
	}
	if t.Small.W > t.Large.W || t.Small.H > t.Large.H {
		bad("thumbnails.small", "%v is larger than large (%v); swap them", t.Small, t.Large)
	}
	for i, f := range c.Inventory.Files {
		if _, err := kioskFileFormat(f); err != nil {
			bad("inventory.files."+strconv.Itoa(i+1), "%v", err)
		}
	}
	for i, f := range c.Inventory.Tokens {
		if f == "" {
			bad("inventory.tokens."+strconv.Itoa(i+1), "empty; name a token file or a directory of them")
		}
	}
	if r := c.Inventory.Reload; r < minReload {
		bad("inventory.reload", "%v is too short; use at least %v (5s is a good start)", r, minReload)
	}
	for site, b := range c.Budgets.Sites {
		if err := checkLabel(site); err != nil {
			bad("budgets.sites."+site, "site name: %v", err)
		}
		if b <= 0 {
			bad("budgets.sites."+site, "a cap of 0 would stop the site; leave the site out for no cap")
		}
	}
	if p := c.KioskDefaults.Port; p < 1 || p > 65535 {
		bad("kiosk_defaults.port", "%d is out of range; use 1 to 65535 (VNC's usual port is 5900)", p)
	}
	if err := checkName(c.KioskDefaults.Kind); err != nil {
		bad("kiosk_defaults.kind", "%v", err)
	}
	return ps
}

// resolvePaths makes the paths written in the file relative to the file's
// folder, so that a config works from whatever directory serve starts in.
// Defaults that the file does not set stay relative to the working directory.
func (c *Config) resolvePaths(dir string, lines keyLines) {
	abs := func(p string) string {
		switch {
		case p == "":
			return ""
		case filepath.IsAbs(p):
			return filepath.Clean(p)
		}
		return filepath.Join(dir, p)
	}
	if _, set := lines["data_dir"]; set {
		c.DataDir = abs(c.DataDir)
	}
	for i := range c.Inventory.Files {
		c.Inventory.Files[i] = abs(c.Inventory.Files[i])
	}
	for i := range c.Inventory.Tokens {
		c.Inventory.Tokens[i] = abs(c.Inventory.Tokens[i])
	}
	c.Inventory.PasswordFile = abs(c.Inventory.PasswordFile)
}

// Sources returns where the configuration lists its kiosks, for Sources.Load
// and Watch.
func (c *Config) Sources() Sources {
	return Sources{
		Files:        slices.Clone(c.Inventory.Files),
		Tokens:       slices.Clone(c.Inventory.Tokens),
		PasswordFile: c.Inventory.PasswordFile,
		Defaults:     c.KioskDefaults,
	}
}
