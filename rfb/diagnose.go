package rfb

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Failure is a machine-readable code for why a session to a VNC server could
// not be held, shared by the check command, the API and the metrics.
type Failure string

// Failure codes.
const (
	FailRefused         Failure = "refused"           // nothing listens on the port
	FailTimeout         Failure = "timeout"           // no answer in time
	FailUnreachable     Failure = "unreachable"       // no route, unknown host
	FailAuth            Failure = "auth_failed"       // wrong or missing password
	FailTooManyAttempts Failure = "too_many_attempts" // the server blacklists us
	FailRejected        Failure = "rejected"          // turned away before authentication
	FailNoSecurity      Failure = "no_security_type"  // no security type we speak
	FailClosed          Failure = "closed"            // the server hung up
	FailProtocol        Failure = "protocol_error"    // the server broke the protocol
	FailOther           Failure = "error"
)

// Diagnose classifies a connection, handshake or session error and gives an
// operator a plain-language hint of what to do.
func Diagnose(err error) (Failure, string) {
	var auth *AuthError
	var nosec *NoSecurityError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case err == nil:
		return "", ""
	case errors.As(err, &auth) && auth.TooManyAttempts():
		return FailTooManyAttempts, "the VNC server is blocking this address after failed logins; wait a few minutes (or restart the VNC service) and fix the password before trying again"
	case errors.As(err, &auth) && auth.BeforeAuth:
		return FailRejected, "the VNC server turned the connection away before any password was tried; check its access rules (allowed hosts, loopback-only setting)"
	case errors.As(err, &auth):
		return FailAuth, "the password is wrong or missing: check the kiosk's password or password file (plain text, or the file vncpasswd writes)"
	case errors.As(err, &nosec):
		return FailNoSecurity, "set the kiosk's VNC server to plain VNC password authentication (TightVNC: 'Require VNC authentication'); kioskwall speaks None, VNC authentication and Tight"
	case errors.Is(err, syscall.ECONNREFUSED):
		return FailRefused, "nothing listens there: is the VNC service running, and is the port right (5900 + display number)?"
	case errors.As(err, &dnsErr):
		return FailUnreachable, "the kiosk's host name does not resolve: check the inventory entry"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return FailUnreachable, "no route to the kiosk: check the address and the network path"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return FailTimeout, "no answer in time: the kiosk is off, a firewall drops the packets, or the line is saturated"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return FailClosed, "the VNC server closed the connection: it may allow only one viewer at a time (enable shared sessions) or refuse this address"
	case IsProtocolError(err):
		return FailProtocol, "the server does not speak RFB as kioskwall expects: is this port really a VNC server? Run `kioskwall check` and report its output"
	}
	return FailOther, ""
}
