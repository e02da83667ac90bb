package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"kioskwall/rfb"
)

// readPasswordFile returns the first line of path. Both a plain text file and
// the 8-byte obfuscated file vncpasswd writes are accepted.
func readPasswordFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading password file: %w", err)
	}
	if pw, ok := rfb.DecodeVNCPasswordFile(b); ok {
		return pw, nil
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimRight(pw, "\r")
	if pw == "" {
		return "", errors.New("password file " + path + " is empty")
	}
	return pw, nil
}

// parseEncodings turns "tight,zrle" into encodings, in that order of preference.
func parseEncodings(list string) ([]rfb.Encoding, error) {
	var encs []rfb.Encoding
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(strings.ToLower(name))
		if name == "" {
			continue
		}
		e, err := rfb.ParseEncoding(name)
		if err != nil {
			return nil, err
		}
		encs = append(encs, e)
	}
	if len(encs) == 0 {
		return nil, errors.New("no encodings given")
	}
	return encs, nil
}

// formatForBPP maps -bpp to the pixel format kioskwall asks for.
func formatForBPP(bpp int) (*rfb.PixelFormat, error) {
	switch bpp {
	case 0:
		return nil, nil
	case 32:
		return &rfb.Format32, nil
	case 16:
		return &rfb.Format16, nil
	case 8:
		return &rfb.Format8, nil
	}
	return nil, fmt.Errorf("-bpp %d: use 8, 16 or 32", bpp)
}
