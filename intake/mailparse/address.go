package mailparse

import (
	"strings"

	gomail "github.com/emersion/go-message/mail"

	"github.com/frontdesk/frontdesk/message"
)

// addressList parses an address header (RFC 5322 §3.4). When the strict
// parser refuses it, each comma-separated piece is tried alone and then
// read loosely ("Name <addr>", a bare addr), so one broken header never
// fails the message; ok is false when the fallback was needed.
func addressList(h fieldReader, key string) ([]message.Address, bool) {
	v := h.Get(key)
	if strings.TrimSpace(v) == "" {
		return nil, true
	}
	if list, err := gomail.ParseAddressList(v); err == nil {
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
		if d := strings.ToLower(a[i:]); d != a[i:] {
			a = a[:i] + d
		}
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
