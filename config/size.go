package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Size is a picture size in pixels, written WxH ("320x180").
type Size struct {
	W, H int
}

// maxSide bounds each side of a Size; RFB itself allows 65535, but nothing
// kioskwall makes or shows is larger than a big screen.
const maxSide = 16384

// ParseSize reads "WxH" (or "WXH"), each side 1 to 16384 pixels.
func ParseSize(s string) (Size, error) {
	w, h, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "x")
	if !ok {
		return Size{}, fmt.Errorf("size %q: want width x height in pixels, such as 320x180", s)
	}
	var sz Size
	for _, side := range []struct {
		name string
		text string
		dst  *int
	}{{"width", w, &sz.W}, {"height", h, &sz.H}} {
		v, err := strconv.Atoi(strings.TrimSpace(side.text))
		if err != nil {
			return Size{}, fmt.Errorf("size %q: %s %q is not a whole number; want WxH such as 320x180", s, side.name, side.text)
		}
		if v < 1 || v > maxSide {
			return Size{}, fmt.Errorf("size %q: %s %d is out of range; use 1 to %d pixels", s, side.name, v, maxSide)
		}
		*side.dst = v
	}
	return sz, nil
}

// String gives "WxH", which ParseSize reads back.
func (s Size) String() string { return fmt.Sprintf("%dx%d", s.W, s.H) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Size) UnmarshalYAML(n *yaml.Node) error { return decodeScalar(n, ParseSize, s) }

// MarshalYAML implements yaml.Marshaler, so a written config reads back.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }
