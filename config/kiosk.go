package config

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kiosk is one kiosk of the inventory. ID is stable and names the kiosk
// everywhere (token, URL, API); everything else may change while the server
// runs.
type Kiosk struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Site     string `json:"site"`
	Host     string `json:"host"` // a host name or an IP address, IPv6 without brackets
	Port     int    `json:"port"`
	Password Secret `json:"password,omitempty"`
	// PasswordFile is the file Password was read from, if any.
	PasswordFile string   `json:"password_file,omitempty"`
	Kind         string   `json:"kind"` // the kind of VNC server, e.g. tightvnc
	MAC          string   `json:"mac,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	// Source is where the kiosk was read, as file:line.
	Source string `json:"source"`
}

// Addr returns the kiosk's host:port, for dialling.
func (k Kiosk) Addr() string { return net.JoinHostPort(k.Host, strconv.Itoa(k.Port)) }

// sameAs reports whether k and o describe the kiosk alike. Source does not
// count: a line moving within its file changes nothing about the kiosk.
func (k Kiosk) sameAs(o Kiosk) bool {
	return k.ID == o.ID && k.Name == o.Name && k.Site == o.Site &&
		k.Host == o.Host && k.Port == o.Port &&
		k.Password == o.Password && k.PasswordFile == o.PasswordFile &&
		k.Kind == o.Kind && k.MAC == o.MAC && slices.Equal(k.Tags, o.Tags)
}

// Problem is something wrong in an inventory or config file, at a line when
// one is known. The rest of the inventory loads despite it.
type Problem struct {
	File string
	Line int // 0 when the problem concerns the file as a whole
	Msg  string
}

func (p Problem) Error() string {
	switch {
	case p.File == "":
		return p.Msg
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return p.File + ": " + p.Msg
}

// columns are the fields of a kiosk entry, the same in every file format.
var columns = []string{"id", "name", "site", "host", "port", "password", "password_file", "kind", "mac", "tags"}

// fileContext is what an entry of a kiosk or token file takes from the file
// it is in.
type fileContext struct {
	path     string
	site     string // for entries that name none: the file name without extension
	defaults KioskDefaults
}

func newFileContext(path string, d KioskDefaults) *fileContext {
	if d.Port == 0 {
		d.Port = DefaultPort
	}
	if d.Kind == "" {
		d.Kind = DefaultKind
	}
	base := filepath.Base(path)
	return &fileContext{path: path, site: strings.TrimSuffix(base, filepath.Ext(base)), defaults: d}
}

// kiosk makes a kiosk of the entry at line, whose values are given by column
// name as written. Every mistake in the entry is reported, not only the first.
func (fc *fileContext) kiosk(values map[string]string, line int) (Kiosk, *Problem) {
	v := func(col string) string { return strings.TrimSpace(values[col]) }
	k := Kiosk{
		ID:       v("id"),
		Name:     v("name"),
		Site:     v("site"),
		Password: Secret(values["password"]),
		Kind:     v("kind"),
		Source:   fmt.Sprintf("%s:%d", fc.path, line),
	}
	var errs []string
	if err := checkName(k.ID); err != nil {
		errs = append(errs, "id: "+err.Error())
	}
	var err error
	if k.Host, err = checkHost(v("host")); err != nil {
		errs = append(errs, err.Error())
	}
	k.Port = fc.defaults.Port
	if p := v("port"); p != "" {
		if k.Port, err = parsePort(p); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if k.Name == "" {
		k.Name = k.ID
	}
	if k.Site == "" {
		k.Site = fc.site
	}
	if err := checkLabel(k.Site); err != nil {
		errs = append(errs, "site: "+err.Error())
	}
	if k.Kind == "" {
		k.Kind = fc.defaults.Kind
	} else if err := checkName(k.Kind); err != nil {
		errs = append(errs, "kind: "+err.Error())
	}
	if pf := v("password_file"); pf != "" {
		if k.Password != "" {
			errs = append(errs, "give either password or password_file, not both")
		}
		if !filepath.IsAbs(pf) {
			pf = filepath.Join(filepath.Dir(fc.path), pf)
		}
		k.PasswordFile = pf
	}
	if m := v("mac"); m != "" {
		hw, err := net.ParseMAC(m)
		if err != nil || len(hw) != 6 {
			errs = append(errs, fmt.Sprintf("mac %q is not a MAC address such as 00:1a:2b:3c:4d:5e", m))
		}
		k.MAC = hw.String()
	}
	for t := range strings.SplitSeq(values["tags"], ";") {
		if t = strings.TrimSpace(t); t != "" {
			k.Tags = append(k.Tags, t)
		}
	}
	if len(errs) > 0 {
		who := "kiosk"
		if checkName(k.ID) == nil {
			who = "kiosk " + k.ID
		}
		return Kiosk{}, &Problem{fc.path, line, who + ": " + strings.Join(errs, "; ") + "; entry skipped"}
	}
	return k, nil
}

// checkName checks an identifier that ends up in URLs, tokens and file
// names: a kiosk id or kind.
func checkName(s string) error {
	if s == "" {
		return fmt.Errorf("missing")
	}
	if len(s) > 64 {
		return fmt.Errorf("%.20q… is %d characters long; the most is 64", s, len(s))
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%q may hold only letters, digits, '.', '_' and '-'", s)
		}
	}
	return nil
}

// checkLabel checks a site name: free text for people, but short and
// printable, because it labels metrics and groups the wall.
func checkLabel(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("missing")
	case len(s) > 64:
		return fmt.Errorf("%.20q… is %d bytes long; the most is 64", s, len(s))
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("%q holds control characters or invalid UTF-8", s)
	}
	return nil
}

// checkHost checks a host name or IP address and returns it without the
// brackets an IPv6 address may be written in.
func checkHost(h string) (string, error) {
	if h == "" {
		return "", fmt.Errorf("host is missing")
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		if ip := net.ParseIP(h[1 : len(h)-1]); ip != nil && ip.To4() == nil {
			return h[1 : len(h)-1], nil
		}
		return "", fmt.Errorf("host %q: only an IPv6 address goes in brackets", h)
	}
	if net.ParseIP(h) != nil {
		return h, nil
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		if _, err := strconv.Atoi(port); err == nil {
			return "", fmt.Errorf("host %q includes a port; write host %s and port %s", h, host, port)
		}
	}
	if len(h) > 253 {
		return "", fmt.Errorf("host %.20q… is longer than a host name can be", h)
	}
	for label := range strings.SplitSeq(h, ".") {
		ok := label != "" && len(label) <= 63
		for _, r := range label {
			ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}
		if !ok {
			return "", fmt.Errorf("host %q is neither a host name nor an IP address", h)
		}
	}
	return h, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number", s)
	}
	if p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %d is out of range; use 1 to 65535", p)
	}
	return p, nil
}
