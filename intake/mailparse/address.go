package mailparse

import (
	"net/mail"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/frontdesk/frontdesk/message"
)

// addressList parses an address header (RFC 5322 §3.4). When the strict
// parser refuses it, each comma-separated piece is tried alone and then
// read loosely ("Name <addr>", a bare addr), so one broken header never
// fails the message; ok is false when the fallback was needed.
func addressList(h gomail.Header, key string) ([]message.Address, bool) {
	v := h.Get(key)
	if strings.TrimSpace(v) == "" {
		return nil, true
	}
	if list, err := h.AddressList(key); err == nil {
		out := make([]message.Address, 0, len(list))
		for _, a := range list {
			out = appendAddr(out, a.Name, a.Address)
		}
		return out, true
	}
	var out []message.Address
	for _, piece := range splitAddresses(v) {
		if strings.TrimSpace(piece) == "" {
			continue
		}
		if a, err := gomail.ParseAddress(piece); err == nil {
			out = appendAddr(out, a.Name, a.Address)
			continue
		}
		out = looseAddresses(out, piece)
	}
	return out, false
}

func appendAddr(out []message.Address, name, addr string) []message.Address {
	if strings.Contains(name, "=?") {
		name, _ = decodeWords(name) // words net/mail left undecoded
	}
	addr = normAddr(addr)
	if addr == "" {
		return out
	}
	return append(out, message.Address{Name: cleanLine(name), Addr: addr})
}

// normAddr trims an addr-spec and lower-cases its domain (RFC 5321 §2.4:
// the local part may be case-sensitive, the domain is not).
func normAddr(a string) string {
	a = cleanLine(strings.Trim(strings.TrimSpace(a), "<>"))
	if strings.ContainsAny(a, " ") {
		return ""
	}
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		a = a[:i] + strings.ToLower(a[i:])
	}
	return a
}

// splitAddresses splits an address list at commas outside quotes, angle
// brackets and comments.
func splitAddresses(v string) []string {
	var out []string
	depth, angle, quoted, start := 0, false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case (c == ',' || c == ';') && depth == 0 && !angle:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// looseAddresses reads what a broken address piece holds: every
// "Name <addr>" in it, else every plausible bare token with an '@' (the
// other words naming it when there is one), else a single bare word (a
// local address such as "MAILER-DAEMON").
func looseAddresses(out []message.Address, s string) []message.Address {
	n := len(out)
	if strings.IndexByte(s, '<') >= 0 {
		rest := s
		for {
			l := strings.IndexByte(rest, '<')
			if l < 0 {
				break
			}
			r := strings.IndexByte(rest[l:], '>')
			if r < 0 {
				r = len(rest) - l
			}
			addr := strings.Join(strings.Fields(stripComments(rest[l+1:l+r])), "")
			if plausibleAddr(addr) {
				out = appendAddr(out, looseName(stripComments(rest[:l])), addr)
			}
			if l+r >= len(rest) {
				break
			}
			rest = rest[l+r+1:]
		}
		if len(out) > n {
			return out
		}
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == ';' })
	var addrs, words []string
	for _, f := range fields {
		if a := strings.Trim(f, `"'()[]<>:`); strings.Contains(a, "@") {
			if plausibleAddr(a) {
				addrs = append(addrs, a)
			}
		} else {
			words = append(words, f)
		}
	}
	switch {
	case len(addrs) == 1:
		return appendAddr(out, looseName(strings.Join(words, " ")), addrs[0])
	case len(addrs) > 1:
		for _, a := range addrs {
			out = appendAddr(out, "", a)
		}
		return out
	case len(fields) == 1:
		if a := strings.Trim(fields[0], `"'()[]<>:`); plausibleAddr(a) {
			return appendAddr(out, "", a)
		}
	}
	return out
}

// plausibleAddr reports an addr-spec worth keeping from a broken header:
// one '@' with text on both sides (or a bare local word), and none of the
// characters that delimit addresses.
func plausibleAddr(a string) bool {
	if a == "" || strings.ContainsAny(a, " \t,;<>()[]\"\\") {
		return false
	}
	switch strings.Count(a, "@") {
	case 0:
		return true
	case 1:
		i := strings.IndexByte(a, '@')
		return i > 0 && i < len(a)-1 && !strings.Contains(a[i:], "..")
	}
	return false
}

// stripComments removes RFC 5322 comments, "(...)", nested or not.
func stripComments(s string) string {
	if strings.IndexByte(s, '(') < 0 {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func looseName(s string) string {
	s = strings.Trim(strings.TrimSpace(s), `"' `)
	if d, err := decodeWords(s); err == nil {
		s = d
	}
	return s
}

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

// parseDate reads a Date field (RFC 5322 §3.3) with net/mail and then a
// few layouts seen in the wild; ok is false when nothing fits.
func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, true
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	// Drop comments such as "(PDT)" and collapse white space.
	s := v
	for {
		l := strings.IndexByte(s, '(')
		if l < 0 {
			break
		}
		r := strings.IndexByte(s[l:], ')')
		if r < 0 {
			s = s[:l]
			break
		}
		s = s[:l] + " " + s[l+r+1:]
	}
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, ",", ", ")), " ")
	s = strings.ReplaceAll(s, " ,", ",")
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	// Layouts seen in the wild that net/mail refuses.
	layouts := [...]string{
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 06 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04:05",
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		"Mon Jan 2 15:04:05 -0700 2006",
		"2006-01-02 15:04:05 -0700",
		"2006-01-02T15:04:05Z07:00",
		"Monday, January 2, 2006 15:04:05 -0700",
		"Mon, 2 January 2006 15:04:05 -0700",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
