package config

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// wantProblem is a problem a test expects: at line (0 for the whole file),
// with a message containing msg.
type wantProblem struct {
	line int
	msg  string
}

// checkProblems matches the problems found against those wanted, in order.
func checkProblems(t *testing.T, file string, got []Problem, want []wantProblem) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("missing problem at line %d saying %q", want[i].line, want[i].msg)
		case i >= len(want):
			t.Errorf("unexpected problem: %v", got[i])
		case got[i].File != file || got[i].Line != want[i].line || !strings.Contains(got[i].Msg, want[i].msg):
			t.Errorf("problem %d is %q; want %s:%d: …%s…", i, got[i].Error(), file, want[i].line, want[i].msg)
		}
	}
}

func ids(ks []Kiosk) []string {
	var s []string
	for _, k := range ks {
		s = append(s, k.ID)
	}
	return s
}

// parseCase is a kiosk file and what parsing it must give.
type parseCase struct {
	name     string
	in       string
	want     []Kiosk  // compared in full when given
	wantIDs  []string // otherwise only the ids are
	problems []wantProblem
	fatal    bool // the file is unusable as a whole
}

func runParseCases(t *testing.T, path string, parse kioskFormat, cases []parseCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks, ps, ok := parse(newFileContext(path, KioskDefaults{}), []byte(tc.in))
			if ok == tc.fatal {
				t.Errorf("ok = %v, want %v", ok, !tc.fatal)
			}
			checkProblems(t, path, ps, tc.problems)
			if tc.want != nil && !reflect.DeepEqual(ks, tc.want) {
				t.Errorf("kiosks:\n got %+v\nwant %+v", ks, tc.want)
			}
			if tc.want == nil && !reflect.DeepEqual(ids(ks), tc.wantIDs) {
				t.Errorf("kiosks %v, want %v", ids(ks), tc.wantIDs)
			}
		})
	}
}

