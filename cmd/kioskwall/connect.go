package main

import (
	"errors"
	"fmt"
	"strings"

	"kioskwall/config"
	"kioskwall/rfb"
)

// readPasswordFile returns the password in path ("" for no path): plain text
// or the file vncpasswd writes.
func readPasswordFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	pw, err := config.ReadPasswordFile(path)
	return pw.Reveal(), err
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
