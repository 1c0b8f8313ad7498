package mailparse

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/frontdesk/frontdesk/internal/pci"
	"github.com/frontdesk/frontdesk/message"
)

// walk visits the part tree in order and sorts every leaf into the text
// body, the HTML body, the report or the attachments. Encapsulated
// messages are attachments: their own parts are never walked.
func (c *collector) walk(p *part, inAlt bool) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if p.isMultipart() {
		if p.ctype.value == "multipart/alternative" {
			return c.alternative(p)
		}
		for _, k := range p.kids {
			if err := c.walk(k, false); err != nil {
				return err
			}
		}
		return nil
	}
	mt := p.ctype.value
	if rt := reportType(mt); rt != "" {
		c.reportPart(p, rt)
		return c.attach(p)
	}
	if p.isMessage() || mt == "text/rfc822-headers" || mt == "message/global-headers" {
		if c.returned == "" {
			c.returned = c.returnedID(p)
		}
		if p.inner != nil && p.inner.h.Has("X-Hmxmroriginalrecipient") {
			// Microsoft's Junk Mail Reporting Program returns the
			// reported message with this field added: an abuse report
			// in its own format, not ARF.
			c.addSignal(message.Signal{Rule: RuleFeedbackLoop, Value: "microsoft-jmrp"})
			if c.report == nil {
				c.report = &message.Report{Type: "feedback-report"}
			}
		}
		return c.attach(p)
	}
	if isAttachment(p) {
		if c.fallback == nil && (mt == "text/plain" || mt == "text/html") && p.disp.value != "attachment" {
			c.fallback = p
		}
		return c.attach(p)
	}
	switch mt {
	case "text/plain":
		if s, ok := c.decodeTextPart(p); ok && strings.TrimSpace(s) != "" {
			c.texts = append(c.texts, s)
		}
	case "text/html":
		if c.haveHTML {
			if inAlt {
				return nil
			}
			return c.attach(p) // a second HTML body: kept, not merged
		}
		c.html, c.haveHTML = c.decodeHTMLPart(p), true
	}
	return nil
}

// alternative takes one text and one HTML version from a
// multipart/alternative (RFC 2046 §5.1.4); the other versions of the same
// content are dropped, attachments inside are kept.
func (c *collector) alternative(p *part) error {
	gotText := false
	for _, k := range p.kids {
		if !k.isMultipart() && !isAttachment(k) && reportType(k.ctype.value) == "" {
			switch k.ctype.value {
			case "text/plain":
				if gotText {
					continue
				}
				gotText = true
			case "text/html":
				if c.haveHTML {
					continue
				}
			}
		}
		if err := c.walk(k, true); err != nil {
			return err
		}
	}
	return nil
}

// isAttachment reports a part that is a file rather than a body: one with
// disposition attachment, a name, or a type other than plain text or HTML.
func isAttachment(p *part) bool {
	if p.disp.value == "attachment" || rawFilename(p) != "" {
		return true
	}
	return p.ctype.value != "text/plain" && p.ctype.value != "text/html"
}

// textual reports media types whose content is text, so card numbers in
// them are masked before they are stored (invariant 6). Binary formats are
// stored as sent: masking digits there would corrupt them.
func textual(mt string) bool {
	if strings.HasPrefix(mt, "text/") || strings.HasPrefix(mt, "message/") {
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/csv", "application/x-yaml",
		"application/yaml", "application/rtf", "application/x-www-form-urlencoded":
		return true
	}
	return strings.HasSuffix(mt, "+xml") || strings.HasSuffix(mt, "+json")
}

// decodeTextPart decodes a text body part to UTF-8.
func (c *collector) decodeTextPart(p *part) (string, bool) {
	data, _, warn := decodeTransfer(p.cte, p.body, c.p.lim.MaxBytes)
	if warn != "" {
		c.warn(p.ctype.value + " part: " + warn)
	}
	s, warn := decodeText(p.ctype.params["charset"], data, p.ctype.value == "text/html")
	if warn != "" {
		c.warn(p.ctype.value + " part: " + warn)
	}
	return s, true
}

