package config

import (
	"strings"
	"testing"
)

func TestParseBandwidth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Bandwidth
	}{
		{"2Mbit", 2_000_000},
		{"512kbit", 512_000},
		{"1.5Mbit", 1_500_000},
		{"2000000", 2_000_000},
		{"0", 0},
		{"20Mbit/s", 20_000_000},
		{"2 mbit", 2_000_000},
		{"2MBIT", 2_000_000},
		{"1Gbit", 1_000_000_000},
		{".5kbit", 500},
		{"1.234567Mbit", 1_234_567},
		{"1.50000Mbit", 1_500_000},
		{"1.5kbit", 1500},
		{"750bit", 750},
		{"  3Mbit  ", 3_000_000},
	} {
		got, err := ParseBandwidth(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseBandwidth(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseBandwidthErrors(t *testing.T) {
	for _, tc := range []struct {
		in, wantMsg string
	}{
		{"", "want a number"},
		{"Mbit", "want a number"},
		{"-2Mbit", "want a number"},
		{"2MB", "byte unit"},
		{"2Mbyte", "byte unit"},
		{"2Mbps", "write Mbit"},
		{"2Mibit", "unknown unit"},
		{"2 furlongs", "unknown unit"},
		{"1.2.3Mbit", "not a number"},
		{".", "not a number"},
		{"1.5bit", "fraction of a bit"},
		{"1.0000005kbit", "fraction of a bit"},
		{"99999999999999999999", "too large"},
		{"9999999Gbit", "too large"},
		{"1e6", "unknown unit"},
	} {
		got, err := ParseBandwidth(tc.in)
		if err == nil {
			t.Errorf("ParseBandwidth(%q) = %d, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("ParseBandwidth(%q) error %q does not say %q", tc.in, err, tc.wantMsg)
		}
	}
}

func TestBandwidthString(t *testing.T) {
	for _, tc := range []struct {
		in   Bandwidth
		want string
	}{
		{2 * Mbit, "2Mbit"},
		{1500 * Kbit, "1.5Mbit"},
		{512 * Kbit, "512kbit"},
		{999, "999bit"},
		{0, "0"},
		{1_234_567, "1.234567Mbit"},
		{20 * Gbit, "20Gbit"},
		{1_000_001, "1.000001Mbit"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("Bandwidth(%d).String() = %q, want %q", int64(tc.in), got, tc.want)
		}
	}
	// Whatever String writes, ParseBandwidth must read back.
	for _, b := range []Bandwidth{1, 7, 1000, 1001, 999_999, 1_000_000, 123_456_789, 5 * Gbit, 5*Gbit + 1, maxBandwidth} {
		got, err := ParseBandwidth(b.String())
		if err != nil || got != b {
			t.Errorf("ParseBandwidth(%q) = %d, %v; want %d", b.String(), got, err, int64(b))
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Size
		wantErr string
	}{
		{in: "320x180", want: Size{320, 180}},
		{in: "640X360", want: Size{640, 360}},
		{in: " 1920 x 1080 ", want: Size{1920, 1080}},
		{in: "1x1", want: Size{1, 1}},
		{in: "320", wantErr: "want width x height"},
		{in: "x180", wantErr: "width \"\" is not a whole number"},
		{in: "320xabc", wantErr: "height \"abc\" is not a whole number"},
		{in: "0x180", wantErr: "width 0 is out of range"},
		{in: "320x-5", wantErr: "height -5 is out of range"},
		{in: "99999x10", wantErr: "out of range"},
		{in: "1.5x2", wantErr: "not a whole number"},
	} {
		got, err := ParseSize(tc.in)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseSize(%q) = %v, %v; want an error saying %q", tc.in, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("ParseSize(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case err == nil && got.String() != strings.ReplaceAll(strings.ToLower(strings.ReplaceAll(tc.in, " ", "")), "X", "x"):
			t.Errorf("Size %v prints as %q, want it as written in %q", got, got.String(), tc.in)
		}
	}
}
