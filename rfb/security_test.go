package rfb

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestVNCPasswordFile(t *testing.T) {
	for _, pw := range []string{"secret12", "a", "kiosk"} {
		enc := EncodeVNCPasswordFile(pw)
		got, ok := DecodeVNCPasswordFile(enc)
		if !ok || got != pw {
			t.Errorf("round trip of %q gave %q, %v", pw, got, ok)
		}
	}
	if _, ok := DecodeVNCPasswordFile([]byte("plain text password\n")); ok {
		t.Error("a plain text file was taken for an obfuscated one")
	}
}

// TestVNCPasswordFileMatchesVncpasswd checks the obfuscation against the real
// vncpasswd from TigerVNC (Debian package tigervnc-tools).
func TestVNCPasswordFileMatchesVncpasswd(t *testing.T) {
	path, err := exec.LookPath("vncpasswd")
	if err != nil {
		t.Skip("vncpasswd not installed (Debian package tigervnc-tools)")
	}
	cmd := exec.Command(path, "-f")
	cmd.Stdin = strings.NewReader("secret12\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vncpasswd -f: %v", err)
	}
	if !bytes.Equal(out, EncodeVNCPasswordFile("secret12")) {
		t.Errorf("vncpasswd wrote %x, we write %x", out, EncodeVNCPasswordFile("secret12"))
	}
}

// TestVNCAuthResponseKeyRules checks how a password becomes a DES key; the
// response itself is proven against real servers in the integration tests.
func TestVNCAuthResponseKeyRules(t *testing.T) {
	challenge := make([]byte, 16)
	a := vncAuthResponse("password", challenge)
	b := vncAuthResponse("password\x00\x00", challenge)
	if !bytes.Equal(a, b) {
		t.Error("a password is padded with zero bytes to 8")
	}
	if bytes.Equal(a, vncAuthResponse("passwore", challenge)) {
		t.Error("different passwords gave the same response")
	}
	if !bytes.Equal(vncAuthResponse("password-too-long", challenge), vncAuthResponse("password", challenge)) {
		t.Error("only the first 8 bytes of a password count")
	}
}
