package mailparse

import (
	"bytes"

	"github.com/frontdesk/frontdesk/internal/pci"
)

// MaskLiteral masks card numbers written as plain digits in a raw message
// (DESIGN.md invariant 6): in the body, whatever its structure, and in every
// header field except those that carry identifiers, where a long digit run
// is an id, not a card, and masking it would break threading or signatures
// (Message-ID, In-Reply-To, References, Received, DKIM and ARC signatures,
// any *-ID). It returns how many were masked; the result has the length of
// raw, and is raw itself when nothing was masked. Numbers that only appear
// once the message is decoded are MaskRaw's.
func MaskLiteral(raw []byte) ([]byte, int) {
	end := headerEnd(raw)
	hdr, body := raw[:end], raw[end:]
	var out []byte
	total := 0
	for pos := 0; pos < len(hdr); {
		field := nextField(hdr[pos:])
		if !identifierField(field) {
			if m, n := pci.MaskBytes(field); n > 0 {
				if out == nil {
					out = bytes.Clone(raw)
				}
				copy(out[pos:], m)
				total += n
			}
		}
		pos += len(field)
	}
	if m, n := pci.MaskBytes(body); n > 0 {
		if out == nil {
			out = bytes.Clone(raw)
		}
		copy(out[end:], m)
		total += n
	}
	if out == nil {
		return raw, 0
	}
	return out, total
}

// headerEnd returns the offset just past the blank line ending the header
// (or len(raw) when there is none).
func headerEnd(raw []byte) int {
	if bytes.HasPrefix(raw, []byte("\r\n")) || bytes.HasPrefix(raw, []byte("\n")) {
		return 0
	}
	i := bytes.Index(raw, []byte("\n\r\n"))
	j := bytes.Index(raw, []byte("\n\n"))
	switch {
	case i >= 0 && (j < 0 || i < j):
		return i + 3
	case j >= 0:
		return j + 2
	}
	return len(raw)
}

// nextField returns the first header field of hdr with its continuation
// lines and line ends.
func nextField(hdr []byte) []byte {
	n := 0
	for {
		nl := bytes.IndexByte(hdr[n:], '\n')
		if nl < 0 {
			return hdr
		}
		n += nl + 1
		if n >= len(hdr) || (hdr[n] != ' ' && hdr[n] != '\t') {
			return hdr[:n]
		}
	}
}

// identifierField reports a header field whose digits are identifiers.
func identifierField(field []byte) bool {
	colon := bytes.IndexByte(field, ':')
	if colon < 0 {
		return false
	}
	name := bytes.ToLower(bytes.TrimSpace(field[:colon]))
	switch string(name) {
	case "message-id", "in-reply-to", "references", "received", "dkim-signature",
		"authentication-results", "thread-index", "x-ms-exchange-organization-network-message-id":
		return true
	}
	return bytes.HasPrefix(name, []byte("arc-")) || bytes.HasSuffix(name, []byte("-id"))
}