func TestParseCSV(t *testing.T) {
	dir := filepath.Join(string(filepath.Separator), "inv")
	path := filepath.Join(dir, "west.csv")
	cases := []parseCase{{
		name: "every column, any order, defaults",
		in: "\ufeffHost, ID ,name,site,port,password,password_file,kind,mac,tags\n" +
			"10.0.0.1,k1,\"Lobby, east\",north,5901,,,x11vnc,00-1A-2B-3C-4D-5E, a ;b;;\n" +
			"# a comment line\n" +
			"\n" +
			"kiosk2.example.org,k2,,,,,pw/k2.pass,,,\n" +
			"[fe80::1],k3,,,,s3cret,,,,\n" +
			"::1,k4,,,,,/etc/pw,,,\n",
		want: []Kiosk{
			{ID: "k1", Name: "Lobby, east", Site: "north", Host: "10.0.0.1", Port: 5901, Kind: "x11vnc", MAC: "00:1a:2b:3c:4d:5e", Tags: []string{"a", "b"}, Source: path + ":2"},
			{ID: "k2", Name: "k2", Site: "west", Host: "kiosk2.example.org", Port: 5900, PasswordFile: filepath.Join(dir, "pw", "k2.pass"), Kind: "tightvnc", Source: path + ":5"},
			{ID: "k3", Name: "k3", Site: "west", Host: "fe80::1", Port: 5900, Password: "s3cret", Kind: "tightvnc", Source: path + ":6"},
			{ID: "k4", Name: "k4", Site: "west", Host: "::1", Port: 5900, PasswordFile: "/etc/pw", Kind: "tightvnc", Source: path + ":7"},
		},
	}, {
		name:     "unknown columns are ignored with one warning",
		in:       "id,host,room,floor\nk1,h1,12,3\nk2,h2,13,4\n",
		wantIDs:  []string{"k1", "k2"},
		problems: []wantProblem{{1, `ignoring unknown columns "room", "floor"`}},
	}, {
		name: "bad lines are skipped, the rest loads",
		in: "id,host,port,mac,kind,password,password_file,site\n" +
			"ok1,h,,,,,,\n" +
			",h,,,,,,\n" +
			"bad id,h,,,,,,\n" +
			strings.Repeat("x", 65) + ",h,,,,,,\n" +
			"k5,,,,,,,\n" +
			"k6,10.0.0.6:5901,,,,,,\n" +
			"k7,no_such host,,,,,,\n" +
			"k8,h,59o0,,,,,\n" +
			"k9,h,0,,,,,\n" +
			"k10,h,70000,,,,,\n" +
			"k11,h,,00:11,,,,\n" +
			"k12,h,,,tight vnc,,,\n" +
			"k13,h,,,,pw,pw.file,\n" +
			"k14,h\n" +
			"k15,h,,,,,,a\"b\n" +
			"k16,[10.0.0.1],,,,,,\n" +
			"k17,h,,,,,,\x01\n" +
			",,99999,,,,,\n" +
			"ok2,h,,,,,,\n",
		wantIDs: []string{"ok1", "ok2"},
		problems: []wantProblem{
			{3, "kiosk: id: missing; entry skipped"},
			{4, `id: "bad id" may hold only letters`},
			{5, "is 65 characters long"},
			{6, "kiosk k5: host is missing"},
			{7, "includes a port; write host 10.0.0.6 and port 5901"},
			{8, `host "no_such host" is neither a host name nor an IP address`},
			{9, `port "59o0" is not a number`},
			{10, "port 0 is out of range"},
			{11, "port 70000 is out of range"},
			{12, `mac "00:11" is not a MAC address`},
			{13, `kind: "tight vnc" may hold only`},
			{14, "either password or password_file, not both"},
			{15, "2 fields where the header has 8"},
			{16, "bare \" in non-quoted-field"},
			{17, "only an IPv6 address goes in brackets"},
			{18, "site: \"\\x01\" holds control characters"},
			{19, "id: missing; host is missing; port 99999 is out of range"},
		},
	}, {
		name:     "a header alone lists no kiosks",
		in:       "id,host\n",
		problems: nil,
	}, {
		name:     "empty",
		in:       "  \n",
		problems: []wantProblem{{0, "the file is empty"}},
		fatal:    true,
	}, {
		name:     "no header",
		in:       "k1,10.0.0.1\nk2,10.0.0.2\n",
		problems: []wantProblem{{1, `has no "id" column`}},
		fatal:    true,
	}, {
		name:     "no host column",
		in:       "# inventory\nid,name\nk1,a\n",
		problems: []wantProblem{{2, `has no "host" column`}},
		fatal:    true,
	}, {
		name:     "column twice",
		in:       "id,host,ID\nk1,h,k2\n",
		problems: []wantProblem{{1, `names column "id" twice`}},
		fatal:    true,
	}, {
		name:     "quoted field spanning lines",
		in:       "id,name,host\nk1,\"two\nlines\",h1\nk2,x,\n",
		want:     []Kiosk{{ID: "k1", Name: "two\nlines", Site: "west", Host: "h1", Port: 5900, Kind: "tightvnc", Source: path + ":2"}},
		problems: []wantProblem{{4, "kiosk k2: host is missing"}},
	}}
	runParseCases(t, path, parseCSV, cases)
}

