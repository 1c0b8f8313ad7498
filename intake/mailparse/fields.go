package mailparse

import (
	"bytes"
	"strings"
)

// header is a parsed header block: its fields as written, topmost first,
// still pointing into the message. A value is unfolded only when it is
// asked for, so a MIME part whose header is read for three fields costs
// three small strings, not a copy and a map entry per field (most part
// headers are never read beyond Content-Type, Content-Transfer-Encoding
// and Content-Disposition).
//
// Lookups match names case-insensitively and values read as go-message's
// textproto.Header reads them (Get is the topmost field, Values in
// order), so *header and *mail.Header serve the same callers (see
// fieldReader).
type header struct {
	fields []headerField
}

// headerField is one field: its name without surrounding white space and
// everything after the colon (folded lines and line ends included).
type headerField struct {
	name, value []byte
}

// fieldReader is what reading a header needs: *header within the parser,
// *mail.Header for Detect's callers.
type fieldReader interface {
	Get(key string) string
	Values(key string) []string
	Has(key string) bool
}

// newField splits a raw field ("Name: value" with continuation lines and
// line ends; it holds a colon).
func newField(f []byte) headerField {
	colon := bytes.IndexByte(f, ':')
	return headerField{name: bytes.Trim(f[:colon], " \t"), value: f[colon+1:]}
}

// Len returns the number of fields.
func (h *header) Len() int { return len(h.fields) }

// Get returns the unfolded value of the topmost field named key, or "".
func (h *header) Get(key string) string {
	if f := h.field(key); f != nil {
		return unfold(f.value)
	}
	return ""
}

// Has reports whether a field named key is present.
func (h *header) Has(key string) bool { return h.field(key) != nil }

// Values returns the unfolded values of every field named key, in order.
func (h *header) Values(key string) []string {
	var out []string
	for i := range h.fields {
		if h.fields[i].is(key) {
			out = append(out, unfold(h.fields[i].value))
		}
	}
	return out
}

func (h *header) field(key string) *headerField {
	for i := range h.fields {
		if h.fields[i].is(key) {
			return &h.fields[i]
		}
	}
	return nil
}

// is reports whether the field is named key, ignoring ASCII case (field
// names are printable ASCII).
func (f *headerField) is(key string) bool {
	if len(f.name) != len(key) {
		return false
	}
	for i := range len(key) {
		if a, b := f.name[i], key[i]; a != b && lowerASCII(a) != lowerASCII(b) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// unfold joins the lines of a field value (RFC 5322 §2.2.3) as
// go-message does: each line loses its line end and surrounding blanks,
// empty lines are dropped and the rest are joined by single spaces.
func unfold(v []byte) string {
	if i := bytes.IndexByte(v, '\n'); i < 0 || i == len(v)-1 {
		// One line, the common case: one exact copy.
		v = bytes.TrimSuffix(bytes.TrimSuffix(v, []byte("\n")), []byte("\r"))
		return string(bytes.Trim(v, " \t"))
	}
	var b strings.Builder
	b.Grow(len(v))
	for len(v) > 0 {
		line := v
		if i := bytes.IndexByte(v, '\n'); i >= 0 {
			line, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		line = bytes.Trim(line, " \t")
		if len(line) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.Write(line)
	}
	return b.String()
}
