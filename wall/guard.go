package wall

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/labstack/echo/v4"
)

// Until kioskwall has logins, whoever can make a browser send a request to
// it can watch and drive kiosks. Two attacks reach a server that listens on
// loopback only:
//
//   - a page on another site posting to, or opening a WebSocket to,
//     http://127.0.0.1:6080 from the operator's browser (browsers do not
//     apply the same-origin policy to WebSockets or to simple POSTs);
//   - DNS rebinding: a page on evil.example whose name is then re-pointed to
//     127.0.0.1, so that the browser thinks it talks to its own origin.
//
// The guard stops both: the Host header must name this server (a loopback
// name or address, the configured listen host, or a name the operator
// allowed), which a rebinding page cannot fake; and an Origin header, which
// browsers send with every WebSocket, cross-origin fetch and POST, must
// name the same host and port as Host, which a page on another site cannot
// fake. A state-changing request without Origin is refused too; a GET
// without one comes from a tool, not a browser page, and passes.

// Guard checks Host and Origin of every request before it reaches a handler.
type Guard struct {
	names   map[string]bool // allowed host names, lower case, no port
	anyAddr bool            // listening on every address: accept IP literals of this machine
	local   map[string]bool // this machine's addresses, when anyAddr
	log     *slog.Logger
}

// NewGuard returns a guard for a server listening on listen (host:port).
// allow adds host names the server is reached by, such as the name a
// reverse proxy passes on in Host.
func NewGuard(listen string, allow []string, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.Default()
	}
	g := &Guard{names: map[string]bool{"localhost": true}, log: log}
	for _, n := range allow {
		if h, _, err := net.SplitHostPort(n); err == nil {
			n = h // a name given with its port is still the name
		}
		g.names[normalHost(n)] = true
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		// Browsers reach such a server by any of the machine's addresses,
		// or by its own name.
		g.anyAddr = true
		g.local = localAddrs()
		if name, err := os.Hostname(); err == nil {
			g.names[normalHost(name)] = true
		}
	} else if host != "" {
		g.names[normalHost(host)] = true
	}
	return g
}

// localAddrs lists this machine's interface addresses in canonical form.
func localAddrs() map[string]bool {
	out := map[string]bool{}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			out[n.IP.String()] = true
		}
	}
	return out
}

// normalHost lower-cases a host name and drops a trailing dot, brackets and
// any IPv6 zone, so that equal names compare equal.
func normalHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return h
}

// Middleware returns the Echo middleware that applies the guard.
func (g *Guard) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if why := g.check(c.Request()); why != "" {
				g.log.Warn("request refused by the Origin/Host guard", "method", c.Request().Method,
					"path", c.Request().URL.Path, "host", c.Request().Host,
					"origin", c.Request().Header.Get("Origin"), "remote", c.Request().RemoteAddr, "why", why)
				return echo.NewHTTPError(http.StatusForbidden, why)
			}
			return next(c)
		}
	}
}

// check returns why r is refused, or "" when it may pass.
func (g *Guard) check(r *http.Request) string {
	if r.Host == "" {
		return "the request has no Host header; kioskwall needs it to refuse DNS-rebinding pages"
	}
	// Only host[:port] with a numeric port is a Host; the same parser
	// browsers' origins go through must accept it.
	if u, err := url.Parse("http://" + r.Host); err != nil || u.Host != r.Host || u.User != nil {
		return fmt.Sprintf("the Host header %q is not a host name or address with an optional port", r.Host)
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host // no port
	}
	if !g.hostAllowed(normalHost(host)) {
		return fmt.Sprintf("host %q is not a name of this server; open kioskwall by a loopback address or localhost, or start serve with -allow-host %s if a proxy passes that name on", host, host)
	}
	origin := r.Header.Get("Origin")
	switch {
	case origin == "" && !safeMethod(r.Method):
		return fmt.Sprintf("a %s request must carry an Origin header naming this server (Origin: http://%s)", r.Method, r.Host)
	case origin == "":
		// A GET (WebSocket upgrades included) without Origin comes from a
		// script or a tool, not from a page on another site: browsers send
		// Origin with every WebSocket and every cross-origin fetch.
		return ""
	}
	if !sameOrigin(origin, r.Host) {
		return fmt.Sprintf("origin %q is not this server (%s); pages of other sites may not use kioskwall", origin, r.Host)
	}
	return ""
}

func (g *Guard) hostAllowed(h string) bool {
	if g.names[h] {
		return true
	}
	ip := net.ParseIP(h)
	if ip == nil {
		return false
	}
	return ip.IsLoopback() || g.anyAddr && g.local[ip.String()]
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether origin (scheme://host[:port]) names the same
// host and port as the Host header hostPort. A port left out on either side
// is the scheme's default.
func sameOrigin(origin, hostPort string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" && u.Path != "/" {
		return false
	}
	var def string
	switch strings.ToLower(u.Scheme) {
	case "http":
		def = "80"
	case "https":
		def = "443"
	default:
		return false
	}
	oh, op := splitHostDefault(u.Host, def)
	hh, hp := splitHostDefault(hostPort, def)
	return oh == hh && op == hp
}

// splitHostDefault splits host[:port] into a normalised host and a port,
// the default one when none is given.
func splitHostDefault(hp, def string) (host, port string) {
	if h, p, err := net.SplitHostPort(hp); err == nil {
		if p == "" {
			p = def
		}
		return normalHost(h), p
	}
	return normalHost(hp), def
}

// CheckListen refuses to serve on anything but loopback unless the operator
// said, with anywhere, that kioskwall may listen unauthenticated on every
// network it can reach. It accepts loopback IP addresses and "localhost".
func CheckListen(addr string, anywhere bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %v; write host:port, such as 127.0.0.1:6080", addr, err)
	}
	if IsLoopbackHost(host) || anywhere {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "every address"
	}
	return fmt.Errorf("refusing to listen on %s (%s): kioskwall has no login yet, so anyone who reaches that address could watch and control every kiosk. "+
		"Listen on 127.0.0.1 and put an authenticating reverse proxy in front, or accept the risk with -insecure-no-auth-listen-anywhere", addr, shown)
}

// IsLoopbackHost reports whether host is "localhost" or a loopback address.
func IsLoopbackHost(host string) bool {
	h := normalHost(host)
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
