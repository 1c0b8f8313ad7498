package mailparse

import (
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
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\f') || c == 0x7F {
			s = strings.Map(func(r rune) rune {
				if (r < 0x20 && r != '\t' && r != '\n' && r != '\f') || r == 0x7F {
					return -1
				}
				return r
			}, s)
			break
		}
	}
	return strings.TrimRight(s, " \t\n\f")
}
