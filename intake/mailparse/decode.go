package mailparse

import (
	"bytes"
	"encoding/base64"
	"strings"
	"unicode/utf8"

	htmlcharset "golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/charmap"
)

// decodeTransfer undoes the Content-Transfer-Encoding of raw (RFC 2045 §6),
// producing at most max bytes; over is true when the decoded content is
// longer (the output is then cut at max). Broken input is decoded as far as
// possible: warn says what was wrong. Unknown encodings leave raw as it is.
func decodeTransfer(cte string, raw []byte, max int64) (out []byte, over bool, warn string) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		if int64(len(raw)) > max {
			return raw[:max], true, ""
		}
		return raw, false, ""
	case "base64":
		return decodeBase64(raw, max)
	case "quoted-printable":
		return decodeQP(raw, max)
	default:
		if int64(len(raw)) > max {
			return raw[:max], true, "unknown transfer encoding " + quote(cte) + " kept as is"
		}
		return raw, false, "unknown transfer encoding " + quote(cte) + " kept as is"
	}
}

// b64val returns the value of a base64 letter, or 0xFF. The URL-safe
// letters '-' and '_' are accepted too (seen in the wild).
func b64val(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '+' || c == '-':
		return 62
	case c == '/' || c == '_':
		return 63
	}
	return 0xFF
}

// decodeBase64 decodes standard base64 with line breaks. Well-formed input
// takes the standard library's fast path; anything else (stray characters,
// missing padding, data after the padding) is decoded leniently: unknown
// characters are skipped and decoding stops at the first padding.
func decodeBase64(raw []byte, max int64) ([]byte, bool, string) {
	if n := int64(base64.StdEncoding.DecodedLen(len(raw))); n <= max {
		out := make([]byte, n)
		if m, err := base64.StdEncoding.Decode(out, raw); err == nil {
			return out[:m], false, ""
		}
	}
	out := make([]byte, 0, min(int64(len(raw))/4*3+3, max+1))
	var acc uint32
	n, junk, over := 0, 0, false
	end := len(raw) // where decoding stopped
loop:
	for i, c := range raw {
		v := b64val(c)
		if v == 0xFF {
			switch c {
			case '\r', '\n', ' ', '\t':
			case '=':
				end = i
				break loop
			default:
				junk++
			}
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			if int64(len(out))+3 > max {
				over = true
				break loop
			}
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	if !over {
		switch n {
		case 2:
			out = append(out, byte(acc>>4))
		case 3:
			out = append(out, byte(acc>>10), byte(acc>>2))
		}
		if int64(len(out)) > max {
			out, over = out[:max], true
		}
	}
	warn := ""
	switch {
	case over:
	case junk > 0:
		warn = "invalid characters in base64 skipped"
	case n == 1:
		warn = "truncated base64"
	case len(bytes.Trim(raw[end:], "=\r\n \t")) > 0:
		warn = "data after base64 padding ignored"
	}
	return out, over, warn
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7) leniently: an '='
// that starts no valid escape or soft line break is kept as it is, and
// trailing white space on a line is removed. Line breaks are kept as they
// were written.
func decodeQP(raw []byte, max int64) ([]byte, bool, string) {
	if bytes.IndexByte(raw, '=') < 0 && !hasTrailingSpace(raw) {
		if int64(len(raw)) > max {
			return raw[:max], true, ""
		}
		return raw, false, ""
	}
	out := make([]byte, 0, min(int64(len(raw)), max+1))
	bad := false
	for len(raw) > 0 {
		var line, eol []byte
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i+1], raw[i+1:]
			eol = []byte("\n")
			line = line[:len(line)-1]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
				eol = []byte("\r\n")
			}
		} else {
			line, raw = raw, nil
		}
		line = bytes.TrimRight(line, " \t")
		soft := false
		if len(line) > 0 && line[len(line)-1] == '=' {
			soft = true
			line = line[:len(line)-1]
		}
		for len(line) > 0 {
			i := bytes.IndexByte(line, '=')
			if i < 0 {
				out = append(out, line...)
				break
			}
			out = append(out, line[:i]...)
			if i+2 < len(line) {
				hi, ok1 := unhex(line[i+1])
				lo, ok2 := unhex(line[i+2])
				if ok1 && ok2 {
					out = append(out, hi<<4|lo)
					line = line[i+3:]
					continue
				}
			}
			bad = true
			out = append(out, '=')
			line = line[i+1:]
		}
		if !soft {
			out = append(out, eol...)
		}
		if int64(len(out)) > max {
			return out[:max], true, ""
		}
	}
	if bad {
		return out, false, "invalid quoted-printable escapes kept as is"
	}
	return out, false, ""
}

func hasTrailingSpace(b []byte) bool {
	return bytes.Contains(b, []byte(" \n")) || bytes.Contains(b, []byte(" \r\n")) ||
		bytes.Contains(b, []byte("\t\n")) || bytes.Contains(b, []byte("\t\r\n"))
}

// decodeText converts the body of a text part to UTF-8 from the charset
// label (RFC 2046 §4.1.2). Without a label, or labelled ASCII, text that is
// not valid UTF-8 is read as Windows-1252 (the usual truth of unlabelled
// 8-bit mail). An unknown or broken charset keeps the text as it is, with
// invalid bytes replaced, and says so in warn.
func decodeText(label string, b []byte, isHTML bool) (string, string) {
	label = normLabel(label)
	if utf8Label(label) {
		if utf8.Valid(b) {
			return textString(b), ""
		}
		if label == "" && isHTML {
			if enc, name, _ := htmlcharset.DetermineEncoding(b, "text/html"); enc != nil && name != "utf-8" {
				if s, err := enc.NewDecoder().Bytes(b); err == nil && utf8.Valid(s) {
					return string(s), ""
				}
			}
		}
		if label == "utf-8" || label == "utf8" {
			return strings.ToValidUTF8(string(b), "\uFFFD"), "invalid UTF-8 in text replaced"
		}
		s, _ := charmap.Windows1252.NewDecoder().Bytes(b)
		return string(s), "8-bit text without a charset read as windows-1252"
	}
	out, err := decodeCharset(label, b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD"), err.Error() + ": text kept as is"
	}
	return out, ""
}

// normLabel lower-cases a charset label without quotes and blanks.
func normLabel(label string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
}

// utf8Label reports a charset label (normalised by normLabel) under
// which valid UTF-8 is read as it is: none, UTF-8 or ASCII.
func utf8Label(label string) bool {
	switch label {
	case "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "":
		return true
	}
	return false
}

// quote quotes s for a warning, shortened and made printable.
func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return `"` + cleanLine(s) + `"`
}
