package mailparse

import (
	"bytes"
	"encoding/base64"
)

// The patchers below rewrite transfer-encoded text in place so that it
// decodes to new instead of old (same length, differing in a few bytes),
// changing only the encoded characters of the bytes that differ. Each
// walks the encoded text exactly as its decoder (decodeBase64, decodeQP)
// reads it; set(i, c) writes c at index i of the encoded text. They return
// false when they cannot (the caller then re-encodes).

const b64Std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// patchBase64 re-encodes, where they stand, the base64 quanta (RFC 4648
// §4) holding a byte that differs. Like decodeBase64, it counts the
// alphabet letters (URL-safe ones too) before the first '=' and skips
// everything else; a final quantum of 2 or 3 letters holds 1 or 2 bytes.
func patchBase64(enc, old, nd []byte, set func(i int, c byte)) bool {
	var pos [4]int
	n, q := 0, 0
	ok := true
	quantum := func(k int) {
		lo, hi := 3*q, 3*q+k-1
		if hi > len(nd) {
			ok = false
			return
		}
		if bytes.Equal(old[lo:hi], nd[lo:hi]) {
			return
		}
		var b [3]byte
		copy(b[:], nd[lo:hi])
		v := uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
		for j := range k {
			set(pos[j], b64Std[v>>(18-6*j)&63])
		}
	}
	for i, c := range enc {
		if c == '=' {
			break
		}
		if b64val(c) == 0xFF {
			continue
		}
		pos[n] = i
		n++
		if n == 4 {
			quantum(4)
			q, n = q+1, 0
		}
	}
	total := 3 * q // decoded length
	if n == 2 || n == 3 {
		quantum(n)
		total += n - 1
	}
	return ok && total == len(nd)
}

// patchQP rewrites the quoted-printable text (RFC 2045 §6.7) of the bytes
// that differ: a literal character becomes the new character, an "=XX"
// escape the escape of the new byte. It reads lines as decodeQP does
// (trailing white space dropped, '=' at the end a soft line break, an '='
// that starts no escape kept as it is).
func patchQP(raw, old, nd []byte, set func(i int, c byte)) bool {
	if bytes.IndexByte(raw, '=') < 0 && !hasTrailingSpace(raw) {
		// decodeQP returns such text as it is.
		if len(raw) != len(nd) {
			return false
		}
		for i := range nd {
			if old[i] != nd[i] {
				if !qpLiteral(nd[i]) {
					return false
				}
				set(i, nd[i])
			}
		}
		return true
	}
	k := 0 // index of the next decoded byte
	// emit accounts for decoded byte k, written at raw[at] (literal) or
	// raw[at:at+3] (escape).
	emit := func(at int, escape bool) bool {
		if k >= len(nd) {
			return false
		}
		if old[k] != nd[k] {
			switch {
			case escape:
				set(at+1, upperHex[nd[k]>>4])
				set(at+2, upperHex[nd[k]&15])
			case qpLiteral(nd[k]) && qpLiteral(raw[at]):
				set(at, nd[k])
			default:
				return false
			}
		}
		k++
		return true
	}
	for pos := 0; pos < len(raw); {
		end, next := len(raw), len(raw) // end of the line's text, start of the next line
		eol := 0
		if i := bytes.IndexByte(raw[pos:], '\n'); i >= 0 {
			end, next, eol = pos+i, pos+i+1, 1
			if end > pos && raw[end-1] == '\r' {
				end, eol = end-1, 2
			}
		}
		e := end
		for e > pos && (raw[e-1] == ' ' || raw[e-1] == '\t') {
			e--
		}
		soft := e > pos && raw[e-1] == '='
		if soft {
			e--
		}
		for j := pos; j < e; {
			if raw[j] == '=' && j+2 < e {
				if _, ok1 := unhex(raw[j+1]); ok1 {
					if _, ok2 := unhex(raw[j+2]); ok2 {
						if !emit(j, true) {
							return false
						}
						j += 3
						continue
					}
				}
			}
			if !emit(j, false) {
				return false
			}
			j++
		}
		if !soft {
			for j := end; j < end+eol; j++ {
				if !emit(j, false) {
					return false
				}
			}
		}
		pos = next
	}
	return k == len(nd)
}

const upperHex = "0123456789ABCDEF"

// qpLiteral reports a byte that quoted-printable may carry as it is
// anywhere on a line.
func qpLiteral(c byte) bool { return c >= 33 && c <= 126 && c != '=' }

// reencode encodes data whole in cte, following the line length and line
// ends of orig, the body it replaces.
func reencode(cte string, orig, data []byte) []byte {
	eol := []byte("\n")
	if bytes.Contains(orig, []byte("\r\n")) {
		eol = []byte("\r\n")
	}
	final := len(orig) > 0 && orig[len(orig)-1] == '\n'
	if cte == "quoted-printable" {
		return encodeQP(data, eol)
	}
	line := 0 // base64 letters per line; 0: one line
	if i := bytes.IndexByte(orig, '\n'); i >= 0 {
		line = len(bytes.TrimRight(orig[:i], "\r"))
		if line <= 0 || line%4 != 0 {
			line = 76
		}
	}
	enc := base64.StdEncoding.EncodeToString(data)
	var out bytes.Buffer
	out.Grow(len(enc) + (len(enc)/max(line, 1)+1)*len(eol))
	for len(enc) > 0 {
		n := len(enc)
		if line > 0 {
			n = min(n, line)
		}
		out.WriteString(enc[:n])
		enc = enc[n:]
		if len(enc) > 0 || final {
			out.Write(eol)
		}
	}
	return out.Bytes()
}

// encodeQP encodes data as quoted-printable with lines of at most 76
// characters; the line breaks of data (CRLF or LF) stay hard line breaks,
// soft ones use eol.
func encodeQP(data, eol []byte) []byte {
	const maxLine = 76
	var out bytes.Buffer
	out.Grow(len(data) + len(data)/8)
	n := 0 // characters on the current line
	put := func(tok []byte) {
		if n+len(tok) > maxLine-1 { // room for the soft break's '='
			out.WriteByte('=')
			out.Write(eol)
			n = 0
		}
		out.Write(tok)
		n += len(tok)
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\n':
			out.WriteByte('\n')
			n = 0
			continue
		case c == '\r' && i+1 < len(data) && data[i+1] == '\n':
			out.WriteString("\r\n")
			n, i = 0, i+1
			continue
		case qpLiteral(c):
			put([]byte{c})
		case (c == ' ' || c == '\t') && i+1 < len(data) && data[i+1] != '\n' && data[i+1] != '\r':
			put([]byte{c})
		default:
			put([]byte{'=', upperHex[c>>4], upperHex[c&15]})
		}
	}
	return out.Bytes()
}
