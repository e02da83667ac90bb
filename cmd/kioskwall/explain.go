package main

import "kioskwall/rfb"

// hintedError carries a plain-language hint beside the error, for operators.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + "\n  hint: " + e.hint }
func (e *hintedError) Unwrap() error { return e.err }

// explain adds an operator's hint to a connection or handshake error.
func explain(err error) error {
	if _, hint := rfb.Diagnose(err); hint != "" {
		return &hintedError{err: err, hint: hint}
	}
	return err
}
