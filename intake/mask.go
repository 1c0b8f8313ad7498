package intake

import (
	"bytes"

	"github.com/frontdesk/frontdesk/internal/pci"
)

// maskRaw masks card numbers in a raw message before it is written
// (DESIGN.md invariant 6): in the body and in every header field except
// those that carry identifiers, where a long digit run is an id, not a card,
// and masking it would break threading or signatures (Message-ID,
// In-Reply-To, References, Received, DKIM and ARC signatures, any *-ID).
func maskRaw(raw []byte) ([]byte, int) {
	end := headerEnd(raw)
	hdr, body := raw[:end], raw[end:]
	out := make([]byte, 0, len(raw))
	total := 0
	for len(hdr) > 0 {
		field := nextField(hdr)
		hdr = hdr[len(field):]
		if identifierField(field) {
			out = append(out, field...)
			continue
		}
		m, n := pci.MaskBytes(field)
		out = append(out, m...)
		total += n
	}
	m, n := pci.MaskBytes(body)
	if n == 0 && total == 0 {
		return raw, 0
	}
	return append(out, m...), total + n
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
