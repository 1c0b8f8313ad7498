package mailparse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	// Registers every charset go-message can decode; without it non-UTF-8
	// header words stay undecoded.
	_ "github.com/emersion/go-message/charset"
	"github.com/microcosm-cc/bluemonday"

	"github.com/frontdesk/frontdesk/internal/pci"
	"github.com/frontdesk/frontdesk/message"
)

// Blobs stores attachment content durably, keyed by its sha256.
type Blobs interface {
	Put(ctx context.Context, r io.Reader) (hash string, size int64, err error)
}

// Options configure a Parser.
type Options struct {
	// Limits bound the work on one message; zero fields take
	// message.DefaultLimits.
	Limits message.Limits
	// Blobs stores attachments (required).
	Blobs Blobs
	// OwnAddresses are our addresses: mail from them is automated
	// ("own-address").
	OwnAddresses []string
	// LoopID is our X-Loop value: a message carrying it is automated
	// ("own-x-loop").
	LoopID string
	// IsOwnMessageID reports a Message-ID we generated (the caller checks
	// its HMAC); a message whose own Message-ID is ours is automated
	// ("own-message-id"). Nil means none is.
	IsOwnMessageID func(id string) bool
}

// Parser normalises raw e-mail. It is safe for concurrent use.
type Parser struct {
	opts   Options
	lim    message.Limits
	policy *bluemonday.Policy
}

// New returns a Parser. It panics when o.Blobs is nil, a wiring mistake.
func New(o Options) *Parser {
	if o.Blobs == nil {
		panic("mailparse: Options.Blobs is required")
	}
	return &Parser{opts: o, lim: o.Limits.WithDefaults(), policy: newPolicy()}
}

// maxWarnings bounds the warnings kept for one message.
const maxWarnings = 50

// Parse normalises one raw message. It returns a *message.LimitError when
// the message is over a limit and a *message.ParseError when it cannot be
// read at all, both permanent; nothing is stored then. Other errors (the
// blob store failing, ctx ending) are temporary.
func (p *Parser) Parse(ctx context.Context, channel message.Channel, raw []byte) (*message.Message, error) {
	if int64(len(raw)) > p.lim.MaxBytes {
		return nil, &message.LimitError{Limit: "max_bytes", Max: p.lim.MaxBytes}
	}
	if len(raw) == 0 {
		return nil, &message.ParseError{Reason: "empty message"}
	}
	b := &builder{ctx: ctx, lim: p.lim}
	root, err := b.entity(raw, 0, 0, "text/plain", false)
	if err != nil {
		var le *message.LimitError
		if errors.As(err, &le) || ctx.Err() != nil {
			return nil, err
		}
		return nil, &message.ParseError{Reason: "mime structure", Err: err}
	}
	if root.h.Len() == 0 {
		return nil, &message.ParseError{Reason: "no header fields"}
	}
	m := &message.Message{Channel: channel}
	c := &collector{p: p, ctx: ctx, msg: m}
	c.warnings = b.warnings
	c.header(root)
	if err := c.walk(root, false); err != nil {
		return nil, err
	}
	c.finish(root)
	return m, nil
}

// collector turns a part tree into a Message.
type collector struct {
	p        *Parser
	ctx      context.Context
	msg      *message.Message
	warnings []string

	texts    []string // inline text/plain bodies, in order
	html     []byte   // the first inline HTML body (decodeHTMLPart)
	haveHTML bool
	nAttach  int
	fallback *part // a named inline text part, used when there is no body
	report   *message.Report
	dsn      bool   // a standard delivery-status part was read
	returned string // Message-ID of a returned message
}

func (c *collector) warn(s string) { c.warnings = append(c.warnings, s) }

// header fills the fields that come from the top-level header.
func (c *collector) header(root *part) {
	h, m := &root.h, c.msg
	var from []message.Address
	for _, k := range [...]string{"From", "To", "Cc", "Reply-To"} {
		list, ok := addressList(h, k)
		if !ok {
			c.warn("malformed " + k + " header: " + strconv.Itoa(len(list)) + " address(es) recovered")
		}
		switch k {
		case "From":
			from = list
			if len(list) > 0 {
				m.From = list[0]
			} else if v := strings.Trim(strings.TrimSpace(h.Get("From")), "<>\" "); v != "" {
				// Only a name ("Mail Delivery System <>"): keep it to show.
				m.From = message.Address{Name: cleanLine(toUTF8Lossy(looseName(v)))}
			}
		case "To":
			m.To = list
		case "Cc":
			m.Cc = list
		case "Reply-To":
			m.ReplyTo = list
		}
	}
	subj, err := decodeWords(h.Get("Subject"))
	if err != nil {
		c.warn("subject: " + err.Error() + ": kept as is")
	}
	m.Subject = cleanLine(subj)
	if d, ok := parseDate(h.Get("Date")); ok {
		m.Date = d
	} else {
		c.warn("unreadable Date " + quote(h.Get("Date")))
	}
	m.MessageID = firstMsgID(h.Get("Message-Id"))
	m.InReplyTo = msgIDs(h.Get("In-Reply-To"))
	m.References = msgIDs(h.Get("References"))
	if rp, ok := returnPath(h); ok {
		if isNullPath(rp) {
			m.ReturnPath = "<>"
		} else {
			m.ReturnPath = normAddr(rp)
		}
	}
	m.Automation = detect(h, Own{
		Addresses:      c.p.opts.OwnAddresses,
		LoopID:         c.p.opts.LoopID,
		IsOwnMessageID: c.p.opts.IsOwnMessageID,
	}, senderAddrsFrom(h, from), subj)
}

