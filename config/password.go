package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"kioskwall/rfb"
)

// parsePassword reads a VNC password file: the 8 obfuscated bytes that
// vncpasswd writes, or plain text whose first line is the password.
func parsePassword(data []byte) (Secret, error) {
	if pw, ok := rfb.DecodeVNCPasswordFile(data); ok {
		return Secret(pw), nil
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return "", errors.New("the first line is empty; write the password on it (or use vncpasswd)")
	}
	return Secret(line), nil
}

// ReadPasswordFile reads a VNC password file for the command-line tools.
func ReadPasswordFile(path string) (Secret, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading password file: %w", err)
	}
	pw, err := parsePassword(data)
	if err != nil {
		return "", fmt.Errorf("password file %s: %w", path, err)
	}
	return pw, nil
}
