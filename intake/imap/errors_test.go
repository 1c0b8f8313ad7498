package imap

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err      error
		fallback ErrorKind
		want     ErrorKind
	}{
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed}, KindServer, KindAuth},
		{&imap.Error{Type: imap.StatusResponseTypeNo}, KindAuth, KindAuth},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent}, KindServer, KindMailbox},
		{&imap.Error{Type: imap.StatusResponseTypeBad}, KindServer, KindServer},
		{fmt.Errorf("x: %w", io.ErrUnexpectedEOF), KindServer, KindNetwork},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, KindServer, KindNetwork},
		{x509.UnknownAuthorityError{}, KindServer, KindTLS},
	} {
		err := wrap("op", tc.fallback, tc.err)
		var e *Error
		if !errors.As(err, &e) || e.Kind != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("wrap(%v) = %v (kind %v), want kind %v", tc.err, err, kindOf(err), tc.want)
		}
		if !e.Temporary() {
			t.Errorf("%v is not temporary", err)
		}
	}
	if wrap("op", KindServer, nil) != nil {
		t.Error("wrap(nil) != nil")
	}
}
