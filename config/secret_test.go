package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestSecretNeverPrinted prints, logs and serialises a kiosk every way the
// code base might, and looks for its password in the output.
func TestSecretNeverPrinted(t *testing.T) {
	const pw = "hunter2-kiosk"
	k := Kiosk{ID: "k1", Host: "10.0.0.1", Port: 5900, Password: Secret(pw)}
	var outputs []struct{ how, out string }
	add := func(how, out string) { outputs = append(outputs, struct{ how, out string }{how, out}) }

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%10.3v"} {
		add("fmt "+verb+" of a Secret", fmt.Sprintf(verb, k.Password))
		add("fmt "+verb+" of a Kiosk", fmt.Sprintf(verb, k))
		add("fmt "+verb+" of a *Kiosk", fmt.Sprintf(verb, &k))
		add("fmt "+verb+" of []Kiosk", fmt.Sprintf(verb, []Kiosk{k}))
	}
	add("fmt Sprint", fmt.Sprint(k, k.Password))
	add("fmt Sprintln", fmt.Sprintln(k, k.Password))
	for _, v := range []any{k, &k, k.Password, map[string]Secret{"pw": k.Password}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		add(fmt.Sprintf("json of %T", v), string(b))
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatalf("yaml.Marshal(%T): %v", v, err)
		}
		add(fmt.Sprintf("yaml of %T", v), string(y))
	}
	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"slog JSON", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"slog text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	} {
		var buf bytes.Buffer
		log := slog.New(h.new(&buf))
		log.Info("kiosk", "password", k.Password, "kiosk", k, "ptr", &k, slog.Any("any", k.Password), slog.Group("g", "pw", k.Password))
		add(h.name, buf.String())
	}
	for _, o := range outputs {
		if strings.Contains(o.out, pw) || strings.Contains(o.out, fmt.Sprintf("%x", pw)) {
			t.Errorf("%s shows the password: %s", o.how, o.out)
		}
		if !strings.Contains(o.out, "[redacted]") {
			t.Errorf("%s does not show that a password is set: %s", o.how, o.out)
		}
	}
	if k.Password.Reveal() != pw {
		t.Errorf("Reveal gave %q, want %q", k.Password.Reveal(), pw)
	}
}

// An empty password must look empty, so that a kiosk without one is told
// from a kiosk with one.
func TestSecretEmpty(t *testing.T) {
	var s Secret
	for _, got := range []string{fmt.Sprint(s), fmt.Sprintf("%#v", s), s.String(), s.LogValue().String()} {
		if got != "" {
			t.Errorf("empty secret printed as %q", got)
		}
	}
	if b, _ := json.Marshal(s); string(b) != `""` {
		t.Errorf("empty secret in JSON: %s", b)
	}
	if b, _ := json.Marshal(Kiosk{ID: "k"}); strings.Contains(string(b), "password") {
		t.Errorf("kiosk without a password has one in JSON: %s", b)
	}
}
