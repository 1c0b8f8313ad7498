package mailparse

import (
	"bytes"
	"encoding/base64"
	"unicode"
	"unicode/utf8"

	"github.com/frontdesk/frontdesk/internal/pci"
)

// header masks card numbers in the header fields of p as the parser reads
// them (see MaskRaw): every field but identifier fields, and only those a
// literal pass over the raw bytes could miss.
func (m *masker) header(p *part, w *rewriter) {
	hdr := w.src[p.off-w.base : p.bodyOff-w.base]
	for pos := 0; pos < len(hdr); {
		f := nextField(hdr[pos:])
		m.field(f, p.off+pos, w)
		pos += len(f)
	}
}

// field masks one header field f that starts at at in w's buffer.
func (m *masker) field(f []byte, at int, w *rewriter) {
	colon := bytes.IndexByte(f, ':')
	if colon < 0 || plainValue(f[colon+1:]) || identifierField(f) {
		return
	}
	isCT := bytes.EqualFold(bytes.TrimSpace(f[:colon]), []byte("content-type"))
	v := newFieldView(f[colon+1:], at+colon+1, isCT)
	masked, n := pci.MaskBytes(v.dec)
	if n == 0 {
		return
	}
	m.n += n
	v.apply(masked, w)
}

// plainValue reports a field value that reads as it is written: one line
// of printable ASCII without an encoded word, a tab or a double space.
// MaskLiteral sees its card numbers as the parser does.
func plainValue(v []byte) bool {
	v = bytes.TrimSuffix(v, []byte("\n"))
	v = bytes.TrimSuffix(v, []byte("\r"))
	for i, c := range v {
		switch {
		case c < 0x20 || c >= 0x7F:
			return false
		case c == ' ' && i > 0 && v[i-1] == ' ':
			return false
		case c == '?' && i > 0 && v[i-1] == '=':
			return false
		}
	}
	return true
}

// Where a byte of a field's decoded text came from.
const (
	fromNone = iota // nothing that can hold a digit (space, separator)
	fromRaw         // a byte written as it is (plain text, Q-word letter): at is its index in the unfolded value
	fromHex         // a Q-word "=XX" escape: at is the index of its '='
	fromB64         // a byte of B word number at
)

type origin struct {
	kind uint8
	at   int32
}

type b64Word struct {
	ts, te int // its encoded text in the unfolded value
	ds, de int // its bytes in the decoded text
}

// fieldView is a header field value read as the parser reads it, with the
// origin of every byte so that a masked digit can be written back.
type fieldView struct {
	v    []byte  // the value unfolded as go-message does
	vpos []int32 // buffer position of each byte of v (-1: a space joining folded lines)
	idec []byte  // encoded words decoded (bytes in their own charset)
	from []origin
	b64  []b64Word
	dec  []byte  // idec cleaned as cleanLine does: what is masked
	didx []int32 // index in idec of each byte of dec (-1: a space standing for a run)
}

// newFieldView reads val, the value of a field that starts at at in its
// buffer. For a Content-Type field the boundary parameter is left out: it
// must stay as the body's delimiters have it.
func newFieldView(val []byte, at int, contentType bool) *fieldView {
	fv := &fieldView{
		v:    make([]byte, 0, len(val)),
		vpos: make([]int32, 0, len(val)),
	}
	fv.unfold(val, at)
	if contentType {
		blankBoundary(fv.v)
	}
	fv.decode()
	fv.clean()
	return fv
}

// unfold joins the lines of val as go-message's textproto does: each line
// trimmed of spaces and tabs, empty ones dropped, the rest joined by one
// space.
func (fv *fieldView) unfold(val []byte, at int) {
	for off := 0; off <= len(val); {
		end := len(val)
		if i := bytes.IndexByte(val[off:], '\n'); i >= 0 {
			end = off + i
		}
		s, e := off, end
		if e > s && val[e-1] == '\r' {
			e--
		}
		for s < e && (val[s] == ' ' || val[s] == '\t') {
			s++
		}
		for e > s && (val[e-1] == ' ' || val[e-1] == '\t') {
			e--
		}
		if e > s {
			if len(fv.v) > 0 {
				fv.v = append(fv.v, ' ')
				fv.vpos = append(fv.vpos, -1)
			}
			fv.v = append(fv.v, val[s:e]...)
			for i := s; i < e; i++ {
				fv.vpos = append(fv.vpos, int32(at+i))
			}
		}
		off = end + 1
	}
}

// blankBoundary overwrites the boundary parameter's value in a
// Content-Type value with 0xFF bytes.
func blankBoundary(v []byte) {
	const name = "boundary"
	for i := 0; i+len(name) <= len(v); i++ {
		if !asciiPrefixFold(v[i:], name) || (i > 0 && v[i-1] != ';' && v[i-1] != ' ' && v[i-1] != '\t') {
			continue
		}
		j := i + len(name)
		for j < len(v) && (v[j] == ' ' || v[j] == '\t') {
			j++
		}
		if j >= len(v) || v[j] != '=' {
			continue
		}
		j++
		for j < len(v) && (v[j] == ' ' || v[j] == '\t') {
			j++
		}
		e := j
		if j < len(v) && v[j] == '"' {
			e = j + 1
			for e < len(v) && v[e] != '"' {
				e++
			}
		} else {
			for e < len(v) && v[e] != ';' && v[e] != ' ' && v[e] != '\t' {
				e++
			}
		}
		for k := j; k < e; k++ {
			v[k] = 0xFF
		}
		i = max(e, i)
	}
}

