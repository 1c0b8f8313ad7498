package mailparse

import (
	"bytes"
	"slices"

	"github.com/frontdesk/frontdesk/message"
)

// headerResult is a parsed header block and what followed it.
type headerResult struct {
	h    header
	body []byte
	// size is the number of header bytes read (up to and including the
	// blank line).
	size int
	// warnings are problems met (junk lines skipped, no blank line).
	warnings []string
}

// readHeader reads the header block at the start of b (RFC 5322 §2.2),
// reading no more than limit bytes of it: a longer header is refused with
// a LimitError before the rest of b is looked at. It is lenient where mail
// in the wild is broken: an mbox "From " line on top is skipped, a single
// junk line among fields is skipped with a warning, and a header that ends
// without a blank line ends at the first line that is not a field.
func readHeader(b []byte, limit int) (headerResult, error) {
	var (
		res headerResult
		// The fields are gathered on the stack (most part headers hold a
		// few) and copied once, at their number, into the result.
		buf    [16]headerField
		fields = buf[:0]
		cur    = -1 // start of the field being read, or -1
		pos    int
		// lastEnd is the end of the last line of the current field.
		lastEnd int
	)
	flush := func(end int) {
		if cur >= 0 {
			fields = append(fields, newField(b[cur:end]))
			cur = -1
		}
	}
	for {
		if pos > limit {
			return res, &message.LimitError{Limit: "max_part_header_bytes", Max: int64(limit)}
		}
		if pos >= len(b) {
			flush(pos)
			res.body = b[len(b):]
			res.size = pos
			break
		}
		// Look for the end of this line within the limit only, so a huge
		// header line is refused after reading limit bytes.
		window := b[pos:min(len(b), limit+1)]
		nl := bytes.IndexByte(window, '\n')
		var next int
		if nl < 0 {
			if limit+1 < len(b) {
				return res, &message.LimitError{Limit: "max_part_header_bytes", Max: int64(limit)}
			}
			next = len(b)
		} else {
			next = pos + nl + 1
		}
		line := trimEOL(b[pos:next])
		switch {
		case len(line) == 0:
			flush(pos)
			res.body = b[next:]
			res.size = next
			return res.finish(fields), nil
		case line[0] == ' ' || line[0] == '\t':
			if cur < 0 {
				res.warnings = append(res.warnings, "header continuation line without a field skipped")
			}
			lastEnd = next
		case validFieldLine(line):
			flush(pos)
			cur = pos
			lastEnd = next
		case cur >= 0 && endsParam(b[cur:lastEnd]) && bytes.IndexByte(line, '=') > 0:
			// A parameter line that lost its folding white space
			// ("boundary=..." under "Content-Type: multipart/x;").
			res.warnings = append(res.warnings, "unfolded header parameter joined")
			lastEnd = next
		case len(fields) == 0 && cur < 0 && (bytes.HasPrefix(line, []byte("From ")) || bytes.HasPrefix(line, []byte(">From "))):
			// mbox separator line on top of the message
		case next < len(b) && validFieldLine(trimEOL(peekLine(b[next:], limit))):
			flush(pos)
			res.warnings = append(res.warnings, "malformed header line skipped")
		default:
			// The header ends without a blank line: this line is body.
			flush(pos)
			res.warnings = append(res.warnings, "header ends without a blank line")
			res.body = b[pos:]
			res.size = pos
			return res.finish(fields), nil
		}
		pos = next
	}
	return res.finish(fields), nil
}

func (res headerResult) finish(fields []headerField) headerResult {
	res.h = header{fields: slices.Clone(fields)}
	return res
}

// peekLine returns the line at the start of b, bounded by limit.
func peekLine(b []byte, limit int) []byte {
	w := b[:min(len(b), limit)]
	if i := bytes.IndexByte(w, '\n'); i >= 0 {
		return w[:i]
	}
	return w
}

// endsParam reports a field whose text ends with ';': more parameters
// were meant to follow.
func endsParam(field []byte) bool {
	f := bytes.TrimRight(field, " \t\r\n")
	return len(f) > 0 && f[len(f)-1] == ';'
}

func trimEOL(l []byte) []byte {
	if n := len(l); n > 0 && l[n-1] == '\n' {
		l = l[:n-1]
	}
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l
}

// validFieldLine reports whether line starts a header field: a name of
// printable US-ASCII other than ':' (RFC 5322 §3.6.8 ftext), optional
// white space (seen in the wild), then ':'.
func validFieldLine(line []byte) bool {
	i := 0
	for i < len(line) && line[i] >= 33 && line[i] <= 126 && line[i] != ':' {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i < len(line) && line[i] == ':'
}
