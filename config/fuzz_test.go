package config

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzKioskFiles feeds the same bytes to every inventory parser: whatever
// the file holds, a parser must not panic, every kiosk it returns must pass
// the checks a good entry passes, and every problem must point into the file.
func FuzzKioskFiles(f *testing.F) {
	for _, seed := range []string{
		"id,host,port,name,site,password,password_file,kind,mac,tags\nk1,10.0.0.1,5900,Lobby,west,pw,,tightvnc,00:1a:2b:3c:4d:5e,a;b\n",
		"\ufeffhost,id\n[::1],k2\n\"a\"\"b\",k3\nk4\n",
		"kiosks:\n  - id: k1\n    host: h\n    tags: [a, b]\n  - {id: 0012, host: \"[fe80::1]\", port: 5901}\n",
		"- id: &x k1\n  host: *x\n- [a]\n",
		"# websockify\nk1: 10.0.0.1:5900\nk2:10.0.0.2:5901\nk3: [::1]:5900\nk4: fe80::1:5900\n",
	} {
		f.Add([]byte(seed))
	}
	path := filepath.Join(string(filepath.Separator), "inv", "site.x")
	f.Fuzz(func(t *testing.T, data []byte) {
		fc := newFileContext(path, KioskDefaults{})
		// YAML also breaks lines at a lone CR, so count both for a bound.
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		check := func(parser string, ks []Kiosk, ps []Problem) {
			for _, k := range ks {
				_, hostErr := checkHost(k.Host)
				if checkName(k.ID) != nil || hostErr != nil || k.Port < 1 || k.Port > 65535 ||
					checkLabel(k.Site) != nil || checkName(k.Kind) != nil || !strings.HasPrefix(k.Source, path+":") {
					t.Errorf("%s returned a kiosk that is not valid: %+v", parser, k)
				}
			}
			for _, p := range ps {
				if p.File != path || p.Line < 0 || p.Line > lines || p.Msg == "" {
					t.Errorf("%s reported %+v; the file has %d lines", parser, p, lines)
				}
			}
		}
		ks, ps, _ := parseCSV(fc, data)
		check("parseCSV", ks, ps)
		ks, ps, _ = parseYAMLKiosks(fc, data)
		check("parseYAMLKiosks", ks, ps)
		ks, ps = parseTokens(fc, data)
		check("parseTokens", ks, ps)
	})
}

// FuzzConfig checks that no config file makes Load panic, and that what it
// accepts is valid.
func FuzzConfig(f *testing.F) {
	for _, seed := range []string{
		"listen: 127.0.0.1:6080\ndata_dir: d\nthumbnails: {small: 320x180, large: 640x360, quality: 60}\n" +
			"inventory:\n  files: [k.csv]\n  tokens: [t/]\n  password_file: pw\n  reload: 5s\n" +
			"budgets: {total: 20Mbit, sites: {west: 2Mbit}}\nkiosk_defaults: {port: 5900, kind: tightvnc}\n",
		"thumbnails:\n  quality: x\n  medium: 1x1\n",
		"a: &a [*a]\n",
		"- 1\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ps := parseConfig("kw.yaml", data)
		if c == nil && len(ps) == 0 {
			t.Fatal("no config and no problem")
		}
		if c != nil {
			if len(ps) != 0 {
				t.Errorf("a config and problems %v", ps)
			}
			if vps := c.validate("kw.yaml", keyLines{}); len(vps) != 0 {
				t.Errorf("accepted a config that is not valid: %v", vps)
			}
		}
		for _, p := range ps {
			if p.File != "kw.yaml" || p.Line < 0 || p.Msg == "" {
				t.Errorf("problem %+v", p)
			}
		}
	})
}

// FuzzParseBandwidth checks that whatever ParseBandwidth accepts is in
// range and prints as a string it reads back to the same rate.
func FuzzParseBandwidth(f *testing.F) {
	for _, seed := range []string{"2Mbit", "512kbit", "1.5Mbit", "2000000", "1.234567Mbit/s", "2MB", ".5 gbit"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBandwidth(s)
		if err != nil {
			return
		}
		if b < 0 || b > maxBandwidth {
			t.Fatalf("ParseBandwidth(%q) = %d, out of range", s, int64(b))
		}
		if back, err := ParseBandwidth(b.String()); err != nil || back != b {
			t.Errorf("ParseBandwidth(%q) = %d prints as %q, which reads back as %d, %v", s, int64(b), b.String(), int64(back), err)
		}
	})
}