// asciiPrefixFold reports whether b starts with the lower-case ASCII word
// w, in any case.
func asciiPrefixFold(b []byte, w string) bool {
	if len(b) < len(w) {
		return false
	}
	for k := 0; k < len(w); k++ {
		if b[k]|0x20 != w[k] {
			return false
		}
	}
	return true
}

func (fv *fieldView) add(c byte, kind uint8, at int) {
	fv.idec = append(fv.idec, c)
	fv.from = append(fv.from, origin{kind, int32(at)})
}

// plain adds v[i:j], text outside encoded words.
func (fv *fieldView) plain(i, j int) {
	for k := i; k < j; k++ {
		fv.add(fv.v[k], fromRaw, k)
	}
}

// decode reads the encoded words of v as decodeWords does: white space
// between adjacent words is dropped, words stay in their own charset.
// Words in UTF-16 or UTF-32 are left alone (a separator stands for them).
func (fv *fieldView) decode() {
	scanWords(string(fv.v), fv.plain, func(w encodedWord) {
		ts := w.end - 2 - len(w.text)
		switch {
		case wideCharset(w.cs):
			fv.add(0xFF, fromNone, 0)
		case w.enc == 'b':
			raw, _, _ := decodeBase64([]byte(w.text), int64(len(w.text)))
			word := b64Word{ts: ts, te: ts + len(w.text), ds: len(fv.idec)}
			for _, c := range raw {
				fv.add(c, fromB64, len(fv.b64))
			}
			word.de = len(fv.idec)
			fv.b64 = append(fv.b64, word)
		default:
			fv.qWord(w.text, ts)
		}
	})
}

// qWord adds the bytes of a Q-encoded word (RFC 2047 §4.2) read as
// decodeQWord does; its text starts at ts in v.
func (fv *fieldView) qWord(text string, ts int) {
	for k := 0; k < len(text); k++ {
		switch c := text[k]; {
		case c == '_':
			fv.add(' ', fromNone, 0)
		case c == '=' && k+2 < len(text):
			hi, ok1 := unhex(text[k+1])
			lo, ok2 := unhex(text[k+2])
			if ok1 && ok2 {
				fv.add(hi<<4|lo, fromHex, ts+k)
				k += 2
			} else {
				fv.add(c, fromNone, 0)
			}
		default:
			fv.add(c, fromRaw, ts+k)
		}
	}
}

// clean builds dec from idec as cleanLine builds a subject: runs of white
// space become one space (none at the ends), control and invisible
// formatting characters are dropped.
func (fv *fieldView) clean() {
	fv.dec = make([]byte, 0, len(fv.idec))
	fv.didx = make([]int32, 0, len(fv.idec))
	space := false
	b := fv.idec
	for i := 0; i < len(b); {
		c, size, valid := rune(b[i]), 1, b[i] < utf8.RuneSelf
		if !valid {
			if r, n := utf8.DecodeRune(b[i:]); r != utf8.RuneError {
				c, size, valid = r, n, true
			}
		}
		switch {
		case valid && unicode.IsSpace(c), !valid && c == 0xA0:
			// A lone 0xA0 is the no-break space of Latin-1 and
			// Windows-125x text, a space once converted.
			space = len(fv.dec) > 0
			i += size
			continue
		case valid && (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || invisible(c)):
			i += size
			continue
		}
		if space {
			fv.dec = append(fv.dec, ' ')
			fv.didx = append(fv.didx, -1)
			space = false
		}
		for k := i; k < i+size; k++ {
			fv.dec = append(fv.dec, b[k])
			fv.didx = append(fv.didx, int32(k))
		}
		i += size
	}
}

// apply writes the masked text back into w: each changed byte where it
// came from, B words re-encoded quantum by quantum.
func (fv *fieldView) apply(masked []byte, w *rewriter) {
	nd := bytes.Clone(fv.idec)
	for i := range masked {
		if masked[i] != fv.dec[i] && fv.didx[i] >= 0 {
			nd[fv.didx[i]] = masked[i]
		}
	}
	words := make([]bool, len(fv.b64))
	for i, o := range fv.from {
		if nd[i] == fv.idec[i] {
			continue
		}
		switch o.kind {
		case fromRaw:
			if p := fv.vpos[o.at]; p >= 0 {
				w.set(int(p), nd[i])
			}
		case fromHex:
			if p, q := fv.vpos[o.at+1], fv.vpos[o.at+2]; p >= 0 && q >= 0 {
				w.set(int(p), upperHex[nd[i]>>4])
				w.set(int(q), upperHex[nd[i]&15])
			}
		case fromB64:
			words[o.at] = true
		}
	}
	for k, changed := range words {
		if !changed {
			continue
		}
		wd := fv.b64[k]
		ok := patchBase64(fv.v[wd.ts:wd.te], fv.idec[wd.ds:wd.de], nd[wd.ds:wd.de], func(i int, c byte) {
			if p := fv.vpos[wd.ts+i]; p >= 0 {
				w.set(int(p), c)
			}
		})
		if !ok {
			fv.reencodeWord(wd, nd[wd.ds:wd.de], w)
		}
	}
}

// reencodeWord replaces the text of a B word whole by the base64 of b, in
// the word's own charset (the fallback should patchBase64 ever refuse).
func (fv *fieldView) reencodeWord(wd b64Word, b []byte, w *rewriter) {
	start, end := -1, -1
	for i := wd.ts; i < wd.te; i++ {
		if p := int(fv.vpos[i]); p >= 0 {
			if start < 0 {
				start = p
			}
			end = p + 1
		}
	}
	if start >= 0 {
		w.replace(start, end, []byte(base64.StdEncoding.EncodeToString(b)))
	}
}
