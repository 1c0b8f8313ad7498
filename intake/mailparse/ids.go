package mailparse

import "strings"

// msgIDs extracts message ids (RFC 5322 §3.6.4) without angle brackets. It
// tolerates junk: text between ids is ignored, and an id written without
// brackets is taken when it holds an '@'. At most maxIDs are kept: the
// first (the thread root) and the last ones (the closest parents).
func msgIDs(v string) []string {
	const maxIDs = 100
	var ids []string
	rest := v
	for {
		l := strings.IndexByte(rest, '<')
		if l < 0 {
			break
		}
		r := strings.IndexByte(rest[l:], '>')
		if r < 0 {
			break
		}
		if id := cleanID(rest[l+1 : l+r]); id != "" {
			ids = append(ids, id)
		}
		rest = rest[l+r+1:]
	}
	if len(ids) == 0 {
		for _, tok := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
			if strings.Contains(tok, "@") {
				if id := cleanID(strings.Trim(tok, "<>()\"'")); id != "" {
					ids = append(ids, id)
				}
			}
		}
	}
	if len(ids) > maxIDs {
		ids = append(ids[:1], ids[len(ids)-(maxIDs-1):]...)
	}
	return ids
}

// cleanID removes white space and control characters from an id.
func cleanID(s string) string {
	s = cleanLine(s)
	if strings.ContainsRune(s, ' ') {
		s = strings.ReplaceAll(s, " ", "")
	}
	return s
}

// firstMsgID returns the message id of a Message-ID field, or "".
func firstMsgID(v string) string {
	if ids := msgIDs(v); len(ids) > 0 {
		return ids[0]
	}
	return cleanID(strings.Trim(strings.TrimSpace(v), "<>"))
}
