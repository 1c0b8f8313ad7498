package mailparse

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// decodeCharset converts b from the named charset to UTF-8 with
// go-message/charset's table, plus UTF-7 (RFC 2152), which Outlook still
// sends and golang.org/x/text does not know. The most common single-byte
// charsets take a direct path (no reader and its buffers).
func decodeCharset(label string, b []byte) (string, error) {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	switch l {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968":
		if !utf8.Valid(b) {
			return "", fmt.Errorf("charset %q: invalid UTF-8", l)
		}
		return string(b), nil
	case "utf-7", "utf7", "unicode-1-1-utf-7", "csunicode11utf7", "x-utf-7":
		s, err := decodeUTF7(b)
		if err != nil {
			return "", fmt.Errorf("charset %q: %w", l, err)
		}
		return s, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1", "windows-1252", "cp1252", "x-cp1252":
		// Read as Windows-1252, as mail readers and browsers do
		// (WHATWG Encoding): text labelled Latin-1 often holds its
		// quotes and euro signs in 0x80–0x9F.
		return decodeWith(charmap.Windows1252, b)
	case "iso-8859-15", "latin-9", "latin9":
		return decodeWith(charmap.ISO8859_15, b)
	}
	r, err := charset.Reader(l, bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	buf.Grow(len(b) + len(b)/2 + 16)
	if _, err := buf.ReadFrom(r); err != nil {
		return "", fmt.Errorf("charset %q: %w", l, err)
	}
	if !utf8.Valid(buf.Bytes()) {
		return "", fmt.Errorf("charset %q: invalid output", l)
	}
	return buf.String(), nil
}

func decodeWith(enc encoding.Encoding, b []byte) (string, error) {
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// decodeUTF7 decodes UTF-7 (RFC 2152): ASCII as it is, "+-" for '+', and
// "+" followed by modified base64 of UTF-16 code units up to the first
// character outside that alphabet ('-' is absorbed).
func decodeUTF7(b []byte) (string, error) {
	var out strings.Builder
	out.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 0x80 {
			return "", fmt.Errorf("utf-7: 8-bit byte")
		}
		if c != '+' {
			out.WriteByte(c)
			continue
		}
		j := i + 1
		if j < len(b) && b[j] == '-' {
			out.WriteByte('+')
			i = j
			continue
		}
		var units []uint16
		var acc uint32
		bits := 0
		for ; j < len(b); j++ {
			v := b64val(b[j])
			if v == 0xFF || b[j] == '-' || b[j] == '_' {
				break
			}
			acc = acc<<6 | uint32(v)
			bits += 6
			if bits >= 16 {
				bits -= 16
				units = append(units, uint16(acc>>bits))
				acc &= 1<<bits - 1
			}
		}
		out.WriteString(string(utf16.Decode(units)))
		if j < len(b) && b[j] == '-' {
			i = j
		} else {
			i = j - 1
		}
	}
	return out.String(), nil
}

// decodeWords decodes RFC 2047 encoded words in a header value, more
// leniently than mime.WordDecoder: 8-bit bytes inside a Q word (seen from
// old mailers), a word cut in the middle of a multi-byte character and
// continued in the next word of the same charset, and every charset
// decodeCharset knows. White space between adjacent encoded words is
// dropped (§6.2). Text outside encoded words that is not UTF-8 is read as
// Windows-1252. A word in an unknown charset is kept as written and the
// error says so.
func decodeWords(s string) (string, error) {
	if !strings.Contains(s, "=?") {
		return toUTF8Lossy(s), nil
	}
	var (
		out      strings.Builder
		firstErr error
		pend     []byte // bytes of adjacent words in pendCS not yet converted
		pendCS   string
		pendRaw  strings.Builder // the words as written, kept on failure
	)
	flush := func() {
		if pend == nil {
			return
		}
		if d, err := decodeCharset(pendCS, pend); err == nil {
			out.WriteString(d)
		} else {
			if firstErr == nil {
				firstErr = err
			}
			out.WriteString(pendRaw.String())
		}
		pend, pendCS = nil, ""
		pendRaw.Reset()
	}
	scanWords(s, func(i, j int) {
		flush()
		out.WriteString(toUTF8Lossy(s[i:j]))
	}, func(w encodedWord) {
		var raw []byte
		if w.enc == 'b' {
			raw, _, _ = decodeBase64([]byte(w.text), int64(len(w.text)))
		} else {
			raw = decodeQWord(w.text)
		}
		if pend != nil && !strings.EqualFold(w.cs, pendCS) {
			flush()
		}
		if pend == nil {
			pend, pendCS = []byte{}, w.cs
		}
		pend = append(pend, raw...)
		pendRaw.WriteString(s[w.start:w.end])
	})
	flush()
	return out.String(), firstErr
}

// encodedWord is an RFC 2047 word "=?cs?enc?text?=" at s[start:end].
type encodedWord struct {
	cs, text   string
	enc        byte // 'b' or 'q'
	start, end int
}

// scanWords walks the header value s in order, calling plain for each run
// of text outside encoded words — white space between two adjacent words
// is not text (RFC 2047 §6.2) — and word for each encoded word. plain may
// get empty runs. It is linear in len(s).
func scanWords(s string, plain func(i, j int), word func(w encodedWord)) {
	afterWord := false
	i := 0
	last := strings.LastIndex(s, "?=")
	for i < len(s) {
		j := strings.Index(s[i:], "=?")
		if j < 0 || j+i+2 > last {
			break // no word can end after it: keeps this loop linear
		}
		j += i
		cs, text, enc, end, ok := parseWord(s, j)
		if !ok {
			plain(i, j+2)
			i, afterWord = j+2, false
			continue
		}
		if !(afterWord && strings.TrimSpace(s[i:j]) == "") {
			plain(i, j)
		}
		word(encodedWord{cs: cs, text: text, enc: enc, start: j, end: end})
		i, afterWord = end, true
	}
	plain(i, len(s))
}

// parseWord reads an encoded word "=?charset?E?text?=" at s[j:]. The
// charset loses an RFC 2231 language suffix ("utf-8*en").
func parseWord(s string, j int) (cs, text string, enc byte, end int, ok bool) {
	rest := s[j+2:]
	q := strings.IndexByte(rest, '?')
	if q <= 0 || q > 40 || q+2 >= len(rest) || rest[q+2] != '?' {
		return "", "", 0, 0, false
	}
	cs = rest[:q]
	if strings.ContainsAny(cs, " \t\r\n\"") {
		return "", "", 0, 0, false
	}
	if k := strings.IndexByte(cs, '*'); k >= 0 {
		cs = cs[:k]
	}
	enc = rest[q+1] | 0x20
	if enc != 'q' && enc != 'b' {
		return "", "", 0, 0, false
	}
	body := rest[q+3:]
	e := strings.Index(body, "?=")
	if e < 0 {
		return "", "", 0, 0, false
	}
	text = body[:e]
	end = j + 2 + q + 3 + e + 2
	return cs, text, enc, end, true
}

// decodeQWord decodes the Q encoding (RFC 2047 §4.2) leniently.
func decodeQWord(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s):
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				out = append(out, hi<<4|lo)
				i += 2
			} else {
				out = append(out, c)
			}
		default:
			out = append(out, c)
		}
	}
	return out
}
