package config

import (
	"fmt"
	"log/slog"
)

// Secret holds a password. Every way Go has of printing, logging or
// serialising a value shows "[redacted]" instead of it (or "" when it is
// empty, so that a missing password is visible as such); only Reveal gives
// the value, so a password can reach a VNC server and nowhere else.
type Secret string

const redacted = "[redacted]"

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Reveal returns the password itself. Call it only where the password is
// used, never to show it.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return s.shown() }

// Format implements fmt.Formatter. Without it a verb that does not suit a
// string (%d, %t, …) makes fmt print the underlying value in its error text.
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.shown()) }

// MarshalText implements encoding.TextMarshaler (YAML, XML, map keys).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) {
	return []byte(`"` + s.shown() + `"`), nil
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }
