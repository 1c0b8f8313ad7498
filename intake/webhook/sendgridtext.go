package webhook

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// Bounds on a rebuilt message's header: a provider's copy of a header
// is the sender's to make as large as the post, and go-message formats a
// field's value in time quadratic in its length.
const (
	maxHeaderFields = 1000
	maxHeaderValue  = 16 << 10 // bytes of one unfolded value
)

// parseHeaderBlock reads a header block as a provider posts it (LF or CRLF
// line ends, folded lines) into name/value pairs, in order, values
// unfolded onto one line. It stops at the first empty line after a field;
// lines that are not fields (no colon, a bad name, an mbox "From " line)
// are skipped with their continuation lines: a provider's copy of a broken
// header is no reason to refuse the mail. Past maxHeaderFields fields the
// rest is dropped, and each value is cut to maxHeaderValue bytes.
func parseHeaderBlock(s string) [][2]string {
	var out [][2]string
	var value strings.Builder // the current field's value, unfolded
	skipping := true
	end := func() {
		if !skipping {
			out[len(out)-1][1] = clip(value.String(), maxHeaderValue)
		}
		value.Reset()
	}
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			if len(out) > 0 {
				break
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if v := headerValue(line); !skipping && v != "" && value.Len() <= maxHeaderValue {
				if value.Len() > 0 {
					value.WriteByte(' ')
				}
				value.WriteString(v)
			}
			continue
		}
		end()
		if len(out) >= maxHeaderFields {
			skipping = true
			break
		}
		name, v, ok := strings.Cut(line, ":")
		name = strings.TrimRight(name, " \t") // obsolete "Subject :" (RFC 5322 §4.5.3)
		if skipping = !ok || !fieldName(name); skipping {
			continue
		}
		out = append(out, [2]string{name, ""})
		value.WriteString(headerValue(v))
	}
	end()
	return out
}

// headerBlock returns the header of a raw message: everything before the
// first empty line (CRLF or LF line ends).
func headerBlock(raw []byte) string {
	end := len(raw)
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		end = i
	}
	if i := bytes.Index(raw, []byte("\n\r\n")); i >= 0 && i < end {
		end = i
	}
	return string(raw[:end])
}

// fieldOf returns the first value of the field named lower (lower case),
// "" when there is none.
func fieldOf(pairs [][2]string, lower string) string {
	for _, p := range pairs {
		if strings.ToLower(p[0]) == lower {
			return p[1]
		}
	}
	return ""
}

// prependField puts "name: value" in front of raw, with raw's own line end.
func prependField(raw []byte, name, value string) []byte {
	eol := "\r\n"
	if i := bytes.IndexByte(raw, '\n'); i == 0 || (i > 0 && raw[i-1] != '\r') {
		eol = "\n"
	}
	out := make([]byte, 0, len(name)+len(value)+4+len(raw))
	out = append(out, name...)
	out = append(out, ": "...)
	out = append(out, value...)
	out = append(out, eol...)
	return append(out, raw...)
}

// headerValue keeps a value on one line, without NUL bytes.
func headerValue(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(flat(s), "\x00", ""))
}

// clip cuts s to at most n bytes, at the last space before the cut when
// there is one, never inside a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if sp := strings.LastIndexByte(s[:cut], ' '); sp > n/2 {
		cut = sp
	}
	return strings.TrimSpace(s[:cut])
}

// lookupCharset finds an encoding by label: WHATWG labels first (so that
// Latin-1 is read as Windows-1252), then the IANA registry (cp850 and
// other mail-only charsets). nil when unknown or unsupported.
func lookupCharset(label string) encoding.Encoding {
	if e, err := htmlindex.Get(label); err == nil && e != nil {
		return e
	}
	for _, idx := range []*ianaindex.Index{ianaindex.MIME, ianaindex.IANA} {
		if e, err := idx.Encoding(label); err == nil && e != nil {
			return e
		}
	}
	return nil
}

func singleByte(e encoding.Encoding) bool {
	_, ok := e.(*charmap.Charmap)
	return ok
}

func validUTF8(s string) bool { return utf8.ValidString(s) }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 2045 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 127 || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// msgIDText reports whether s can stand between the angle brackets of a
// Content-ID or Message-ID: printable ASCII without brackets or spaces.
func msgIDText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 127 || c == '<' || c == '>' {
			return false
		}
	}
	return s != ""
}
