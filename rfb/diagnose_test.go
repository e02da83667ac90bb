package rfb

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
)

func TestDiagnose(t *testing.T) {
	refused := func() error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, err = net.Dial("tcp", addr)
		return err
	}()
	tests := []struct {
		err  error
		want Failure
	}{
		{refused, FailRefused},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), FailTimeout},
		{&AuthError{Reason: "Authentication failure"}, FailAuth},
		{&AuthError{Reason: "Too many security failures"}, FailTooManyAttempts},
		{&AuthError{Reason: "Your connection has been rejected", BeforeAuth: true}, FailRejected},
		{&NoSecurityError{Offered: []SecurityType{SecVeNCrypt}}, FailNoSecurity},
		{fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), FailClosed},
		{protoErr("bad"), FailProtocol},
		{&net.DNSError{Err: "no such host", Name: "kiosk-x"}, FailUnreachable},
		{fmt.Errorf("something else"), FailOther},
	}
	for _, tt := range tests {
		got, hint := Diagnose(tt.err)
		if got != tt.want {
			t.Errorf("Diagnose(%v) = %s, want %s", tt.err, got, tt.want)
		}
		if tt.want != FailOther && hint == "" {
			t.Errorf("Diagnose(%v) gave no hint", tt.err)
		}
	}
}
