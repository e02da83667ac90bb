package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Bandwidth is a rate in bits per second. Leased lines are sold in bits, so
// caps are written in bits ("2Mbit") and never in bytes.
type Bandwidth int64

// Units of Bandwidth, decimal as line rates are.
const (
	Bit  Bandwidth = 1
	Kbit Bandwidth = 1000 * Bit
	Mbit Bandwidth = 1000 * Kbit
	Gbit Bandwidth = 1000 * Mbit
)

// maxBandwidth keeps every arithmetic on a cap far from int64 overflow.
const maxBandwidth = 1000 * 1000 * Gbit

var bandwidthUnits = []struct {
	name string
	size Bandwidth
}{{"Gbit", Gbit}, {"Mbit", Mbit}, {"kbit", Kbit}, {"bit", Bit}}

// ParseBandwidth reads a rate in bits per second: a plain number of bits
// ("2000000") or a decimal number with a unit bit, kbit, Mbit or Gbit, optionally
// followed by "/s" ("1.5Mbit", "512kbit/s"). The unit prefix is not case
// sensitive. Byte units are refused with the equivalent in bits, and so is
// "bps", which tc reads as bytes and most people as bits.
func ParseBandwidth(s string) (Bandwidth, error) {
	in := strings.TrimSpace(s)
	end := 0
	for end < len(in) && (in[end] >= '0' && in[end] <= '9' || in[end] == '.') {
		end++
	}
	num, unit := in[:end], strings.TrimSpace(in[end:])
	if num == "" {
		return 0, fmt.Errorf("bandwidth %q: want a number of bits per second such as 2Mbit, 512kbit or 2000000", s)
	}
	size, err := bandwidthUnit(unit)
	if err != nil {
		return 0, fmt.Errorf("bandwidth %q: %v", s, err)
	}
	whole, frac, _ := strings.Cut(num, ".")
	if strings.Contains(frac, ".") || whole == "" && frac == "" {
		return 0, fmt.Errorf("bandwidth %q: %q is not a number", s, num)
	}
	w := int64(0)
	if whole != "" {
		if w, err = strconv.ParseInt(whole, 10, 64); err != nil || w > int64(maxBandwidth/size) {
			return 0, fmt.Errorf("bandwidth %q is too large; the most is %v", s, maxBandwidth)
		}
	}
	b := Bandwidth(w) * size
	// The fraction is added digit by digit so that "1.5Mbit" is exactly
	// 1500000 and a fraction of a bit is an error instead of a rounding.
	for i, scale := 0, size; i < len(frac); i++ {
		if scale%10 != 0 {
			if strings.Trim(frac[i:], "0") != "" {
				return 0, fmt.Errorf("bandwidth %q has a fraction of a bit per second", s)
			}
			break
		}
		scale /= 10
		b += Bandwidth(frac[i]-'0') * scale
	}
	if b > maxBandwidth {
		return 0, fmt.Errorf("bandwidth %q is too large; the most is %v", s, maxBandwidth)
	}
	return b, nil
}

func bandwidthUnit(unit string) (Bandwidth, error) {
	u := strings.TrimSuffix(unit, "/s")
	for _, known := range bandwidthUnits {
		if strings.EqualFold(u, known.name) {
			return known.size, nil
		}
	}
	if u == "" {
		return Bit, nil
	}
	if strings.HasSuffix(strings.ToLower(u), "bps") {
		return 0, fmt.Errorf("%q is ambiguous (tc reads it as bytes); write %sbit for bits per second", unit, u[:len(u)-3])
	}
	if strings.HasSuffix(u, "B") || strings.HasSuffix(strings.ToLower(u), "byte") {
		return 0, fmt.Errorf("%q is a byte unit; caps are in bits per second: multiply by 8 and write kbit, Mbit or Gbit", unit)
	}
	return 0, fmt.Errorf("unknown unit %q; use bit, kbit, Mbit or Gbit (bits per second)", unit)
}

// String gives the rate in the largest unit that keeps it exact, e.g.
// "2Mbit", "1.5Mbit", "512kbit"; ParseBandwidth reads it back.
func (b Bandwidth) String() string {
	if b == 0 {
		return "0"
	}
	if b < 0 {
		return strconv.FormatInt(int64(b), 10) + "bit"
	}
	u := bandwidthUnits[len(bandwidthUnits)-1]
	for _, c := range bandwidthUnits {
		if b >= c.size {
			u = c
			break
		}
	}
	s := strconv.FormatInt(int64(b/u.size), 10)
	if rest := int64(b % u.size); rest != 0 {
		digits := len(strconv.FormatInt(int64(u.size), 10)) - 1
		s += "." + strings.TrimRight(fmt.Sprintf("%0*d", digits, rest), "0")
	}
	return s + u.name
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *Bandwidth) UnmarshalYAML(n *yaml.Node) error { return decodeScalar(n, ParseBandwidth, b) }

// MarshalYAML implements yaml.Marshaler, so a written config reads back.
func (b Bandwidth) MarshalYAML() (any, error) { return b.String(), nil }
