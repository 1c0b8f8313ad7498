package mailparse

import (
	"context"
	"strings"

	"github.com/frontdesk/frontdesk/message"
)

// part is one MIME entity of the tree built before anything is decoded.
type part struct {
	h      header
	ctype  mediaValue // media type, lower case, with parameters
	disp   mediaValue // disposition ("" when absent)
	cte    string     // Content-Transfer-Encoding, lower case
	body   []byte     // still transfer-encoded
	depth  int
	kids   []*part // multipart children
	inner  *part   // the message of a message/rfc822 part
	inside bool    // part of an attached message: never a body of ours

	// off and bodyOff are where the entity and its body start in the
	// buffer it was split from: the raw message, or innerBuf of the
	// message/rfc822 part around it. MaskRaw rewrites bytes there.
	off, bodyOff int
	// innerBuf is the decoded body that inner was split from when the
	// message/rfc822 part was sent base64 or quoted-printable; nil when
	// inner lies in this part's own buffer (at bodyOff).
	innerBuf []byte
}

func (p *part) isMultipart() bool { return strings.HasPrefix(p.ctype.value, "multipart/") }

// isMessage reports an encapsulated message (RFC 2046 §5.2.1, RFC 6532 §3.7).
func (p *part) isMessage() bool {
	return p.ctype.value == "message/rfc822" || p.ctype.value == "message/global"
}

// builder splits a raw message into its part tree, enforcing the limits.
type builder struct {
	ctx   context.Context // checked every 64 parts; nil for MaskRaw, which has none
	lim   message.Limits
	parts int
	// decoded counts bytes decoded to reach encapsulated messages that
	// were sent base64 or quoted-printable, so chains of them cannot
	// multiply memory.
	decoded  int64
	warnings []string
}

func (b *builder) warn(s string) { b.warnings = append(b.warnings, s) }

// warnFor records a warning about p unless p is inside an attached message.
func (b *builder) warnFor(p *part, s string) {
	if !p.inside {
		b.warn(s)
	}
}

// entity parses one entity, data, which starts at off in its buffer: its
// header, and for a multipart or message/* type its children, recursively.
func (b *builder) entity(data []byte, off, depth int, defType string, inside bool) (*part, error) {
	b.parts++
	if b.parts > b.lim.MaxParts {
		return nil, &message.LimitError{Limit: "max_parts", Max: int64(b.lim.MaxParts)}
	}
	if depth > b.lim.MaxDepth {
		return nil, &message.LimitError{Limit: "max_depth", Max: int64(b.lim.MaxDepth)}
	}
	if b.parts%64 == 0 && b.ctx != nil {
		if err := b.ctx.Err(); err != nil {
			return nil, err
		}
	}
	hr, err := readHeader(data, b.lim.MaxPartHeaderBytes)
	if err != nil {
		return nil, err
	}
	if !inside {
		// An attached message is kept whole; its flaws are not ours to
		// report (a bounce often returns a truncated original).
		for _, w := range hr.warnings {
			b.warn(w)
		}
	}
	// The body is always the tail of data.
	p := &part{h: hr.h, body: hr.body, depth: depth, inside: inside, off: off, bodyOff: off + len(data) - len(hr.body)}
	p.cte = strings.ToLower(strings.TrimSpace(hr.h.Get("Content-Transfer-Encoding")))
	if ct := hr.h.Get("Content-Type"); strings.TrimSpace(ct) != "" {
		mv, ok := parseMediaValue(ct)
		if !ok {
			b.warnFor(p, "malformed Content-Type "+quote(ct)+" repaired")
		}
		if !strings.Contains(mv.value, "/") || strings.ContainsAny(mv.value, " \t\"") {
			b.warnFor(p, "invalid media type "+quote(mv.value)+" read as "+defType)
			mv.value = defType
		}
		p.ctype = mv
	} else {
		p.ctype = mediaValue{value: defType, params: map[string]string{}}
	}
	if cd := hr.h.Get("Content-Disposition"); strings.TrimSpace(cd) != "" {
		mv, _ := parseMediaValue(cd)
		p.disp = mv
	}

	switch {
	case p.isMultipart():
		return p, b.multipart(p)
	case p.isMessage():
		return p, b.encapsulated(p)
	}
	return p, nil
}

func (b *builder) multipart(p *part) error {
	boundary := p.ctype.params["boundary"]
	if boundary == "" {
		b.warnFor(p, "multipart without boundary read as text")
		p.ctype = mediaValue{value: "text/plain", params: p.ctype.params}
		return nil
	}
	childType := "text/plain"
	if p.ctype.value == "multipart/digest" {
		childType = "message/rfc822" // RFC 2046 §5.1.5
	}
	found, closed, err := splitMultipart(p.body, boundary, func(data []byte, off int) error {
		kid, err := b.entity(data, p.bodyOff+off, p.depth+1, childType, p.inside)
		if err != nil {
			return err
		}
		p.kids = append(p.kids, kid)
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		b.warnFor(p, "multipart boundary not found: body read as text")
		p.ctype = mediaValue{value: "text/plain", params: p.ctype.params}
		return nil
	}
	if !closed {
		b.warnFor(p, "multipart without closing boundary")
	}
	return nil
}

// encapsulated parses the message inside a message/rfc822 part, so its
// parts count towards the limits and its header can be read (the message
// a bounce returns). It is never a body of ours.
func (b *builder) encapsulated(p *part) error {
	data, off := p.body, p.bodyOff
	switch p.cte {
	case "base64", "quoted-printable":
		d, over, _ := decodeTransfer(p.cte, data, b.lim.MaxBytes-b.decoded)
		if over {
			return &message.LimitError{Limit: "max_bytes", Max: b.lim.MaxBytes}
		}
		b.decoded += int64(len(d))
		data, off = d, 0
		p.innerBuf = d
	}
	inner, err := b.entity(data, off, p.depth+1, "text/plain", true)
	if err != nil {
		return err
	}
	p.inner = inner
	return nil
}
