package templates

import (
	"strings"
	"unicode/utf8"

	"github.com/frontdesk/frontdesk/internal/oneline"
)

// Length caps for text that came from customers. They keep an
// acknowledgement from becoming a carrier for someone else's text (a spammer
// forging the victim's address as sender would otherwise see their message
// reflected to the victim).
const (
	maxSubjectRunes = 120
	maxNameRunes    = 64
	maxFieldRunes   = 100
)

// cleanLine makes s safe and tidy for one line: control characters (CR, LF,
// NUL, tabs, bidi overrides...) become spaces, runs of space collapse, and the
// result is trimmed and cut to limit runes with an ellipsis.
func cleanLine(s string, limit int) string {
	return oneline.Cut(oneline.Clean(s), limit, true)
}

func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// cleanName is cleanLine for a customer's display name, dropped altogether
// when it looks like an address or a link: we greet people, not URLs.
func cleanName(s string) string {
	s = cleanLine(s, maxNameRunes)
	l := strings.ToLower(s)
	if strings.Contains(l, "://") || strings.Contains(l, "www.") || strings.Contains(l, "@") {
		return ""
	}
	return s
}

// wrapWidth is where tidyText wraps long lines of a plain-text body.
const wrapWidth = 72

// tidyText normalises a rendered plain-text body: LF line ends, no trailing
// space (except in the "-- " signature separator), lines wrapped at spaces to
// 72 characters, at most one blank line in a row, no blank lines at either
// end, and one final newline.
func tidyText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := true // drops leading blank lines
	for _, l := range lines {
		if l != "-- " {
			l = strings.TrimRight(l, " \t")
		}
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, wrap(l, wrapWidth)...)
	}
	s = strings.TrimRight(strings.Join(out, "\n"), "\n")
	if s == "" {
		return ""
	}
	return s + "\n"
}

// wrap breaks l at spaces into lines of at most width runes; a word longer
// than width stays whole on its own line, and a subject tag ("[Case
// C-000123]") is never split.
func wrap(l string, width int) []string {
	if utf8.RuneCountInString(l) <= width {
		return []string{l}
	}
	const glue = "\x01" // cleanLine removed every control character from the data
	l = tagRE.ReplaceAllStringFunc(l, func(t string) string { return strings.ReplaceAll(t, " ", glue) })
	lines := wrapWords(l, width)
	for i := range lines {
		lines[i] = strings.ReplaceAll(lines[i], glue, " ")
	}
	return lines
}

func wrapWords(l string, width int) []string {
	var out []string
	var cur strings.Builder
	n := 0
	for _, w := range strings.Split(l, " ") {
		wn := utf8.RuneCountInString(w)
		if n > 0 && n+1+wn > width {
			out = append(out, cur.String())
			cur.Reset()
			n = 0
		}
		if n > 0 {
			cur.WriteByte(' ')
			n++
		}
		cur.WriteString(w)
		n += wn
	}
	return append(out, cur.String())
}
