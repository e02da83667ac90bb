package wall

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestGuard(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	loopback := NewGuard("127.0.0.1:6080", nil, quiet)
	proxied := NewGuard("127.0.0.1:6080", []string{"Wall.Hospital.example", "wall2.hospital.example:443"}, quiet)
	named := NewGuard("10.1.2.3:6080", nil, quiet)
	anyAddr := NewGuard("0.0.0.0:6080", nil, quiet)
	anyAddr.local = map[string]bool{"10.9.9.9": true} // this machine's address, for the test

	ws := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}}
	for _, tc := range []struct {
		name   string
		g      *Guard
		method string
		host   string
		origin string
		header http.Header
		ok     bool
		why    string // part of the refusal
	}{
		{name: "script GET on loopback", g: loopback, method: "GET", host: "127.0.0.1:6080", ok: true},
		{name: "localhost", g: loopback, method: "GET", host: "localhost:6080", ok: true},
		{name: "localhost, upper case, trailing dot", g: loopback, method: "GET", host: "LocalHost.:6080", ok: true},
		{name: "other loopback address", g: loopback, method: "GET", host: "127.0.1.1:6080", ok: true},
		{name: "IPv6 loopback", g: loopback, method: "GET", host: "[::1]:6080", ok: true},
		{name: "no port in Host", g: loopback, method: "GET", host: "localhost", ok: true},
		{name: "DNS rebinding name", g: loopback, method: "GET", host: "evil.example:6080", why: `host "evil.example"`},
		{name: "rebinding name that resolves to loopback", g: loopback, method: "GET", host: "localtest.me:6080", why: "-allow-host localtest.me"},
		{name: "rebinding name on a WebSocket", g: loopback, method: "GET", host: "evil.example:6080", origin: "http://evil.example:6080", header: ws, why: "not a name of this server"},
		{name: "no Host", g: loopback, method: "GET", host: "", why: "no Host"},
		{name: "allowed proxy name", g: proxied, method: "GET", host: "wall.hospital.example", origin: "https://wall.hospital.example", header: ws, ok: true},
		{name: "allowed name given with a port", g: proxied, method: "GET", host: "wall2.hospital.example", ok: true},
		{name: "configured listen host", g: named, method: "GET", host: "10.1.2.3:6080", ok: true},
		{name: "other address than the listen host", g: named, method: "GET", host: "10.1.2.4:6080", why: `host "10.1.2.4"`},
		{name: "any-address server by its own address", g: anyAddr, method: "GET", host: "10.9.9.9:6080", ok: true},
		{name: "any-address server by a foreign address", g: anyAddr, method: "GET", host: "10.9.9.8:6080", why: "not a name"},
		{name: "any-address server by a name", g: anyAddr, method: "GET", host: "evil.example:6080", why: "not a name"},

		{name: "same-origin WebSocket", g: loopback, method: "GET", host: "127.0.0.1:6080", origin: "http://127.0.0.1:6080", header: ws, ok: true},
		{name: "WebSocket from a tool without Origin", g: loopback, method: "GET", host: "127.0.0.1:6080", header: ws, ok: true},
		{name: "cross-site WebSocket", g: loopback, method: "GET", host: "127.0.0.1:6080", origin: "https://evil.example", header: ws, why: `origin "https://evil.example"`},
		{name: "WebSocket from localhost page to 127.0.0.1", g: loopback, method: "GET", host: "127.0.0.1:6080", origin: "http://localhost:6080", header: ws, why: "not this server"},
		{name: "WebSocket from another port", g: loopback, method: "GET", host: "127.0.0.1:6080", origin: "http://127.0.0.1:8080", header: ws, why: "not this server"},
		{name: "opaque origin", g: loopback, method: "GET", host: "127.0.0.1:6080", origin: "null", header: ws, why: `origin "null"`},
		{name: "file origin", g: loopback, method: "GET", host: "127.0.0.1:6080", origin: "file://", header: ws, why: "not this server"},
		{name: "default port on both sides", g: proxied, method: "GET", host: "wall.hospital.example", origin: "http://wall.hospital.example", header: ws, ok: true},
		{name: "explicit default port", g: proxied, method: "GET", host: "wall.hospital.example:443", origin: "https://wall.hospital.example", header: ws, ok: true},
		{name: "scheme's port differs", g: proxied, method: "GET", host: "wall.hospital.example:443", origin: "http://wall.hospital.example", header: ws, why: "not this server"},
		{name: "cross-site fetch GET", g: loopback, method: "GET", host: "127.0.0.1:6080", origin: "https://evil.example", why: "not this server"},

		{name: "same-origin POST", g: loopback, method: "POST", host: "127.0.0.1:6080", origin: "http://127.0.0.1:6080", ok: true},
		{name: "cross-site POST", g: loopback, method: "POST", host: "127.0.0.1:6080", origin: "http://evil.example", why: "not this server"},
		{name: "POST without Origin", g: loopback, method: "POST", host: "127.0.0.1:6080", why: "must carry an Origin"},
		{name: "DELETE without Origin", g: loopback, method: "DELETE", host: "127.0.0.1:6080", why: "must carry an Origin"},
		{name: "HEAD without Origin", g: loopback, method: "HEAD", host: "127.0.0.1:6080", ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/api/kiosks", nil)
			r.Host = tc.host
			for k, v := range tc.header {
				r.Header[k] = v
			}
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			why := tc.g.check(r)
			if tc.ok != (why == "") {
				t.Fatalf("check = %q, want ok=%v", why, tc.ok)
			}
			if !tc.ok && !strings.Contains(why, tc.why) {
				t.Errorf("refusal %q does not say %q", why, tc.why)
			}
		})
	}
}

