package mailparse

import (
	"bytes"
	"cmp"
	"errors"
	"slices"
	"strings"

	"github.com/frontdesk/frontdesk/internal/pci"
	"github.com/frontdesk/frontdesk/message"
)

// MaskRaw returns raw with every card number masked in the decoded content of
// its text parts (text/* leaves and also text-like attachments the parser treats
// as text, re-encoded with their own Content-Transfer-Encoding and line length)
// and in RFC 2047 encoded-words of header fields (re-encoded in their own
// charset and encoding), leaving every other byte (boundaries, other headers,
// binary parts, identifiers) exactly as it was. It returns how many were
// masked. Messages over lim are not rewritten: it returns raw, 0 and the
// *message.LimitError.
//
// It is the second half of masking a raw message before it is stored
// (DESIGN.md invariant 6); MaskLiteral, run first, masks the digits that
// are written as they are. MaskRaw covers what only shows once decoded:
//
//   - base64 and quoted-printable bodies of parts the parser reads as text
//     (the bytes are masked in their own charset: digits are ASCII in every
//     charset but UTF-16 and UTF-32, whose parts are left alone; as they
//     stand and, as the parser reads them, without control characters), and of
//     message/rfc822 parts sent encoded, whose decoded message is masked
//     whole (MaskLiteral, then this pass on its parts);
//   - header fields as the parser reads them: RFC 2047 encoded-words
//     decoded, folded lines joined, runs of white space collapsed and
//     control characters dropped (a number split by a fold or a tab is
//     one number in the subject a CSR sees). Identifier fields are not
//     touched, nor the boundary parameter of Content-Type.
//
// The rewrite is in place: a masked digit replaces a digit, so a base64
// quantum is re-encoded where it stood, a quoted-printable character or
// "=XX" escape keeps its place, soft line breaks, line length and CRLF or
// LF stay as they were, and the result has the length of raw. Every
// rewritten body is decoded again and compared; should that ever differ,
// the body is re-encoded whole in its own encoding, line length and line
// ends (the result is then longer or shorter). When nothing is masked raw
// itself is returned.
//
// The MIME tree is split by the parser's bounded splitter, under the same
// limits as Parse; memory stays within a small multiple of the message
// size.
func MaskRaw(raw []byte, lim message.Limits) ([]byte, int, error) {
	lim = lim.WithDefaults()
	if int64(len(raw)) > lim.MaxBytes {
		return raw, 0, &message.LimitError{Limit: "max_bytes", Max: lim.MaxBytes}
	}
	if len(raw) == 0 {
		return raw, 0, nil
	}
	b := &builder{lim: lim}
	root, err := b.entity(raw, 0, 0, "text/plain", false)
	if err != nil {
		var le *message.LimitError
		if errors.As(err, &le) {
			return raw, 0, err
		}
		return raw, 0, &message.ParseError{Reason: "mime structure", Err: err}
	}
	m := &masker{lim: lim}
	w := &rewriter{src: raw}
	m.entity(root, w)
	if m.n == 0 {
		return raw, 0, nil
	}
	return w.result(), m.n, nil
}

// masker masks the card numbers of a part tree into a rewriter.
type masker struct {
	lim message.Limits
	n   int // card numbers masked
}

// entity masks p, whose offsets count in w's buffer, and its children.
func (m *masker) entity(p *part, w *rewriter) {
	m.header(p, w)
	switch {
	case p.isMultipart():
		for _, k := range p.kids {
			m.entity(k, w)
		}
	case p.inner != nil:
		if p.innerBuf == nil {
			m.entity(p.inner, w) // in this buffer, not encoded
			return
		}
		iw := &rewriter{src: p.innerBuf}
		m.entity(p.inner, iw)
		inner, n := MaskLiteral(iw.result())
		m.n += n
		if iw.changed() || n > 0 {
			m.body(p, w, p.innerBuf, inner)
		}
	case maskable(p):
		d, _, _ := decodeTransfer(p.cte, p.body, m.lim.MaxBytes)
		nd, n := maskText(d)
		if n > 0 {
			m.n += n
			m.body(p, w, d, nd)
		}
	}
}

// maskText masks the card numbers of decoded text both as the parser
// reads it and as its bytes stand. The parser drops control characters
// from text (cleanText, stripControls), so "4111\x021111..." is one number
// there and two runs here. Masking in one reading can make a number of the
// other (X's cut a run too long to be a card), so text with control
// characters is masked in both, in turns, until neither finds more (at
// most maxTextRounds turns; each turn is linear). The result has the
// length of d; it is d itself when nothing was masked.
func maskText(d []byte) ([]byte, int) {
	if !hasControl(d) {
		return pci.MaskBytes(d)
	}
	out, total := d, 0
	for range maxTextRounds {
		var n1, n2 int
		out, n1 = maskWithoutControls(out)
		out, n2 = pci.MaskBytes(out)
		total += n1 + n2
		if n1+n2 == 0 {
			break
		}
	}
	return out, total
}

