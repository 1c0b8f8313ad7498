package mailer

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Build makes the wire message for o. Every error is permanent (Stage
// "build"): an unusable recipient address or a broken configured sender.
//
// The message carries exactly: Date, Message-ID (o.MessageID, as given),
// MIME-Version, Subject, From, To, optionally Reply-To, In-Reply-To and
// References (one space-separated list), X-Loop, the extra Headers, and for
// automatic mail Auto-Submitted: auto-replied (RFC 3834 §5),
// X-Auto-Response-Suppress: All (Microsoft) and Precedence: auto_reply
// (de-facto), then a text/plain part or a multipart/alternative of text and
// HTML, UTF-8 in quoted-printable.
func Build(o Outgoing) (*mail.Msg, error) {
	b, err := build(o)
	if err != nil {
		return nil, permanent(StageBuild, err)
	}
	return b, nil
}

func build(o Outgoing) (*mail.Msg, error) {
	if !ValidMsgID(o.MessageID) {
		return nil, fmt.Errorf("invalid Message-ID %q", o.MessageID)
	}
	from, err := parseMailbox(o.From)
	if err != nil {
		return nil, fmt.Errorf("sender (From): %w", err)
	}
	to, err := address(o.To.Name, o.To.Addr)
	if err != nil {
		return nil, fmt.Errorf("recipient (To): %w", err)
	}
	if strings.TrimSpace(o.Text) == "" {
		return nil, errors.New("empty text body")
	}

	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	m.SetMessageIDWithValue(o.MessageID)
	date := o.Date
	if date.IsZero() {
		date = time.Now()
	}
	m.SetDateWithValue(date)

	// Display names are written by net/mail: quoted when ASCII, encoded-words
	// otherwise.
	m.FromMailAddress(from)
	m.ToMailAddress(to)
	if o.ReplyTo != "" {
		rt, err := parseMailbox(o.ReplyTo)
		if err != nil {
			return nil, fmt.Errorf("reply address (Reply-To): %w", err)
		}
		m.ReplyToMailAddress(rt)
	}
	if o.EnvelopeFrom != "" {
		ef, err := address("", o.EnvelopeFrom)
		if err != nil {
			return nil, fmt.Errorf("envelope sender: %w", err)
		}
		m.EnvelopeFromMailAddress(ef)
	}

	m.Subject(encodeText(cleanText(o.Subject, maxSubjectRunes)))

	if id := trimBrackets(o.InReplyTo); ValidMsgID(id) {
		m.SetGenHeader(mail.HeaderInReplyTo, "<"+id+">")
	}
	// One value: go-mail joins several values of a header with commas, and
	// References is a space-separated list (RFC 5322 §3.6.4).
	if refs := msgIDList(o.References); refs != "" {
		m.SetGenHeader(mail.HeaderReferences, refs)
	}
	if !o.Human {
		m.SetGenHeader("Auto-Submitted", "auto-replied")
		m.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
		m.SetGenHeader(mail.HeaderPrecedence, "auto_reply")
	}
	if o.LoopID != "" {
		loop := cleanText(o.LoopID, maxHeaderRunes)
		if !isPrintableASCII(loop) || loop == "" {
			return nil, fmt.Errorf("invalid X-Loop value %q", o.LoopID)
		}
		m.SetGenHeader("X-Loop", encodeText(loop))
	}
	names := make([]string, 0, len(o.Headers))
	for k := range o.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !validFieldName(k) || reserved[strings.ToLower(k)] {
			return nil, fmt.Errorf("header name %q is invalid or set by Build", k)
		}
		if v := cleanText(o.Headers[k], maxHeaderRunes); v != "" {
			m.SetGenHeader(mail.Header(k), encodeText(v))
		}
	}

	m.SetBodyString(mail.TypeTextPlain, cleanBody(o.Text))
	if strings.TrimSpace(o.HTML) != "" {
		m.AddAlternativeString(mail.TypeTextHTML, cleanBody(o.HTML))
	}
	return m, nil
}

// cleanBody drops NUL and lone CR from a body and makes its line ends LF;
// the quoted-printable writer turns them into CRLF on the wire.
func cleanBody(s string) string {
	if !strings.ContainsAny(s, "\r\x00") && utf8Valid(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\x00", "")
}
