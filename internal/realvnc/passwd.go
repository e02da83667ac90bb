package realvnc

import (
	"crypto/des"
	"math/bits"
)

// vncPasswordFile returns the 8-byte password file that Xvnc, Xtightvnc and
// x11vnc read (-PasswordFile, -rfbauth). Writing it here instead of running
// vncpasswd keeps the harness to the servers themselves.
//
// The format obfuscates rather than protects: the password, cut or
// zero-padded to 8 bytes, is DES-encrypted with a key fixed in every VNC
// implementation, whose bytes those implementations feed to DES with the bit
// order of each byte reversed.
func vncPasswordFile(password string) []byte {
	fixed := [8]byte{23, 82, 107, 6, 35, 78, 88, 7}
	var key [8]byte
	for i, b := range fixed {
		key[i] = bits.Reverse8(b)
	}
	block, err := des.NewCipher(key[:])
	if err != nil {
		panic(err) // unreachable: the key has DES's size
	}
	var plain, out [8]byte
	copy(plain[:], password)
	block.Encrypt(out[:], plain[:])
	return out[:]
}
