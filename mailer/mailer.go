// Package mailer builds and sends Frontdesk's outgoing e-mail: the
// acknowledgements of invariant 3 (DESIGN.md) and, later, CSR replies. It owns
// the wire form of a message (Build: our fixed Message-ID, threading headers,
// the RFC 3834 auto-reply markers, header values that customers cannot use to
// inject headers), delivery over SMTP with reused connections (SMTP), the
// .eml outbox used when no SMTP server is configured (Outbox), and the
// classification of failures into temporary and permanent (Error,
// IsPermanent).
package mailer

import (
	"context"
	"time"

	"github.com/frontdesk/frontdesk/message"
)

// Outgoing is one message to send. Header values that came from customers
// (the recipient's name, the subject, their Message-ID) are cleaned by Build;
// nothing in them can add or split a header.
type Outgoing struct {
	// MessageID is ours (see internal/msgid), without angle brackets, fixed
	// before the first attempt so that every retry sends the same id.
	MessageID string
	// From and ReplyTo are "Name <addr>" or "addr"; ReplyTo is optional.
	From, ReplyTo string
	// EnvelopeFrom is the SMTP MAIL FROM address that bounces return to;
	// empty means the From address.
	EnvelopeFrom string
	// To is the one recipient.
	To      message.Address
	Subject string
	// Text is the plain-text body; HTML, when not empty, makes the message
	// multipart/alternative.
	Text, HTML string
	// InReplyTo is the Message-ID of the customer's message and References
	// the thread, without angle brackets. Ids that are not valid msg-ids
	// are left out rather than sent broken.
	InReplyTo  string
	References []string
	// LoopID is our X-Loop value (msgid.Minter.LoopID); empty leaves the
	// header out.
	LoopID string
	// Date is the Date header; zero means now.
	Date time.Time
	// Human marks a message written by a person (a CSR's reply): it then
	// carries no Auto-Submitted, X-Auto-Response-Suppress or Precedence.
	// The zero value, an automatic message, is the safe default.
	Human bool
	// Headers are extra header fields ("X-Frontdesk-Case"). Names must be
	// RFC 5322 field names and must not be one Build sets itself.
	Headers map[string]string

	// BeforeCommit, when set, is the last step before the point of no
	// return: the caller records "committing" in it (invariant 3, F2).
	// Send calls it at most once, and before any nil return; it receives
	// Send's context.
	//
	// SMTP calls it after the whole message has been written and flushed to
	// the server, before the final dot of DATA (RFC 5321 §4.1.1.4: a
	// server keeps a message only once it has the dot). The Outbox calls it
	// after the file is written and synced, before it is linked into place,
	// and also when the file is there already.
	//
	// If it returns an error the transaction is abandoned without the dot
	// (the connection is closed, never reused), nothing is delivered, and
	// Send returns that error wrapped in a temporary *Error of Stage
	// StageCommit (AfterCommit false). The same holds when Send's context
	// ended by the time it returned nil. After it returned nil, a failure to
	// get the server's reply to the dot is reported with an error for which
	// AfterCommit is true (the server may have the message); a definite
	// 4xx/5xx reply to the dot is classified as usual and AfterCommit is
	// false. Keep it short: the server is waiting for the dot meanwhile, and
	// one that gave up makes the outcome unknown.
	BeforeCommit func(ctx context.Context) error
}

// Sender delivers one message. Send returns nil once the message is handed
// over (accepted by the SMTP server, or written to the outbox); otherwise an
// error that IsPermanent classifies.
type Sender interface {
	Send(ctx context.Context, o Outgoing) error
}

var (
	_ Sender = (*SMTP)(nil)
	_ Sender = (*Outbox)(nil)
)