// decodeHTMLPart is decodeTextPart for the HTML body, which only the
// sanitiser reads: UTF-8 is kept as it is, without a copy and with its
// line ends, since the HTML tokenizer reads CR LF and a lone CR as LF
// (HTML §13.2.3.5, "preprocessing the input stream") as textString would
// have made them.
func (c *collector) decodeHTMLPart(p *part) []byte {
	label := p.ctype.params["charset"]
	data, _, warn := decodeTransfer(p.cte, p.body, c.p.lim.MaxBytes)
	if warn != "" {
		c.warn(p.ctype.value + " part: " + warn)
	}
	if utf8Label(normLabel(label)) && utf8.Valid(data) {
		return data
	}
	s, warn := decodeText(label, data, true)
	if warn != "" {
		c.warn(p.ctype.value + " part: " + warn)
	}
	return []byte(s)
}

// attach stores a part as an attachment. An attachment whose decoded size
// is over MaxAttachmentBytes is skipped with a warning rather than failing
// the message: the customer's text still reaches a person, the raw message
// (kept by the accept step) still holds the file, and the warning says
// what is missing — as help desks do with oversized files.
func (c *collector) attach(p *part) error {
	c.nAttach++
	mt := p.ctype.value
	name := safeFilename(rawFilename(p), mt, c.nAttach)
	limit := c.p.lim.MaxAttachmentBytes
	data, over, warn := decodeTransfer(p.cte, p.body, limit)
	if over {
		c.warn(fmt.Sprintf("attachment %s (%s) skipped: over the limit of %d bytes", quote(name), mt, limit))
		return nil
	}
	if warn != "" {
		c.warn("attachment " + quote(name) + ": " + warn)
	}
	if textual(mt) {
		var n int
		if p.inner != nil {
			// An attached message: its encoded parts and header words
			// too, as MaskRaw does for the raw message.
			data, n = maskAttachedMessage(p, data, c.p.lim)
			c.msg.CardsMasked += n
		}
		data, n = pci.MaskBytes(data)
		c.msg.CardsMasked += n
	}
	hash, size, err := c.p.opts.Blobs.Put(c.ctx, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("mailparse: store attachment: %w", err)
	}
	inline := p.disp.value == "inline" || (p.disp.value == "" && p.h.Get("Content-Id") != "" && !p.isMessage())
	c.msg.Attachments = append(c.msg.Attachments, message.Attachment{
		Filename:    name,
		ContentType: mt,
		Size:        size,
		Blob:        hash,
		Inline:      inline,
	})
	return nil
}

// reportPart reads a DSN, MDN or ARF part into the message's report.
func (c *collector) reportPart(p *part, typ string) {
	c.addSignal(message.Signal{Rule: RuleReportPart, Value: p.ctype.value})
	if c.report == nil {
		c.report = &message.Report{Type: typ}
	}
	if typ == "delivery-status" {
		c.dsn = true
	}
	data, _, _ := decodeTransfer(p.cte, p.body, c.p.lim.MaxBytes)
	fillReport(c.report, data)
}

func (c *collector) addSignal(sig message.Signal) {
	if !slices.Contains(c.msg.Automation, sig) {
		c.msg.Automation = append(c.msg.Automation, sig)
	}
}

// returnedID returns the Message-ID of the message a report returns: the
// header of a message/rfc822 part or a text/rfc822-headers (RFC 6522) or
// message/global-headers (RFC 6533) part.
func (c *collector) returnedID(p *part) string {
	if p.inner != nil {
		return firstMsgID(p.inner.h.Get("Message-Id"))
	}
	data, _, _ := decodeTransfer(p.cte, p.body, c.p.lim.MaxBytes)
	hr, err := readHeader(data, c.p.lim.MaxPartHeaderBytes)
	if err != nil {
		return ""
	}
	return firstMsgID(hr.h.Get("Message-Id"))
}

// toUTF8Lossy returns s as UTF-8, reading raw 8-bit bytes (a header that
// was sent unencoded) as Windows-1252.
func toUTF8Lossy(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	if out, err := charmap.Windows1252.NewDecoder().String(s); err == nil {
		return out
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
