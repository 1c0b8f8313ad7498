// Package oneline turns untrusted text into one safe, tidy line: what a
// customer's name or subject becomes before it reaches a header or a
// template (RELIABILITY H4).
package oneline

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean replaces invalid UTF-8, turns control and format characters (CR,
// LF, NUL, TAB, bidi overrides, line and paragraph separators) into spaces,
// collapses runs of space and trims the ends.
func Clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// Cut shortens s to at most limit runes; with ellipsis, a cut line ends in
// "…" (counted in the limit).
func Cut(s string, limit int, ellipsis bool) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	if ellipsis {
		return strings.TrimSpace(string(r[:limit-1])) + "…"
	}
	return strings.TrimSpace(string(r[:limit]))
}