// finish settles the bodies, the report and the masking.
func (c *collector) finish(root *part) {
	m := c.msg
	text := strings.Join(c.texts, "\n\n")
	if text == "" && !c.haveHTML && c.fallback != nil {
		if c.fallback.ctype.value == "text/html" {
			c.html, c.haveHTML = c.decodeHTMLPart(c.fallback), true
		} else if s, ok := c.decodeTextPart(c.fallback); ok {
			text = s
		}
	}
	if c.haveHTML {
		m.HTML = strings.TrimSpace(string(c.p.policy.SanitizeBytes(stripControlBytes(c.html))))
		if text == "" {
			// From the sanitised HTML: what a CSR sees, and cheaper (script,
			// style and title content are gone already).
			text = htmlToText(m.HTML)
		}
	}
	m.Text = cleanText(text)
	if _, automated := m.Automated(); !automated && forwardedBounce(m.Subject, m.Text) {
		m.Automation = append(m.Automation, message.Signal{Rule: RuleForwardedBounce, Value: m.Subject})
	}

	// A bounce that is no standard report: take what the headers and the
	// quoted original say.
	if c.report == nil && isBounce(m.Automation) {
		c.report = &message.Report{Type: "delivery-status"}
	}
	if r := c.report; r != nil {
		for _, a := range splitAddresses(root.h.Get("X-Failed-Recipients")) {
			if a = normAddr(a); a != "" {
				r.FailedRecipients = appendUniqueFold(r.FailedRecipients, a)
				if !c.dsn {
					r.Permanent = true // Exim sends it for permanent failures only
				}
			}
		}
		if r.OriginalMessageID == "" {
			r.OriginalMessageID = c.returned
		}
		if r.OriginalMessageID == "" {
			r.OriginalMessageID = textMessageID(m.Text)
		}
		m.Report = r
	}

	// Strong signals first: Automated reports the first one.
	slices.SortStableFunc(m.Automation, func(a, b message.Signal) int {
		switch {
		case a.Weak == b.Weak:
			return 0
		case b.Weak:
			return -1
		}
		return 1
	})

	var n int
	m.Subject, n = pci.MaskString(m.Subject)
	m.CardsMasked += n
	m.Text, n = pci.MaskString(m.Text)
	m.CardsMasked += n
	m.HTML, n = pci.MaskString(m.HTML)
	m.CardsMasked += n
	for i := range m.Attachments {
		m.Attachments[i].Filename, n = pci.MaskString(m.Attachments[i].Filename)
		m.CardsMasked += n
	}
	// Header values kept elsewhere: display names and signal values.
	names := []*message.Address{&m.From}
	for _, l := range [][]message.Address{m.To, m.Cc, m.ReplyTo} {
		for i := range l {
			names = append(names, &l[i])
		}
	}
	for _, a := range names {
		a.Name, n = pci.MaskString(a.Name)
		m.CardsMasked += n
	}
	for i := range m.Automation {
		m.Automation[i].Value, _ = pci.MaskString(m.Automation[i].Value)
	}
	if len(c.warnings) > maxWarnings {
		more := len(c.warnings) - maxWarnings
		c.warnings = append(c.warnings[:maxWarnings], fmt.Sprintf("%d more warnings", more))
	}
	for _, w := range c.warnings {
		w, _ = pci.MaskString(cleanLine(w))
		m.Warnings = append(m.Warnings, w)
	}
}

// isBounce reports strong signals that only delivery failures carry.
func isBounce(sig []message.Signal) bool {
	for _, s := range sig {
		switch s.Rule {
		case RuleFailedRecipients:
			return true
		case RuleAutomatedSender:
			// "MAILER-DAEMON@host", "postmaster@host", "From: MAILER-DAEMON <>"
			if v := strings.ToLower(s.Value); strings.Contains(v, "mailer-daemon") || strings.Contains(v, "postmaster") {
				return true
			}
		}
	}
	return false
}
