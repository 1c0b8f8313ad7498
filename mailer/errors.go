package mailer

import (
	"errors"
	"fmt"
	"net/textproto"

	mail "github.com/wneessen/go-mail"
)

// Stages of sending, as Error.Stage names them.
const (
	StageBuild   = "build"   // the message itself is unusable (permanent)
	StageConnect = "connect" // dial, greeting, EHLO, STARTTLS, AUTH
	StageMail    = "mail"    // MAIL FROM
	StageRcpt    = "rcpt"    // RCPT TO
	StageData    = "data"    // DATA, the content, the final reply
	StageWrite   = "write"   // writing to the outbox
	StageClosed  = "closed"  // the sender was closed
)

// Error is a failed send, classified. SMTP 4xx replies, network errors,
// timeouts and cancellation are temporary; 5xx replies to MAIL, RCPT and DATA
// and unusable messages are permanent. Failures to set up a connection
// (refused, TLS, a rejected login) and 5xx replies that demand a login or
// encryption first are temporary: they are a problem of our relay or its
// configuration, not of this message, which can go once they are fixed.
type Error struct {
	Stage string
	// Code is the SMTP reply code (0 when there was none) and Enhanced the
	// RFC 3463 enhanced status code ("5.1.1"), when the server gave one.
	Code     int
	Enhanced string
	Err      error
	temp     bool
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.temp {
		kind = "temporary"
	}
	return fmt.Sprintf("mailer: %s (%s): %v", e.Stage, kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether a later attempt may succeed.
func (e *Error) Temporary() bool { return e.temp }

// IsPermanent reports whether err is a failure that no retry can fix. Errors
// that are not classified (nil included) are not permanent.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && !e.temp
}

func permanent(stage string, err error) *Error {
	return &Error{Stage: stage, Err: err}
}

func temporary(stage string, err error) *Error {
	return &Error{Stage: stage, Err: err, temp: true}
}

// classifySend turns what go-mail's Send returned into an *Error.
func classifySend(err error) *Error {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return classifyOther(StageData, err)
	}
	e := &Error{Code: se.ErrorCode(), Enhanced: se.EnhancedStatusCode(), Err: err}
	switch se.Reason {
	case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
		e.Stage = StageBuild
		return e // permanent: the message cannot be sent as built
	case mail.ErrConnCheck:
		e.Stage = StageConnect
	case mail.ErrSMTPMailFrom:
		e.Stage = StageMail
	case mail.ErrSMTPRcptTo:
		e.Stage = StageRcpt
	default:
		e.Stage = StageData
	}
	// RFC 5321 §4.2.1: 4yz is a transient, 5yz a permanent negative
	// completion reply. No reply code at all means the connection failed
	// (EOF, reset, timeout): transient. A 5yz that says we must log in or
	// encrypt first is our relay's configuration, not this message: transient.
	e.temp = e.Code < 500 || e.Code > 599 || relayRefusal(e.Code, e.Enhanced)
	return e
}

// relayRefusal reports a reply that refuses us rather than the message:
// authentication required or failed, encryption required (RFC 4954 §6,
// RFC 3463 X.7.0, X.7.8, X.7.11).
func relayRefusal(code int, enhanced string) bool {
	switch code {
	case 530, 535, 538:
		return true
	}
	switch enhanced {
	case "5.7.0", "5.7.8", "5.7.11":
		return true
	}
	return false
}

// classifyOther classifies an error met outside go-mail's Send: while
// connecting, or from the context. All of them are temporary (see Error).
func classifyOther(stage string, err error) *Error {
	e := &Error{Stage: stage, Err: err, temp: true}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		e.Code = tp.Code
	}
	return e
}
