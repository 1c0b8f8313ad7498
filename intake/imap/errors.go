package imap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"

	"github.com/emersion/go-imap/v2"
)

// ErrorKind says what went wrong in a session, for Status and for the retry
// decision.
type ErrorKind string

const (
	KindNetwork    ErrorKind = "network"    // connect, cut, timeout
	KindTLS        ErrorKind = "tls"        // handshake or certificate
	KindAuth       ErrorKind = "auth"       // login rejected: retried slowly
	KindMailbox    ErrorKind = "mailbox"    // folder missing, deleted, UIDVALIDITY changed
	KindServer     ErrorKind = "server"     // other NO/BAD answers
	KindAccept     ErrorKind = "accept"     // the accept step failed (store, Redis)
	KindCheckpoint ErrorKind = "checkpoint" // loading or saving the checkpoint failed
	KindConfig     ErrorKind = "config"     // invalid configuration: permanent
)

// Error is a classified poller error.
type Error struct {
	Kind ErrorKind
	Op   string // what the poller was doing: "login", "select INBOX"...
	Err  error
}

func (e *Error) Error() string { return "imap: " + e.Op + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: everything but
// an invalid configuration. (A rejected login is temporary, but retried
// slowly: the password may be fixed on the server.)
func (e *Error) Temporary() bool { return e.Kind != KindConfig }

// wrap classifies err, which happened during op. IMAP answers are
// classified by their response code, other errors by type; fallback is the
// kind for an IMAP NO/BAD answer without a telling code.
func wrap(op string, fallback ErrorKind, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: classify(err, fallback), Op: op, Err: err}
}

func classify(err error, fallback ErrorKind) ErrorKind {
	var ie *imap.Error
	if errors.As(err, &ie) {
		switch ie.Code {
		case imap.ResponseCodeAuthenticationFailed, imap.ResponseCodeAuthorizationFailed,
			imap.ResponseCodeExpired, imap.ResponseCodePrivacyRequired:
			return KindAuth
		case imap.ResponseCodeNonExistent, imap.ResponseCodeTryCreate:
			return KindMailbox
		}
		return fallback
	}
	var (
		recErr  tls.RecordHeaderError
		certErr *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		alert   tls.AlertError
	)
	if errors.As(err, &recErr) || errors.As(err, &certErr) || errors.As(err, &unkAuth) ||
		errors.As(err, &hostErr) || errors.As(err, &invErr) || errors.As(err, &alert) {
		return KindTLS
	}
	// Anything else is the connection's: net errors, EOF, and the plain
	// errors imapclient's reader reports when the connection drops.
	return KindNetwork
}

// kindOf returns the kind of a poller error ("" for nil).
func kindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return classify(err, KindServer)
}
