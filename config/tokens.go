package config

import (
	"fmt"
	"net"
	"strings"
)

// parseTokens reads a websockify token file: one "token: host:port" per
// line, with "#" comments. The token is the kiosk's id; the file's name
// (fc.site) is its site.
func parseTokens(fc *fileContext, data []byte) (ks []Kiosk, ps []Problem) {
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		tok, target, found := strings.Cut(line, ":")
		if !found {
			ps = append(ps, Problem{fc.path, n + 1, fmt.Sprintf("%q is not token: host:port; entry skipped", line)})
			continue
		}
		host, port, err := splitTarget(strings.TrimSpace(target))
		if err != nil {
			ps = append(ps, Problem{fc.path, n + 1, fmt.Sprintf("token %s: %v; entry skipped", strings.TrimSpace(tok), err)})
			continue
		}
		k, p := fc.kiosk(map[string]string{"id": tok, "host": host, "port": port}, n+1)
		if p != nil {
			ps = append(ps, *p)
			continue
		}
		ks = append(ks, k)
	}
	return ks, ps
}

// splitTarget splits host:port. The port may be left out (the default port
// applies); an IPv6 address must then be in brackets, since in "fe80::1:5900"
// the port could not be told from the address.
func splitTarget(t string) (host, port string, err error) {
	if h, p, err := net.SplitHostPort(t); err == nil {
		return h, p, nil
	}
	if !strings.Contains(t, ":") || strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
		return t, "", nil
	}
	return "", "", fmt.Errorf("%q is not host:port (an IPv6 address goes in brackets: [fe80::1]:5900)", t)
}
