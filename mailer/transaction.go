package mailer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"

	mail "github.com/wneessen/go-mail"
)

// transact runs one mail transaction for msg on c: MAIL FROM, RCPT TO, DATA
// and the whole content, flushed to the connection; then commit, when set;
// then the final dot (RFC 5321 §4.1.1.4: the server keeps the message only
// once it has the dot) and its reply. It returns nil once the server accepted
// the message, else an *Error; see AfterCommit for the failures after the dot.
//
// Deadlines: Timeout bounds the transaction up to the flushed content, and
// again the final dot and its reply; commit runs between the two. The
// context aborts the connection at any point (sendOn).
func (s *SMTP) transact(ctx context.Context, c *conn, msg *mail.Msg, commit func(context.Context) error) error {
	sc := c.sc
	esc, _ := sc.Extension("ENHANCEDSTATUSCODES")
	if msg.Encoding() == mail.NoEncoding.String() {
		if ok, _ := sc.Extension("8BITMIME"); !ok {
			return permanent(StageBuild, errors.New("unencoded message and the server offers no 8BITMIME"))
		}
	}
	from, err := msg.GetSender(false) // the envelope sender, else From
	if err != nil {
		return permanent(StageBuild, err)
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return permanent(StageBuild, err)
	}
	if err := sc.UpdateDeadline(s.cfg.Timeout); err != nil {
		return classifyReply(StageConnect, err, esc)
	}
	// Mail adds BODY=8BITMIME when offered, and never SMTPUTF8: the client
	// was told to skip it (WithoutSMTPUTF8; Build writes ASCII addresses).
	if err := sc.Mail(from); err != nil {
		return classifyReply(StageMail, err, esc)
	}
	for _, rcpt := range rcpts {
		if err := sc.Rcpt(rcpt); err != nil {
			return classifyReply(StageRcpt, err, esc)
		}
	}
	w, err := sc.Data()
	if err != nil {
		return classifyReply(StageData, err, esc)
	}
	// The data writer (textproto's DotWriter) stuffs dots and writes into
	// the connection's bufio.Writer; only its Close adds the final dot.
	// Ending the content with a line break here and flushing that buffer
	// puts everything but ".\r\n" on the wire before commit runs.
	lw := &lastByteWriter{w: w}
	if _, err := msg.WriteTo(lw); err != nil {
		return classifyReply(StageData, err, esc)
	}
	if lw.last != '\n' {
		if _, err := io.WriteString(w, "\r\n"); err != nil {
			return classifyReply(StageData, err, esc)
		}
	}
	if err := sc.Text.W.Flush(); err != nil {
		return classifyReply(StageData, err, esc)
	}
	if commit != nil {
		// On any failure here the transaction stays open without its dot;
		// Send closes the connection, and the server discards it.
		if err := commit(ctx); err != nil {
			return temporary(StageCommit, fmt.Errorf("before commit: %w", err))
		}
		if err := context.Cause(ctx); err != nil {
			return temporary(StageCommit, fmt.Errorf("before commit: %w", err))
		}
	}
	if err := sc.UpdateDeadline(s.cfg.Timeout); err != nil {
		return classifyReply(StageData, err, esc) // the dot was not written
	}
	err = w.Close() // writes ".\r\n", reads the reply
	if err == nil {
		return nil
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		if tp.Code >= 200 && tp.Code <= 299 {
			return nil // a positive completion reply, if not the usual 250
		}
		return classifyReply(StageData, err, esc) // definite: not delivered
	}
	e := classifyReply(StageData, err, esc)
	e.afterCommit = true
	return e
}

// lastByteWriter remembers the last byte written through it.
type lastByteWriter struct {
	w    io.Writer
	last byte
}

func (l *lastByteWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if n > 0 {
		l.last = p[n-1]
	}
	return n, err
}
