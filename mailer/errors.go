package mailer

import (
	"errors"
	"fmt"
	"net/textproto"
	"strings"
)

// Stages of sending, as Error.Stage names them.
const (
	StageBuild   = "build"   // the message itself is unusable (permanent)
	StageConnect = "connect" // dial, greeting, EHLO, STARTTLS, AUTH
	StageMail    = "mail"    // MAIL FROM
	StageRcpt    = "rcpt"    // RCPT TO
	StageData    = "data"    // DATA, the content, the final reply
	StageCommit  = "commit"  // Outgoing.BeforeCommit failed: nothing was delivered
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
	// afterCommit: the final dot may have reached the server and no reply
	// to it was read (AfterCommit).
	afterCommit bool
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.temp {
		kind = "temporary"
	}
	if e.afterCommit {
		kind += ", outcome unknown"
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

// AfterCommit reports whether err is a failure whose outcome is unknown: it
// happened after Outgoing.BeforeCommit returned nil (or, without a hook, once
// the whole message had been written), when the final dot of DATA may have
// reached the server, and before a definite reply to it was read: a timeout,
// a reset or closed connection, an unreadable reply, or the context ending
// while waiting for the reply. The server may have the message; sending it
// again may deliver it twice. Such errors are also Temporary.
//
// AfterCommit is false for nil, for errors that are not this package's, and
// for every failure with a definite outcome: a 4xx or 5xx reply to the final
// dot (not delivered; classified as usual), a failure before the dot was
// written (not delivered), and a BeforeCommit error (not delivered).
//
// For the Outbox it is true only when the file was linked into place but the
// directory could not be synced: it is visible but may not survive a crash.
func AfterCommit(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.afterCommit
}

func permanent(stage string, err error) *Error {
	return &Error{Stage: stage, Err: err}
}

func temporary(stage string, err error) *Error {
	return &Error{Stage: stage, Err: err, temp: true}
}

// classifyReply classifies err, met at stage of an SMTP transaction. A reply
// code (textproto.Error) decides: RFC 5321 §4.2.1: 4yz is a transient, 5yz a
// permanent negative completion reply. No reply at all means the connection
// failed (EOF, reset, timeout): transient. A 5yz that says we must log in or
// encrypt first is our relay's configuration, not this message: transient.
// esc says the server sends RFC 2034 enhanced status codes.
func classifyReply(stage string, err error, esc bool) *Error {
	e := &Error{Stage: stage, Err: err, temp: true}
	var tp *textproto.Error
	if !errors.As(err, &tp) {
		return e
	}
	e.Code = tp.Code
	if esc {
		e.Enhanced = enhancedCode(tp.Code, tp.Msg)
	}
	e.temp = e.Code < 500 || e.Code > 599 || relayRefusal(e.Code, e.Enhanced)
	return e
}

// enhancedCode returns the RFC 3463 status code ("5.1.1") that starts the
// text of a reply with code, or "" when there is none or its class is not
// the reply's (RFC 2034 §3).
func enhancedCode(code int, text string) string {
	word, _, _ := strings.Cut(strings.TrimSpace(text), " ")
	parts := strings.Split(word, ".")
	if len(parts) != 3 || parts[0] != fmt.Sprint(code/100) {
		return ""
	}
	for _, p := range parts {
		if len(p) < 1 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return ""
		}
	}
	return word
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