func TestParseYAMLKiosks(t *testing.T) {
	path := filepath.Join(string(filepath.Separator), "inv", "east.yaml")
	full := []Kiosk{
		{ID: "0012", Name: "Pharmacy", Site: "east", Host: "10.1.0.12", Port: 5901, Password: "123456", Kind: "tightvnc", Tags: []string{"pay", "lobby"}, Source: path + ":1"},
		{ID: "k2", Name: "k2", Site: "south", Host: "fe80::2", Port: 5900, Kind: "tigervnc", MAC: "00:1a:2b:3c:4d:5e", Tags: []string{"a", "b"}, Source: path + ":7"},
	}
	fullText := "" +
		"- id: 0012\n" + // a YAML integer, kept as written
		"  name: Pharmacy\n" +
		"  host: 10.1.0.12\n" +
		"  port: 5901\n" +
		"  password: 123456\n" +
		"  tags: [pay, lobby]\n" +
		"- {ID: k2, host: \"[fe80::2]\", site: south, kind: tigervnc, mac: 00:1a:2b:3c:4d:5e, tags: a;b, name: ~}\n"
	cases := []parseCase{{
		name: "a list at the top",
		in:   fullText,
		want: full,
	}, {
		name:    "under kiosks:",
		in:      "kiosks:\n  - id: a\n    host: h\n  - id: b\n    host: h\n",
		wantIDs: []string{"a", "b"},
	}, {
		name:    "JSON",
		in:      `{"kiosks": [{"id": "a", "host": "h", "port": 5901}]}`,
		wantIDs: []string{"a"},
	}, {
		name:    "an explicitly empty list",
		in:      "kiosks: []\n",
		wantIDs: nil,
	}, {
		name: "bad entries are skipped, the rest loads",
		in: "kiosks:\n" +
			"- id: ok1\n  host: h\n  room: 12\n" + // lines 2-4
			"- id: bad/id\n  host: h\n" + // 5
			"- just a string\n" + // 7
			"- id: k4\n  host: h\n  port: [1, 2]\n" + // 8
			"- id: k5\n  host: h\n  id: k5b\n" + // 11
			"- id: k6\n  host: h\n  tags: [a, [b]]\n  floor: 2\n" + // 14
			"- id: ok2\n  host: h\n  port: 5902\n" + // 18
			"extra: 1\n", // 21
		wantIDs: []string{"ok1", "ok2"},
		problems: []wantProblem{
			{21, `ignoring unknown key "extra"`},
			{5, `id: "bad/id" may hold only`},
			{7, "a kiosk is a mapping"},
			{8, "port: want a single value; entry skipped"},
			{11, "id given twice"},
			{14, "tags: line 16: a tag is a single word"},
			{4, `ignoring unknown keys "room" (line 4), "floor" (line 17)`},
		},
	}, {
		name:     "syntax error",
		in:       "- id: a\n  host: h\n - id: b\n",
		problems: []wantProblem{{2, "did not find expected"}},
		fatal:    true,
	}, {
		name:     "empty",
		in:       "",
		problems: []wantProblem{{0, "the file is empty"}},
		fatal:    true,
	}, {
		name:     "a mapping without kiosks:",
		in:       "id: a\nhost: h\n",
		problems: []wantProblem{{1, "no kiosks: key"}},
		fatal:    true,
	}, {
		name:     "not a list",
		in:       "kiosks: a\n",
		problems: []wantProblem{{1, "want a list of kiosks"}},
		fatal:    true,
	}}
	runParseCases(t, path, parseYAMLKiosks, cases)
}

func TestParseTokens(t *testing.T) {
	path := filepath.Join(string(filepath.Separator), "tokens", "north.cfg")
	k := func(id, host string, port, line int) Kiosk {
		return Kiosk{ID: id, Name: id, Site: "north", Host: host, Port: port, Kind: "kind9", Source: fmt.Sprintf("%s:%d", path, line)}
	}
	in := "" +
		"# generated from MySQL\n" + // 1
		"k1: 10.0.0.1:5900\n" + // 2
		"k2:10.0.0.2:5901\n" + // 3
		"   k3 :   kiosk3.example.org:5902   \r\n" + // 4
		"\n" + // 5
		"k4: [::1]:5903\n" + // 6
		"k5: 10.0.0.5\n" + // 7: default port
		"k6: [fe80::6]\n" + // 8: default port
		"no colon here\n" + // 9
		"k7: fe80::7:5900\n" + // 10
		"k8: 10.0.0.8:http\n" + // 11
		"bad token: 10.0.0.9:5900\n" + // 12
		"k10:\n" + // 13
		"  # indented comment\n" + // 14
		"k11: 10.0.0.11:0\n" + // 15
		"k12: 10.0.0.12:5912" // 16, no newline at the end
	want := []Kiosk{
		k("k1", "10.0.0.1", 5900, 2), k("k2", "10.0.0.2", 5901, 3), k("k3", "kiosk3.example.org", 5902, 4),
		k("k4", "::1", 5903, 6), k("k5", "10.0.0.5", 5999, 7), k("k6", "fe80::6", 5999, 8), k("k12", "10.0.0.12", 5912, 16),
	}
	ks, ps := parseTokens(newFileContext(path, KioskDefaults{Port: 5999, Kind: "kind9"}), []byte(in))
	if !reflect.DeepEqual(ks, want) {
		t.Errorf("kiosks:\n got %+v\nwant %+v", ks, want)
	}
	checkProblems(t, path, ps, []wantProblem{
		{9, `"no colon here" is not token: host:port`},
		{10, "an IPv6 address goes in brackets"},
		{11, `port "http" is not a number`},
		{12, `"bad token" may hold only`},
		{13, "kiosk k10: host is missing"},
		{15, "port 0 is out of range"},
	})
}
