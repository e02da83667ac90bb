package sim

import (
	"net/netip"
	"strings"
	"testing"
)

func TestKioskHost(t *testing.T) {
	tests := []struct {
		base    string
		i       int
		want    string
		errSays string
	}{
		{"127.0.1.1", 0, "127.0.1.1", ""},
		{"127.0.1.1", 253, "127.0.1.254", ""},
		{"127.0.1.1", 254, "127.0.1.255", ""},
		{"127.0.1.1", 255, "127.0.2.0", ""},
		{"127.0.1.255", 1, "127.0.2.0", ""},
		{"127.0.255.255", 1, "127.1.0.0", ""},
		{"127.0.1.1", 999, "127.0.4.232", ""},
		{"127.255.255.254", 1, "127.255.255.255", ""},
		{"127.255.255.255", 1, "", "past 127.255.255.255"},
		{"127.255.255.0", 300, "", "past 127.255.255.255"},
		{"10.0.0.1", 0, "", "not in 127.0.0.0/8"},
		{"::1", 0, "", "not in 127.0.0.0/8"},
	}
	for _, tt := range tests {
		got, err := kioskHost(netip.MustParseAddr(tt.base), tt.i)
		if tt.errSays != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errSays) {
				t.Errorf("%s + %d: got %v, %v; want an error saying %q", tt.base, tt.i, got, err, tt.errSays)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("%s + %d = %v, %v; want %s", tt.base, tt.i, got, err, tt.want)
		}
	}
}
