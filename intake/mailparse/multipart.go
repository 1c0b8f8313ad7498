package mailparse

import "bytes"

// splitMultipart calls fn with the bytes of each body part of a multipart
// body (RFC 2046 §5.1.1) and their offset in body, in order, without copying. A delimiter is
// "--boundary" at the start of a line, followed by optional white space and
// the end of the line; the close delimiter adds "--". The line break before
// a delimiter belongs to it. found is false when no delimiter was seen at
// all; closed is false when the close delimiter is missing (the last part
// then runs to the end of the body).
func splitMultipart(body []byte, boundary string, fn func(part []byte, off int) error) (found, closed bool, err error) {
	delim := []byte("--" + boundary)
	partStart := -1 // start of the current part's bytes, or -1 before the first delimiter
	for pos := 0; pos < len(body); {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		if at > 0 && body[at-1] != '\n' {
			pos = at + 1
			continue
		}
		after := at + len(delim)
		isClose := bytes.HasPrefix(body[after:], []byte("--"))
		if isClose {
			after += 2
		}
		// Only white space may follow on the delimiter line.
		j := after
		for j < len(body) && (body[j] == ' ' || body[j] == '\t' || body[j] == '\r') {
			j++
		}
		if j < len(body) && body[j] != '\n' {
			pos = at + 1
			continue
		}
		lineEnd := j
		if lineEnd < len(body) {
			lineEnd++ // the '\n'
		}
		if partStart >= 0 {
			end := at
			if end > partStart && body[end-1] == '\n' {
				end--
				if end > partStart && body[end-1] == '\r' {
					end--
				}
			}
			if err := fn(body[partStart:end], partStart); err != nil {
				return true, false, err
			}
		}
		found = true
		if isClose {
			return true, true, nil
		}
		partStart = lineEnd
		pos = lineEnd
	}
	if partStart >= 0 {
		if err := fn(body[partStart:], partStart); err != nil {
			return true, false, err
		}
	}
	return found, false, nil
}