const maxTextRounds = 8

// maskWithoutControls masks d as read with its control characters left
// out.
func maskWithoutControls(d []byte) ([]byte, int) {
	view := make([]byte, 0, len(d))
	for _, c := range d {
		if !isControl(c) {
			view = append(view, c)
		}
	}
	mv, n := pci.MaskBytes(view)
	if n == 0 {
		return d, 0
	}
	out := bytes.Clone(d)
	i := 0
	for j, c := range d {
		if !isControl(c) {
			out[j] = mv[i]
			i++
		}
	}
	return out, n
}

// maskable reports a leaf whose encoded body MaskRaw decodes and masks:
// content the parser reads as text, sent base64 or quoted-printable, in a
// charset where digits are ASCII bytes.
func maskable(p *part) bool {
	return (p.cte == "base64" || p.cte == "quoted-printable") &&
		textual(p.ctype.value) && !wideCharset(p.ctype.params["charset"])
}

// wideCharset reports UTF-16 and UTF-32 labels (and their UCS names), in
// which a digit is not one ASCII byte.
func wideCharset(label string) bool {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	for _, p := range [...]string{"utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2", "ucs-4", "ucs4", "iso-10646-ucs"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return l == "unicode" || l == "unicodefffe" || l == "csunicode"
}

// body replaces the encoded body of p, whose decoded content was old, by
// the encoding of nd: in place when both have the same length, else (or
// when the rewrite does not decode to nd) re-encoded whole.
func (m *masker) body(p *part, w *rewriter, old, nd []byte) {
	start, end := p.bodyOff, p.bodyOff+len(p.body)
	if len(old) == len(nd) {
		set := func(i int, c byte) { w.set(start+i, c) }
		ok := false
		switch p.cte {
		case "base64":
			ok = patchBase64(p.body, old, nd, set)
		case "quoted-printable":
			ok = patchQP(p.body, old, nd, set)
		}
		if ok {
			if got, _, _ := decodeTransfer(p.cte, w.cur(start, end), m.lim.MaxBytes); bytes.Equal(got, nd) {
				return
			}
		}
	}
	w.replace(start, end, reencode(p.cte, p.body, nd))
}

// rewriter collects changes to one buffer: bytes set in place in a copy
// made at the first change, and (rarely) ranges replaced whole.
type rewriter struct {
	src []byte
	// base is the offset of src[0] in the buffer part offsets count in
	// (non-zero when src is a part body).
	base    int
	out     []byte
	splices []splice
}

type splice struct {
	start, end int // in src
	b          []byte
}

func (w *rewriter) set(pos int, c byte) {
	i := pos - w.base
	if w.out == nil {
		if w.src[i] == c {
			return
		}
		w.out = bytes.Clone(w.src)
	}
	w.out[i] = c
}

// cur returns the bytes of [start, end) as rewritten so far.
func (w *rewriter) cur(start, end int) []byte {
	b := w.src
	if w.out != nil {
		b = w.out
	}
	return b[start-w.base : end-w.base]
}

// replace replaces [start, end) whole, undoing bytes set there.
func (w *rewriter) replace(start, end int, b []byte) {
	if w.out != nil {
		copy(w.out[start-w.base:end-w.base], w.src[start-w.base:end-w.base])
	}
	w.splices = append(w.splices, splice{start - w.base, end - w.base, b})
}

func (w *rewriter) changed() bool {
	return len(w.splices) > 0 || (w.out != nil && !bytes.Equal(w.out, w.src))
}

// result returns the rewritten buffer (src itself when nothing changed).
func (w *rewriter) result() []byte {
	b := w.src
	if w.out != nil {
		b = w.out
	}
	if len(w.splices) == 0 {
		return b
	}
	slices.SortFunc(w.splices, func(x, y splice) int { return cmp.Compare(x.start, y.start) })
	size := len(b)
	for _, s := range w.splices {
		size += len(s.b) - (s.end - s.start)
	}
	out := make([]byte, 0, size)
	pos := 0
	for _, s := range w.splices {
		out = append(out, b[pos:s.start]...)
		out = append(out, s.b...)
		pos = s.end
	}
	return append(out, b[pos:]...)
}

// maskAttachedMessage masks, as MaskRaw does, the message inside the
// message/rfc822 part p, whose decoded body is data.
func maskAttachedMessage(p *part, data []byte, lim message.Limits) ([]byte, int) {
	w := &rewriter{src: data}
	want := len(p.innerBuf)
	if p.innerBuf == nil {
		w.base, want = p.bodyOff, len(p.body)
	}
	if len(data) != want {
		return data, 0
	}
	m := &masker{lim: lim}
	m.entity(p.inner, w)
	return w.result(), m.n
}