// TestGuardMiddleware: a refused request never reaches the handler and gets
// 403 with the reason.
func TestGuardMiddleware(t *testing.T) {
	e := echo.New()
	reached := 0
	h := NewGuard("127.0.0.1:6080", nil, slog.New(slog.DiscardHandler)).Middleware()(func(c echo.Context) error {
		reached++
		return c.NoContent(http.StatusNoContent)
	})
	for _, tc := range []struct {
		host, origin string
		code         int
	}{
		{"127.0.0.1:6080", "", http.StatusNoContent},
		{"evil.example", "", http.StatusForbidden},
		{"127.0.0.1:6080", "http://evil.example", http.StatusForbidden},
	} {
		before := reached
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		w := httptest.NewRecorder()
		err := h(e.NewContext(r, w))
		code := w.Code
		var he *echo.HTTPError
		if err != nil {
			if !errors.As(err, &he) {
				t.Fatalf("host %s origin %q: error %v is not an HTTP error", tc.host, tc.origin, err)
			}
			code = he.Code
		}
		if code != tc.code {
			t.Errorf("host %s origin %q: %d, want %d", tc.host, tc.origin, code, tc.code)
		}
		if passed := reached > before; passed != (tc.code == http.StatusNoContent) {
			t.Errorf("host %s origin %q: handler reached %v", tc.host, tc.origin, passed)
		}
	}
}

func TestCheckListen(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		anywhere bool
		ok       bool
	}{
		{"127.0.0.1:6080", false, true},
		{"127.0.1.1:6080", false, true},
		{"[::1]:6080", false, true},
		{"localhost:6080", false, true},
		{"0.0.0.0:6080", false, false},
		{":6080", false, false},
		{"[::]:6080", false, false},
		{"10.1.2.3:6080", false, false},
		{"wall.example:6080", false, false},
		{"0.0.0.0:6080", true, true},
		{"10.1.2.3:6080", true, true},
		{"127.0.0.1", false, false}, // no port
		{"127.0.0.1", true, false},
	} {
		err := CheckListen(tc.addr, tc.anywhere)
		if (err == nil) != tc.ok {
			t.Errorf("CheckListen(%q, %v) = %v, want ok=%v", tc.addr, tc.anywhere, err, tc.ok)
		}
		if err != nil && tc.addr != "127.0.0.1" && !strings.Contains(err.Error(), "-insecure-no-auth-listen-anywhere") {
			t.Errorf("CheckListen(%q): %v does not name the flag that allows it", tc.addr, err)
		}
	}
}

// FuzzGuard: whatever Host and Origin a peer sends, the guard does not
// panic, and what it lets through to a loopback server names a loopback
// host, with an Origin (if any) of the same host.
func FuzzGuard(f *testing.F) {
	f.Add("127.0.0.1:6080", "", "GET")
	f.Add("localhost:6080", "http://localhost:6080", "POST")
	f.Add("[::1]:6080", "http://[::1]:6080", "GET")
	f.Add("evil.example:6080", "http://evil.example:6080", "GET")
	f.Add("127.0.0.1", "https://127.0.0.1", "DELETE")
	f.Add("LOCALHOST.", "null", "GET")
	g := NewGuard("127.0.0.1:6080", nil, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, host, origin, method string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Method, r.Host = method, host
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if g.check(r) != "" {
			return
		}
		// Names compare without case and trailing dot, addresses by value.
		canon := func(h string) string {
			h = strings.ToLower(strings.TrimSuffix(h, "."))
			if ip := net.ParseIP(h); ip != nil {
				return ip.String()
			}
			return h
		}
		u, err := url.Parse("http://" + host)
		if err != nil {
			t.Fatalf("let through Host %q, which does not parse: %v", host, err)
		}
		name := canon(u.Hostname())
		if ip := net.ParseIP(name); name != "localhost" && (ip == nil || !ip.IsLoopback()) {
			t.Fatalf("let through Host %q (%q), not a loopback name", host, name)
		}
		if origin == "" {
			if method != "GET" && method != "HEAD" && method != "OPTIONS" {
				t.Fatalf("let a %q request through without Origin", method)
			}
			return
		}
		if o, err := url.Parse(origin); err != nil || canon(o.Hostname()) != name {
			t.Fatalf("let Origin %q through for Host %q", origin, host)
		}
	})
}
