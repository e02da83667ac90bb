package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"kioskwall/rfb"
)

// hintedError carries a plain-language hint beside the error, for operators.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + "\n  hint: " + e.hint }
func (e *hintedError) Unwrap() error { return e.err }

// explain adds an operator's hint to a connection or handshake error.
func explain(err error) error {
	if hint := hintFor(err); hint != "" {
		return &hintedError{err: err, hint: hint}
	}
	return err
}

func hintFor(err error) string {
	var auth *rfb.AuthError
	var nosec *rfb.NoSecurityError
	var netErr net.Error
	switch {
	case errors.As(err, &auth) && auth.TooManyAttempts():
		return "the VNC server is blocking this address after failed logins; wait a few minutes (or restart the VNC service) and fix the password before trying again"
	case errors.As(err, &auth) && auth.BeforeAuth:
		return "the VNC server turned the connection away before any password was tried; check its access rules (allowed hosts, loopback-only setting)"
	case errors.As(err, &auth):
		return "the password is wrong or missing: check -password-file (plain text, or the file vncpasswd writes)"
	case errors.As(err, &nosec):
		return "set the kiosk's VNC server to plain VNC password authentication (TightVNC: 'Require VNC authentication'); kioskwall speaks None, VNC authentication and Tight"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens there: is the VNC service running, and is the port right (5900 + display number)?"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to the kiosk: check the address and the network path"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return "no answer in time: the kiosk is off, a firewall drops the packets, or the line is saturated"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return "the VNC server closed the connection: it may allow only one viewer at a time (enable shared sessions) or refuse this address"
	case rfb.IsProtocolError(err):
		return "the server does not speak RFB as kioskwall expects: is this port really a VNC server? Run `kioskwall check` and report its output"
	}
	return ""
}
