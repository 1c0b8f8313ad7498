package mailparse

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cleanLine makes s a safe single line for a header-derived value (subject,
// display name, file name, warning): control characters, line breaks and
// invisible formatting characters (bidi overrides, zero-width marks) are
// dropped or turned into a space, runs of white space collapse to one
// space, and the result is valid UTF-8 without surrounding space.
func cleanLine(s string) string {
	if isCleanLine(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || invisible(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isCleanLine(s string) bool {
	prevSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c < 0x20 || c == 0x7F {
			return false
		}
		if c == ' ' {
			if prevSpace {
				return false
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
	}
	return !prevSpace || s == ""
}

// invisible reports format characters that can disguise text: bidi
// embeddings, overrides and isolates, zero-width characters, the byte
// order mark (Unicode category Cf, bar the soft hyphen which is harmless).
func invisible(r rune) bool {
	return r != 0xAD && unicode.Is(unicode.Cf, r)
}

// textString converts valid UTF-8 text to a string with CRLF and lone CR
// turned into LF, in one copy.
func textString(b []byte) string {
	if bytes.IndexByte(b, '\r') < 0 {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			sb.Write(b)
			break
		}
		sb.Write(b[:i])
		sb.WriteByte('\n')
		b = b[i+1:]
		if len(b) > 0 && b[0] == '\n' {
			b = b[1:]
		}
	}
	return sb.String()
}

// cleanText normalises a text body: CRLF and lone CR become LF, NUL and
// other control characters except tab, LF and form feed are removed,
// invalid UTF-8 is replaced, and trailing white space at the end is
// trimmed.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return strings.TrimRight(stripControls(s), " \t\n\f")
}

// stripControls removes NUL and the other C0 control characters except
// tab, CR, LF and form feed, and DEL.
func stripControls(s string) string {
	if !hasControl(s) {
		return s
	}
	return strings.Map(dropControl, s)
}

// stripControlBytes is stripControls for bytes; b itself is returned when
// it holds no control character.
func stripControlBytes(b []byte) []byte {
	if !hasControl(b) {
		return b
	}
	return bytes.Map(dropControl, b)
}

func dropControl(r rune) rune {
	if r < 0x80 && isControl(byte(r)) {
		return -1
	}
	return r
}

func isControl(c byte) bool {
	return (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7F
}

// hasControl reports whether s holds a byte isControl refuses. It checks
// eight bytes at a time ("Bit Twiddling Hacks": hasless, haszero) and
// looks closer only at words that hold a byte below 0x20 or DEL.
func hasControl[T ~string | ~[]byte](s T) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		y := x ^ ones*0x7F
		if ((x-ones*0x20)&^x|(y-ones)&^y)&highs == 0 {
			continue
		}
		for j := i; j < i+8; j++ {
			if isControl(s[j]) {
				return true
			}
		}
	}
	for ; i < len(s); i++ {
		if isControl(s[i]) {
			return true
		}
	}
	return false
}
